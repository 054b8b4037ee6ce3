import { posix } from "node:path";
import * as z from "zod";
import type { Host } from "../hosts/host.js";
import { ProfileSchema } from "./profile-schema.js";
import { HostsFileSchema, VmSpecSchema } from "./schema.js";

/** Where a fleet repository keeps the JSON schemas its files' modelines name (SCHEMA_COMMENT: ../schemas/vm.schema.json). */
export const SCHEMAS_DIR = "schemas";

/**
 * The JSON schemas for editors, from the zod schemas: file name -> text (pretty-printed, ends
 * with a newline, stable across runs). The input side of each schema is used (io: "input"), so
 * defaulted fields stay optional. The package's schemas/*.json are these texts (`npm run
 * schema` writes them, a test checks they are fresh), and `qfleet init` / `qfleet schema`
 * write the same into a fleet repository: an installed qfleet needs no file of its own.
 */
export function generateSchemas(): Record<string, string> {
  const render = (schema: z.ZodType) => JSON.stringify(z.toJSONSchema(schema, { io: "input" }), null, 2) + "\n";
  return {
    "vm.schema.json": render(VmSpecSchema),
    "hosts.schema.json": render(HostsFileSchema),
    "profile.schema.json": render(ProfileSchema),
  };
}

export interface SchemaFileChange {
  /** "schemas/vm.schema.json" */
  file: string;
  change: "created" | "updated" | "unchanged" | "kept";
}

/**
 * Writes the schemas into `root`/schemas/. With `replace` an older file is updated (`qfleet
 * schema` after an upgrade); without it an existing file is kept as it is (a fleet's own copy).
 */
export async function writeSchemaFiles(host: Host, root: string, opts: { replace: boolean }): Promise<SchemaFileChange[]> {
  const dir = posix.join(posix.resolve(root), SCHEMAS_DIR);
  await host.mkdir(dir);
  const out: SchemaFileChange[] = [];
  for (const [name, text] of Object.entries(generateSchemas())) {
    const file = posix.join(dir, name);
    const before = (await host.stat(file)) ? await host.readFile(file) : undefined;
    const change = before === undefined ? "created" : before === text ? "unchanged" : opts.replace ? "updated" : "kept";
    if (change === "created" || change === "updated") await host.writeFile(file, text);
    out.push({ file: `${SCHEMAS_DIR}/${name}`, change });
  }
  return out;
}
