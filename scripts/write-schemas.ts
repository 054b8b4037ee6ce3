/**
 * `npm run schema`: writes schemas/vm.schema.json, hosts.schema.json and profile.schema.json
 * from the zod schemas in src/spec (generateSchemas). The JSON files are generated: never edit
 * them by hand. test/unit/schemas-fresh.test.ts fails when the committed files differ.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generateSchemas } from "../src/spec/json-schemas.js";

export { generateSchemas };
export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "schemas");

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [file, text] of Object.entries(generateSchemas())) {
    writeFileSync(join(SCHEMA_DIR, file), text);
    process.stdout.write(`wrote schemas/${file}\n`);
  }
}
