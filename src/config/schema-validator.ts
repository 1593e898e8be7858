/**
 * The validators of our input schemas (input-schemas.ts): the code write-validators.ts generated
 * at build time when it is there and was built from the same schemas, else compiled here with Ajv.
 *
 * Compiling was most of the CLI's start-up: loading Ajv (about 35 ms) and compiling the three
 * schemas (250 ms with two instances that each first compiled the draft-07 meta-schema and
 * optimized every validator; 65 ms with the one instance below), before any command, even
 * `--help`, did anything. Ajv documents generating the code at build time for this ("Standalone
 * validation code", ajv.js.org/standalone.html); loading the generated module takes a few ms.
 * The run-time compile stays for the sources run directly (ts-jest) and for a build whose generated
 * code is older than the schemas (a bare `tsc`): the two give the same results
 * (test/input-schemas.test.ts).
 */
import { createHash } from 'crypto';
import type { default as AjvClass, ValidateFunction } from 'ajv';
import { INPUT_SCHEMAS, type InputSchemaName } from './input-schemas';

/** The module write-validators.ts writes: one validator per schema name, and the validatorDigest of each. */
export interface GeneratedValidators {
  readonly digests: Readonly<Record<string, string>>;
  readonly [name: string]: unknown;
}

/**
 * The options of every compile, here and at build time. `verbose` gives each error its schema
 * (formatSchemaError reads `parentSchema.description` for "what is allowed"); `allErrors: false`
 * stops at the first error, which is all we report; strict mode makes an unknown keyword or an
 * ambiguous type in a schema fail its compile.
 */
export const AJV_OPTIONS = { allErrors: false, verbose: true, strict: true } as const;

let runtimeAjv: AjvClass | undefined;

/**
 * What a generated validator was built from: the schema, the compile options and Ajv's version.
 * A validator whose digest differs (a bare `tsc` after a schema changed, another Ajv) is not used.
 */
export function validatorDigest(schema: object): string {
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  return createHash('sha256').update(JSON.stringify([schema, AJV_OPTIONS, ajvVersion])).digest('hex');
}

/**
 * `schema` compiled now, by one shared instance that skips the meta-schema check (our schemas are
 * constants of this repository; test/input-schemas.test.ts checks them against draft-07) and Ajv's
 * code optimizer (it only folds the generated source: the 5,000-node inventory validated in
 * 13-16 ms with it and without it).
 */
export function compileSchema(schema: object): ValidateFunction {
  if (!runtimeAjv) {
    // Loaded only when a validator is compiled here: the generated code does not need Ajv's compiler.
    const Ajv = (require('ajv') as typeof import('ajv')).default;
    runtimeAjv = new Ajv({ ...AJV_OPTIONS, validateSchema: false, code: { optimize: false } });
  }
  return runtimeAjv.compile(schema);
}

/** The generated validator of `name` when `generated` holds one built from the current schema, else undefined. */
export function generatedValidator(name: InputSchemaName, generated: GeneratedValidators | undefined): ValidateFunction | undefined {
  const fn = generated?.[name];
  if (typeof fn !== 'function' || generated!.digests?.[name] !== validatorDigest(INPUT_SCHEMAS[name])) return undefined;
  return fn as ValidateFunction;
}

/** build/src/config/validators.generated.js, or undefined when this build has none (or when run from src/). */
function loadGenerated(): GeneratedValidators | undefined {
  try {
    return require('./validators.generated') as GeneratedValidators;
  } catch (e) {
    // Only the module itself missing; a module it needs that is missing is an error of the install.
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((e as Error).message).startsWith("Cannot find module './validators.generated'")) return undefined;
    throw e;
  }
}

/** The validator of the input schema `name`. */
export function inputValidator(name: InputSchemaName): ValidateFunction {
  return generatedValidator(name, loadGenerated()) ?? compileSchema(INPUT_SCHEMAS[name]);
}
