/**
 * JSON Schema validation of our inputs (migration.yaml, nodes.yaml, NetworkPolicies) with one Ajv
 * instance.
 *
 * Compiling was most of the CLI's start-up: each of the two Ajv instances the loaders made first
 * compiled the draft-07 meta-schema to check our schemas against it, and Ajv's code optimizer ran
 * over every generated validator, about 250 ms before any command (even `--help`) did anything;
 * this instance takes about 65 ms for the three schemas. Our schemas are constants of this
 * repository: test/input-schemas.test.ts checks them against the meta-schema, so the instance
 * skips that check (`validateSchema: false`). The optimizer (`code.optimize`) only folds the
 * generated source: the 5,000-node inventory validated in 13-16 ms with it and without it.
 * Strict mode stays on: an unknown keyword or an ambiguous type in a schema fails its compile.
 */
import Ajv, { type ValidateFunction } from 'ajv';

/**
 * `verbose` gives each error its schema (formatSchemaError reads `parentSchema.description` for
 * "what is allowed"); `allErrors: false` stops at the first error, which is all we report.
 */
const ajv = new Ajv({ allErrors: false, verbose: true, strict: true, validateSchema: false, code: { optimize: false } });

/** The validator of `schema`, a JSON Schema (draft-07) of this repository. */
export function compileSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}
