/**
 * The README's configuration reference is what users read before they set a field: every field
 * migration.yaml accepts has a row there, and every row names a field it accepts. A field added
 * to the schema without a row, or a row left behind by a rename, fails here.
 */
import * as fs from 'fs';
import * as path from 'path';
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

/** The fields the reference table names: `spec.a.b`, and `spec.a.x` / `.y` rows as spec.a.x and spec.a.y. */
function readmeFields(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Configuration reference'), readme.indexOf('\n## ', readme.indexOf('## Configuration reference') + 1));
  const out: string[] = [];
  for (const line of section.split('\n')) {
    const first = /^\| (`spec\.[^|]+)\|/.exec(line)?.[1];
    if (!first) continue;
    const names = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const base = names[0];
    out.push(base, ...names.slice(1).map((n) => (n.startsWith('.') ? base.replace(/\.[^.]+$/, n) : n)));
  }
  return out;
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
});
