/**
 * A small JSON-schema check for tests: the subset z.toJSONSchema writes for qemu-fleet's
 * schemas (type, enum, const, pattern, minimum/maximum, minItems, properties, required,
 * additionalProperties, items, anyOf/oneOf, $ref to #/definitions or #/$defs). Returns the
 * problems as "path: message" lines, none when the value is valid.
 */
type Schema = Record<string, any>;

export function checkJsonSchema(value: unknown, schema: Schema, root: Schema = schema, path = "$"): string[] {
  if (schema.$ref) {
    const ref = String(schema.$ref).replace(/^#\//, "").split("/");
    return checkJsonSchema(
      value,
      ref.reduce<Schema>((s, k) => s[k], root),
      root,
      path,
    );
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const fits = (alternatives as Schema[]).some((s) => checkJsonSchema(value, s, root, path).length === 0);
    return fits ? [] : [`${path}: matches none of ${alternatives.length} alternatives`];
  }
  const out: string[] = [];
  const type = typeOf(value);
  const types = schema.type === undefined ? undefined : [schema.type].flat();
  if (types && !types.some((t) => t === type || (t === "number" && type === "integer"))) return [`${path}: expected ${types.join("|")}, got ${type}`];
  if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if ("const" in schema && schema.const !== value) out.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (typeof value === "string" && schema.pattern && !new RegExp(schema.pattern, "u").test(value))
    out.push(`${path}: does not match ${schema.pattern}`);
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) out.push(`${path}: below ${schema.minimum}`);
  if (typeof value === "number" && schema.maximum !== undefined && value > schema.maximum) out.push(`${path}: above ${schema.maximum}`);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) out.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => out.push(...checkJsonSchema(v, schema.items, root, `${path}[${i}]`)));
  }
  if (type === "object") {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) out.push(`${path}: ${k} is required`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
      if (sub) out.push(...checkJsonSchema(v, sub, root, `${path}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${path}: unknown key ${k}`);
    }
  }
  return out;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}
