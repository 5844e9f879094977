/**
 * Account options against a connector's JSON Schema (the manifest's `options_schema`, or an
 * Airbyte source's `spec`), with ajv: every draft Airbyte and hand-written schemas use, `$ref`s to
 * `definitions`, `oneOf`. Unknown keywords (`airbyte_secret`, `order`, ...) and formats are ignored,
 * as Airbyte does. The errors name the field and say what it must be, one sentence for the CLI and
 * the dashboard alike.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InvalidArgumentError } from '../core/errors.js';

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: true });

/** Compiled validators by schema text (connectors are few; bounded anyway). */
const compiled = new Map<string, ValidateFunction>();

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(schema);
    if (compiled.size > 200) compiled.clear();
    compiled.set(key, v);
  }
  return v;
}

/** Why `schema` is not a usable JSON Schema, or undefined. */
export function checkSchema(schema: Record<string, unknown>): string | undefined {
  try {
    compile(schema);
    return undefined;
  } catch (err) {
    return `is not a valid JSON Schema: ${(err as Error).message.slice(0, 300)}`;
  }
}

function describe(e: ErrorObject): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return `field "${path ? `${path}.` : ''}${missing}" is required`;
  }
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return `field "${path ? `${path}.` : ''}${extra}" is not allowed`;
  }
  if (e.keyword === 'enum')
    return `field "${path}" must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${path ? `field "${path}"` : 'the options'} ${e.message ?? 'is not valid'}`;
}

/**
 * Checks options (JSON text) against `schema`; throws INVALID_ARGUMENT listing every problem:
 * `options do not match connector "x"'s options schema: field "token" is required; ...`.
 */
export function validateOptions(connector: string, schema: Record<string, unknown> | null, optionsText: string): void {
  if (!schema) return;
  const validate = compile(schema);
  const value = JSON.parse(optionsText) as unknown;
  if (validate(value)) return;
  // oneOf/anyOf produce one error per branch; the first few say enough.
  const problems = [...new Set((validate.errors ?? []).map(describe))].slice(0, 8);
  throw new InvalidArgumentError(
    `options do not match connector "${connector}"'s options schema: ${problems.join('; ')}`,
    { data: { field: 'options', problems } },
  );
}
