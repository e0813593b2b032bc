/** A small JSON Schema (draft-07 subset) validator, independent of lib/config, to cross-check the published schema. */

type Schema = Record<string, unknown>;
export type Path = (string | number)[];

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
    case "array":
      return Array.isArray(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    default:
      return false;
  }
}

/** Returns the instance paths at which `value` violates `schema` (empty when valid). */
export function validateJsonSchema(schema: Schema, value: unknown, path: Path = []): Path[] {
  const errors: Path[] = [];
  if (schema.anyOf) {
    const ok = (schema.anyOf as Schema[]).some((s) => validateJsonSchema(s, value, path).length === 0);
    if (!ok) errors.push(path);
    return errors;
  }
  if (schema.type && !typeOk(schema.type as string, value)) return [path];
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(path);
  if (schema.pattern && typeof value === "string" && !new RegExp(schema.pattern as string, "u").test(value)) {
    errors.push(path);
  }
  if (schema.minimum !== undefined && typeof value === "number" && value < (schema.minimum as number)) {
    errors.push(path);
  }
  if (schema.items && Array.isArray(value)) {
    value.forEach((v, i) => errors.push(...validateJsonSchema(schema.items as Schema, v, [...path, i])));
  }
  if (typeOk("object", value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(path);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.propertyNames && !new RegExp((schema.propertyNames as Schema).pattern as string).test(k)) {
        errors.push([...path, k]);
        continue;
      }
      if (k in props) errors.push(...validateJsonSchema(props[k], v, [...path, k]));
      else if (schema.additionalProperties === false) errors.push([...path, k]);
      else if (typeof schema.additionalProperties === "object") {
        errors.push(...validateJsonSchema(schema.additionalProperties as Schema, v, [...path, k]));
      }
    }
  }
  return errors;
}
