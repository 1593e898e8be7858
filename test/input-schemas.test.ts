/**
 * The JSON Schemas of our inputs are compiled without Ajv's meta-schema check
 * (src/config/schema-validator.ts); this is that check, run once here instead of at every start.
 */
import Ajv from 'ajv';
import { NODE_INVENTORY_SCHEMA } from '../src/cluster/snapshot';
import { MIGRATION_SCHEMA } from '../src/config/schema';
import { compileSchema } from '../src/config/schema-validator';
import { NETWORK_POLICY_SCHEMA } from '../src/kube/network-policy-schema';

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
