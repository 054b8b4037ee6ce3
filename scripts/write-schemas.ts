/**
 * `npm run schema`: writes schemas/vm.schema.json and schemas/hosts.schema.json from the zod
 * schemas in src/spec. The JSON files are generated: never edit them by hand. The input side
 * of each schema is used (io: "input"), so defaulted fields stay optional for editors.
 * test/unit/schemas-fresh.test.ts fails when the committed files differ from generateSchemas().
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { HostsFileSchema, VmSpecSchema } from "../src/spec/schema.js";

export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "schemas");

/** File name -> file text (pretty-printed, ends with a newline, stable across runs). */
export function generateSchemas(): Record<string, string> {
  const render = (schema: z.ZodType) => JSON.stringify(z.toJSONSchema(schema, { io: "input" }), null, 2) + "\n";
  return { "vm.schema.json": render(VmSpecSchema), "hosts.schema.json": render(HostsFileSchema) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [file, text] of Object.entries(generateSchemas())) {
    writeFileSync(join(SCHEMA_DIR, file), text);
    process.stdout.write(`wrote schemas/${file}\n`);
  }
}
