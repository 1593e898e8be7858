/**
 * The files a user may edit by hand, field by field: every field of cluster/'s captured objects,
 * of nodes.yaml and network.yaml, and of a vendored Calico manifest's objects is replaced in turn
 * by a value of another type (or an odd one of the same type), and `plan` must answer as for any
 * input: exit 0, or exit 2 with one line. Never an internal error (exit 3, a stack), and never a
 * message that shows "[object Object]" or "undefined" for the value it refuses. Mutating the demo
 * this way found fifteen distinct internal errors in the control-plane, Weave and Calico readers.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { cli, demoWorkspace, editConfig, setStep, type Workspace } from './support/workspace';

/** Values of every JSON type, and strings that look like something else. */
const HOSTILE: readonly unknown[] = [null, [], {}, -1, 1.5, true, '', '0', 'a b', [null], [{}], { a: 1 }, '10.0.0.0/33', 'x'.repeat(300)];

/** The steps each case is planned at, in turn: they read different parts of the inputs. */
const STEPS = ['adopt', 'calico', 'cluster-cidr', 'nodes-2', 'weave-removed', 'finalized'];

/** Every path into `value` (objects and lists included, the root excluded). */
function fieldPaths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const p = [...at, Array.isArray(value) ? Number(k) : k];
    return [p, ...fieldPaths(v, p)];
  });
}

function withField(doc: unknown, at: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(doc) as any;
  let parent = copy;
  for (const k of at.slice(0, -1)) parent = parent[k];
  parent[at[at.length - 1]] = value;
  return copy;
}

interface Answer {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What is wrong with `plan`'s answer to an input, or undefined when it is an answer. */
function defect(r: Answer): string | undefined {
  if (r.code === 3) return `internal error: ${r.stderr.split('\n').slice(0, 2).join(' ')}`;
  if (r.code !== 0 && r.code !== 1 && r.code !== 2) return `exit ${r.code}`;
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  if (r.code === 2 && lines.length !== 1) return `${lines.length} lines: ${r.stderr.slice(0, 200)}`;
  // The findings (exit 1) are on stdout.
  const shown = /.*(\[object Object\]|\bundefined\b|\bNaN\b).*/.exec(r.stderr + r.stdout);
  if (shown) return `shows a value badly: ${shown[0].slice(0, 200)}`;
  return undefined;
}

/**
 * Plans the demo with each field of `file` (under the workspace) changed in turn; the file is put
 * back after each case. Returns the defects found and how many cases were refused (exit 2).
 */
async function mutateEachField(ws: Workspace, file: string, documents: 'one' | 'many'): Promise<{ cases: number; refused: number; defects: string[] }> {
  const abs = path.join(ws.dir, file);
  const original = fs.readFileSync(abs, 'utf8');
  const docs = documents === 'one' ? [YAML.parse(original)] : YAML.parseAllDocuments(original).map((d) => d.toJS());
  const defects: string[] = [];
  let cases = 0;
  let refused = 0;
  for (let d = 0; d < docs.length; d++) {
    // A CRD's schema is applied as it is; nothing of it is read.
    if (!docs[d] || docs[d].kind === 'CustomResourceDefinition') continue;
    for (const at of fieldPaths(docs[d])) {
      // Two values per field, a different pair for the next field, so that every value meets many fields.
      for (const value of [HOSTILE[cases % HOSTILE.length], HOSTILE[(cases + 7) % HOSTILE.length]]) {
        const changed = docs.map((doc, i) => (i === d ? withField(doc, at, value) : doc));
        fs.writeFileSync(abs, changed.map((doc) => YAML.stringify(doc)).join('---\n'));
        setStep(ws, STEPS[cases % STEPS.length]);
        const r = await cli(ws, 'plan');
        const wrong = defect(r);
        if (wrong) defects.push(`${file} ${at.join('.')} = ${JSON.stringify(value)?.slice(0, 20)} at ${STEPS[cases % STEPS.length]}: ${wrong}`);
        if (r.code === 2) refused++;
        cases++;
      }
    }
  }
  fs.writeFileSync(abs, original);
  return { cases, refused, defects };
}

function clusterFiles(ws: Workspace): string[] {
  const walk = (rel: string): string[] => fs.readdirSync(path.join(ws.dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = `${rel}/${e.name}`;
    return e.isDirectory() ? walk(r) : e.name.endsWith('.yaml') ? [r] : [];
  });
  return ['cluster/nodes.yaml', ...walk('cluster/control-plane'), ...walk('cluster/weave')];
}

describe('every field of a file edited by hand, of another type: one answer, never a crash', () => {
  // One case is one in-process plan of the demo (about 40 ms): some hundreds per file set.
  jest.setTimeout(300_000);

  it('cluster/: nodes.yaml, network.yaml, the control plane and Weave', async () => {
    const ws = demoWorkspace();
    fs.writeFileSync(path.join(ws.cluster, 'network.yaml'), YAML.stringify({ apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NetworkFacts', weaveCIDR: '10.32.0.0/12', weaveCIDRSource: 'IPALLOC_RANGE', serviceCIDR: '10.96.0.0/12', serviceCIDRSource: 'kube-apiserver' }));
    const files = [...clusterFiles(ws), 'cluster/network.yaml'];
    expect(files.length).toBeGreaterThanOrEqual(12);
    let cases = 0;
    const defects: string[] = [];
    const neverRefused: string[] = [];
    for (const file of files) {
      const r = await mutateEachField(ws, file, 'one');
      cases += r.cases;
      defects.push(...r.defects);
      if (r.refused === 0) neverRefused.push(file);
    }
    expect(defects).toEqual([]);
    // The mutations reached the readers: hundreds of cases, and some of each file's refused.
    expect(cases).toBeGreaterThan(500);
    expect(neverRefused).toEqual([]);
  });

  it('a vendored Calico manifest (every object but the CRDs)', async () => {
    const ws = demoWorkspace();
    fs.mkdirSync(path.join(ws.dir, 'vendor'));
    fs.copyFileSync(path.join(__dirname, 'fixtures', 'calico-upstream-shaped.yaml'), path.join(ws.dir, 'vendor', 'calico.yaml'));
    editConfig(ws, (d) => {
      d.spec.calico.manifest = 'vendor/calico.yaml';
      d.spec.calico.version = 'v3.30.4';
    });
    const r = await mutateEachField(ws, 'vendor/calico.yaml', 'many');
    expect(r.defects).toEqual([]);
    expect(r.cases).toBeGreaterThan(300);
    expect(r.refused).toBeGreaterThan(r.cases / 3);
  });
});
