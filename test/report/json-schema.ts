/**
 * A validator for the small JSON-schema subset that GitHub's `repos/create-commit-status` request
 * body uses (and that the other hosts' documented fields are written in here): `type` (with
 * OpenAPI 3.0's `nullable`), `enum`, `required`, `properties`, `additionalProperties`, `maxLength`.
 * A schema using any other validation keyword throws: a keyword this validator ignored would let a
 * wrong request pass.
 */

export type Schema = Readonly<Record<string, unknown>>;

/** Keywords that only annotate (they never make a value invalid). */
const ANNOTATIONS = new Set(['description', 'default', 'example', 'examples', 'title', 'format', 'deprecated', 'readOnly', 'writeOnly']);
const VALIDATIONS = new Set(['type', 'nullable', 'enum', 'required', 'properties', 'additionalProperties', 'maxLength']);

/** Every way `value` fails `schema`, as `$.path: problem`; empty when it satisfies it. */
export function validate(value: unknown, schema: Schema, path = '$'): string[] {
  const unsupported = Object.keys(schema).filter((key) => !VALIDATIONS.has(key) && !ANNOTATIONS.has(key) && !key.startsWith('x-'));
  if (unsupported.length > 0) throw new Error(`${path}: the schema uses ${unsupported.join(', ')}, which this validator does not check`);

  if (value === null) return schema['nullable'] === true || schema['type'] === 'null' ? [] : [`${path}: is null`];
  const problems: string[] = [];
  const type = schema['type'];
  if (typeof type === 'string' && !hasType(value, type)) return [`${path}: is not ${type}`];
  const allowed = schema['enum'];
  if (Array.isArray(allowed) && !allowed.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  const maxLength = schema['maxLength'];
  // JSON Schema counts characters (code points), not UTF-16 code units.
  if (typeof maxLength === 'number' && typeof value === 'string' && [...value].length > maxLength) {
    problems.push(`${path}: is longer than ${maxLength} characters`);
  }
  if (isObject(value)) problems.push(...validateObject(value, schema, path));
  return problems;
}

function validateObject(value: Readonly<Record<string, unknown>>, schema: Schema, path: string): string[] {
  const problems: string[] = [];
  const required = schema['required'];
  for (const name of Array.isArray(required) ? required : []) {
    if (typeof name === 'string' && !(name in value)) problems.push(`${path}.${name}: is required`);
  }
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const additional = schema['additionalProperties'];
  for (const [name, field] of Object.entries(value)) {
    const fieldSchema = properties[name];
    if (isObject(fieldSchema)) problems.push(...validate(field, fieldSchema, `${path}.${name}`));
    else if (additional === false) problems.push(`${path}.${name}: is not a documented field`);
    else if (isObject(additional)) problems.push(...validate(field, additional, `${path}.${name}`));
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'null':
      return value === null;
    case 'string':
    case 'number':
    case 'boolean':
      return typeof value === type;
    default:
      throw new Error(`unknown JSON-schema type ${type}`);
  }
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
