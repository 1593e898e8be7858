/**
 * The JSON Schemas of our inputs are compiled without Ajv's meta-schema check, at build time into
 * code or else at run time (src/config/schema-validator.ts): this is that check, run once here
 * instead of at every start, and the proof that the generated code answers as Ajv does.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import * as jsYaml from 'js-yaml';
import { NODE_INVENTORY_SCHEMA } from '../src/cluster/inventory-schema';
import { INPUT_SCHEMAS, type InputSchemaName } from '../src/config/input-schemas';
import { MIGRATION_SCHEMA } from '../src/config/schema';
import { compileSchema, generatedValidator, type GeneratedValidators } from '../src/config/schema-validator';
import { writeValidators } from '../src/config/write-validators';
import { NETWORK_POLICY_SCHEMA } from '../src/kube/network-policy-schema';
import { POLICY_CORPUS } from './fixtures/policy-corpus';

/** A fresh instance with Ajv's defaults: the schema is checked against draft-07 before it is compiled. */
const metaChecked = () => new Ajv({ strict: true });

describe('input schemas', () => {
  it.each([
    ['migration.yaml', MIGRATION_SCHEMA],
    ['nodes.yaml', NODE_INVENTORY_SCHEMA],
    ['NetworkPolicy', NETWORK_POLICY_SCHEMA],
  ])('the %s schema is a valid draft-07 schema in strict mode', (_name, schema) => {
    const ajv = metaChecked();
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(ajv.errors ?? []).toEqual([]);
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('the meta-schema check catches a value no schema may hold, which the fast compile lets through', () => {
    // draft-07 makes minLength a non-negative integer; Ajv's compile checks only that it is a number.
    const broken = { type: 'object', properties: { name: { type: 'string', minLength: -1 } } };
    expect(metaChecked().validateSchema(broken)).toBe(false);
    expect(() => compileSchema(broken)).not.toThrow();
  });

  it('the fast compile still refuses an unknown keyword (strict mode)', () => {
    expect(() => compileSchema({ type: 'object', properties: { name: { type: 'string', patern: '^a' } } })).toThrow(/unknown keyword: "patern"/);
  });

  it('validates as the default instance does, with the schema in each error for the "allowed" text', () => {
    const schema = { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string', pattern: '^[a-z]+$', description: 'a lowercase name' } } };
    const fast = compileSchema(schema);
    const reference = new Ajv({ strict: true, verbose: true }).compile(schema);
    for (const value of [{ name: 'ok' }, { name: 'Not OK' }, {}, { name: 'ok', extra: 1 }, { name: 3 }, 'text']) {
      expect(fast(value)).toBe(reference(value));
      expect(fast.errors?.[0]?.keyword).toBe(reference.errors?.[0]?.keyword);
    }
    fast({ name: 'Not OK' });
    expect((fast.errors![0].parentSchema as { description: string }).description).toBe('a lowercase name');
  });
});

/**
 * Every variant of `doc` that breaks it in one place: each value replaced by a value of each other
 * JSON type, each key of a mapping removed, an unknown key added to each mapping.
 */
function oneBreakVariants(doc: unknown): unknown[] {
  const out: unknown[] = [];
  const others = (v: unknown): unknown[] => [42, 'x', true, null, [], {}, ['x'], -1, 1.5, ''].filter((o) => JSON.stringify(o) !== JSON.stringify(v));
  /** A copy of `doc` with `change` applied to the value at `path` (in its parent, under its key). */
  const changed = (path: readonly (string | number)[], change: (parent: any, key: string | number) => void) => {
    const copy = structuredClone(doc) as any;
    let parent = copy;
    for (const k of path.slice(0, -1)) parent = parent[k];
    change(parent, path[path.length - 1]);
    out.push(copy);
  };
  const visit = (path: (string | number)[], v: unknown) => {
    for (const o of others(v)) {
      if (path.length === 0) out.push(o);
      else changed(path, (p, k) => { p[k] = o; });
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      changed([...path, 'unknownField'], (p, k) => { p[k] = 1; });
      for (const k of Object.keys(v)) {
        changed([...path, k], (p, key) => { delete p[key]; });
        visit([...path, k], (v as Record<string, unknown>)[k]);
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => visit([...path, i], x));
    }
  };
  visit([], doc);
  return out;
}

describe('the validators generated at build time', () => {
  const root = path.join(__dirname, '..');
  let dir: string;
  let generated: GeneratedValidators;

  beforeAll(() => {
    // Inside the repository, so that the generated code resolves ajv's runtime helpers from node_modules.
    fs.mkdirSync(path.join(root, 'build'), { recursive: true });
    dir = fs.mkdtempSync(path.join(root, 'build', 'validators-test-'));
    writeValidators(path.join(dir, 'validators.js'));
    generated = require(path.join(dir, 'validators.js')) as GeneratedValidators;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const inventory = jsYaml.load(fs.readFileSync(path.join(root, 'cluster', 'nodes.yaml'), 'utf8'));
  const cases: [InputSchemaName, string, unknown][] = [
    ['migration', 'the demo migration.yaml', jsYaml.load(fs.readFileSync(path.join(root, 'migration.yaml'), 'utf8'))],
    ['inventory', 'the demo nodes.yaml', inventory],
    ...POLICY_CORPUS.map((p): [InputSchemaName, string, unknown] => ['networkPolicy', `NetworkPolicy ${p.metadata.name}`, p]),
  ];

  it.each(cases)('give %s the same answer and the same errors as Ajv compiling at run time, for %s and every one-place break of it', (name, _what, doc) => {
    const built = generatedValidator(name, generated)!;
    const compiled = compileSchema(INPUT_SCHEMAS[name]);
    expect(built).toBeDefined();
    expect(built(doc)).toBe(true);
    const variants = oneBreakVariants(doc);
    expect(variants.length).toBeGreaterThan(20);
    let refused = 0;
    for (const v of variants) {
      const ok = built(v);
      expect(compiled(v)).toBe(ok);
      expect(built.errors ?? null).toEqual(compiled.errors ?? null);
      if (!ok) refused++;
    }
    // The comparison covered refusals, not only documents both accept.
    expect(refused).toBeGreaterThan(variants.length / 4);
  });

  it('are used only when built from the schema in the sources: another digest falls back to compiling', () => {
    expect(generatedValidator('migration', generated)).toBe(generated.migration);
    expect(generatedValidator('migration', { ...generated, digests: { ...generated.digests, migration: 'other' } })).toBeUndefined();
    expect(generatedValidator('migration', undefined)).toBeUndefined();
  });

  it('spare the CLI loading Ajv\'s compiler: the built CLI\'s validators load without it', () => {
    // What `npm run build` writes (bin/build-if-stale.js), then what the built CLI loads at start-up, in a fresh process.
    execFileSync(process.execPath, [path.join(root, 'build', 'src', 'config', 'write-validators.js')]);
    const script = `
      const Module = require('module');
      const load = Module._load;
      const loaded = [];
      Module._load = function (request) { loaded.push(request); return load.apply(this, arguments); };
      const { inputValidator } = require(${JSON.stringify(path.join(root, 'build', 'src', 'config', 'schema-validator.js'))});
      for (const name of ['migration', 'inventory', 'networkPolicy']) if (inputValidator(name)({}) !== false) throw new Error(name + ' accepted {}');
      process.stdout.write(JSON.stringify({ compiler: loaded.filter((r) => /^ajv(\\/dist\\/(core|ajv|compile\\/.*))?$/.test(r)), generated: [...new Set(loaded.filter((r) => r.includes('validators.generated')))] }));`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))).toEqual({ compiler: [], generated: ['./validators.generated'] });
  });
});
