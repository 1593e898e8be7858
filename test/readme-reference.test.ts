/**
 * The README's configuration reference is what users read before they set a field: every field
 * migration.yaml accepts has a row there, and every row names a field it accepts. A field added
 * to the schema without a row, or a row left behind by a rename, fails here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadMigrationText } from '../src/config/load';
import { MIGRATION_SCHEMA } from '../src/config/schema';
import { REPO_ROOT } from './support/workspace';

interface SchemaNode {
  readonly properties?: Record<string, SchemaNode>;
  readonly oneOf?: readonly SchemaNode[];
  readonly anyOf?: readonly SchemaNode[];
}

/** The settable fields under `prefix`: a leaf, or a mapping without named keys (spec.policies.rewrite). */
function schemaFields(node: SchemaNode, prefix: string): string[] {
  const alternatives = [node, ...(node.oneOf ?? []), ...(node.anyOf ?? [])].filter((n) => n.properties);
  if (alternatives.length === 0) return [prefix];
  const keys = new Map<string, SchemaNode>();
  for (const a of alternatives) for (const [k, v] of Object.entries(a.properties!)) keys.set(k, v);
  return [...keys].flatMap(([k, v]) => schemaFields(v, `${prefix}.${k}`));
}

/** The reference table's rows: the field cells' names and the default cell. */
function readmeRows(readme: string): { names: string[]; default: string }[] {
  const start = readme.indexOf('## Configuration reference');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return section.split('\n').filter((l) => /^\| `spec\./.test(l)).map((line) => {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    return { names: [...cells[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]), default: cells[3] };
  });
}

/** The fields the reference table names: `spec.a.b`, and `spec.a.x` / `.y` rows as spec.a.x and spec.a.y. */
function readmeFields(readme: string): string[] {
  return readmeRows(readme).flatMap(({ names: [base, ...more] }) => [base, ...more.map((n) => (n.startsWith('.') ? base.replace(/\.[^.]+$/, n) : n))]);
}

describe('the README configuration reference', () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const documented = readmeFields(readme);
  const accepted = schemaFields((MIGRATION_SCHEMA as SchemaNode).properties!.spec, 'spec');

  it('reads the table (a parser that found nothing would pass everything)', () => {
    expect(documented).toEqual(expect.arrayContaining(['spec.step', 'spec.calico.images.node', 'spec.calico.images.typha', 'spec.policies.rewrite']));
    expect(accepted).toEqual(expect.arrayContaining(['spec.step', 'spec.calico.images.typha', 'spec.nodes.waveStrategy.canary']));
  });

  it('has a row for every field migration.yaml accepts', () => {
    expect(accepted.filter((f) => !documented.includes(f))).toEqual([]);
  });

  it('names only fields migration.yaml accepts, each once', () => {
    expect(documented.filter((f) => !accepted.includes(f))).toEqual([]);
    expect(documented.filter((f, i) => documented.indexOf(f) !== i)).toEqual([]);
  });

  it('gives the defaults a migration.yaml without the field gets', () => {
    // The least migration.yaml the schema accepts; every other field takes its default.
    const least = loadMigrationText('apiVersion: cni-migrate.io/v1alpha1\nkind: Migration\nmetadata: {name: d}\nspec: {step: adopt, gitops: {engine: argocd, repoURL: "https://git.example.com/n.git"}, network: {serviceCIDR: 10.96.0.0/12}}\n', 'migration.yaml');
    const at = (field: string) => field.split('.').slice(1).reduce<any>((o, k) => o?.[k], least.spec);
    // Rows whose default is one literal (`main`, `3`, `"5%"`, `true`, `[]`); the others (and
    // templates such as `{<weaveCIDR>: <calicoCIDR>}`) explain a computed one.
    const literal = readmeRows(readme).filter((r) => /^`[^`<]+`$/.test(r.default));
    const shown = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
    expect(literal.length).toBeGreaterThan(20);
    const wrong = literal
      .filter((r) => shown(at(r.names[0])) !== r.default.slice(1, -1).replace(/^"(.*)"$/, '$1'))
      .map((r) => `${r.names[0]}: README ${r.default}, loaded ${JSON.stringify(at(r.names[0]))}`);
    expect(wrong).toEqual([]);
  });
});
