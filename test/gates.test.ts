/**
 * The gates of every step: what each checks, how it is wired for each engine, and the calico
 * check against recorded API responses.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { stepList } from '../src/steps/steps';
import { runScript } from './support/gitops-simulator';
import { cli, demoWorkspace, editConfig, readManifests, setStep } from './support/workspace';


/** Nodes with no calico-node, as a mixed cluster has: a Windows node and an AKS virtual node. */
const OTHER_NODES = [
  { metadata: { name: 'win-1', labels: { 'kubernetes.io/os': 'windows' } } },
  { metadata: { name: 'aci-virtual-node', labels: { 'kubernetes.io/os': 'linux', type: 'virtual-kubelet' } } },
];

function calicoGate(nodes: string[], pods: unknown[], env: Record<string, string> = {}) {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-'));
  fs.writeFileSync(path.join(store, 'calls.log'), '');
  fs.writeFileSync(path.join(store, 'NodeList.json'), JSON.stringify({ items: [...nodes.map((n) => ({ metadata: { name: n, labels: { 'kubernetes.io/os': 'linux' } } })), ...OTHER_NODES] }));
  fs.writeFileSync(path.join(store, 'PodList.k8s-app=calico-node.json'), JSON.stringify({ items: pods }));
  return runScript(readScript('gate-calico-ready.sh'), { WORK_DIR: store, FAKE_KUBE_STORE: store, ...env }, undefined, 'kubectl');
}
const pod = (node: string, ready: boolean) => ({ spec: { nodeName: node }, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });

describe('the paging library', () => {
  it('is copied into each script that sources it, so a Job ships one self-contained file; run from its file, the script sources it from beside itself', () => {
    for (const name of ['gate-calico-ready.sh', 'gate-no-weave-pods.sh', 'kcm-cluster-cidr.sh']) {
      const own = fs.readFileSync(path.join(__dirname, '..', 'src', 'scripts', name), 'utf8');
      expect(own).toContain('. "$(dirname "$0")/list-pages.sh"\n');
      const shipped = readScript(name);
      expect(shipped).not.toContain('list-pages.sh"');
      expect(shipped.split('\neach_page() {').length).toBe(2);
    }
    // Run from its file (as a contributor would), the same gate works against the same stand-in.
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-'));
    fs.writeFileSync(path.join(store, 'NodeList.json'), JSON.stringify({ items: ['a', 'b', 'c'].map((n) => ({ metadata: { name: n, labels: { 'kubernetes.io/os': 'linux' } } })) }));
    fs.writeFileSync(path.join(store, 'PodList.k8s-app=calico-node.json'), JSON.stringify({ items: [pod('a', true), pod('b', true)] }));
    const r = runScript(`exec sh ${path.join(__dirname, '..', 'src', 'scripts', 'gate-calico-ready.sh')}`, { WORK_DIR: store, FAKE_KUBE_STORE: store }, undefined, 'kubectl');
    expect(r.code).toBe(1);
    expect(r.log).toMatch(/not Ready on 1 node\(s\)[^]*\nc\n/);
  });
});

describe('gate-calico-ready.sh', () => {
  it('passes when calico-node is Ready on every node (Windows nodes and virtual kubelets run none, and are not waited for)', () => {
    const r = calicoGate(['a', 'b', 'c'], [pod('a', true), pod('b', true), pod('c', true)]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.log).toMatch(/calico-node is Ready on 3 node\(s\)/);
    // With every node selected, the two without calico-node would fail it: the selector is what passes.
    const all = calicoGate(['a', 'b', 'c'], [pod('a', true), pod('b', true), pod('c', true)], { NODE_SELECTOR: 'kubernetes.io/hostname!=none' });
    expect(all.code).toBe(1);
    expect(all.log).toMatch(/not Ready on 2 node\(s\)[^]*aci-virtual-node\nwin-1/);
  });

  it('names the nodes where it is missing or not Ready', () => {
    const r = calicoGate(['a', 'b', 'c', 'd'], [pod('a', true), pod('b', false)]);
    expect(r.code).toBe(1);
    expect(r.log).toMatch(/not Ready on 3 node\(s\).*:\nb\nc\nd\n/s);
  });

  it('checks only the listed nodes when given', () => {
    expect(calicoGate(['a', 'b'], [pod('a', true)], { NODES: 'a' }).code).toBe(0);
    expect(calicoGate(['a', 'b'], [pod('a', true)], { NODES: 'a b' }).code).toBe(1);
  });
});

describe('gates per step', () => {
  const gateAt = async (engine: 'argocd' | 'flux') => {
    const ws = demoWorkspace();
    if (engine === 'flux') editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    const out: Record<string, { checks: string[]; job?: string; annotations?: Record<string, string> }> = {};
    for (const s of stepList(5)) {
      setStep(ws, s.name);
      expect((await cli(ws, 'synth')).code).toBe(0);
      const job = readManifests(ws.dist).find((m) => m.file.startsWith('00-gate/') && m.obj.kind === 'Job')?.obj;
      out[s.name] = { checks: job ? job.spec.template.spec.containers.map((c: any) => c.name) : [], job: job?.metadata.name, annotations: job?.metadata.annotations };
    }
    return out;
  };

  it('check calico-node before the control plane, the policies and every wave, and Weave\'s pods after', async () => {
    const g = await gateAt('argocd');
    expect(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.checks]))).toEqual({
      adopt: [], calico: [], 'cluster-cidr': ['calico-ready'], 'policies-suspended': ['calico-ready'],
      'nodes-1': ['calico-ready', 'drain-capacity'], 'nodes-2': ['calico-ready', 'drain-capacity'], 'nodes-3': ['calico-ready', 'drain-capacity'],
      'nodes-4': ['calico-ready', 'drain-capacity'], 'nodes-5': ['calico-ready', 'drain-capacity'],
      'weave-removed': ['no-weave-pods'], 'policies-restored': ['no-weave-pods'], finalized: ['no-weave-pods'],
    });
    // Steps that check the same thing share one Job; with drains on, each wave checks its own room.
    expect(new Set(['cluster-cidr', 'policies-suspended'].map((s) => g[s].job)).size).toBe(1);
    expect(new Set(['weave-removed', 'policies-restored', 'finalized'].map((s) => g[s].job)).size).toBe(1);
    expect(new Set(['nodes-1', 'nodes-2', 'nodes-3', 'nodes-4', 'nodes-5'].map((s) => g[s].job)).size).toBe(5);
    expect(g['nodes-1'].annotations).toMatchObject({ 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
  });

  it('flux: the gate is a plain object of the first layer, which every other layer depends on', async () => {
    const g = await gateAt('flux');
    expect(g['nodes-3'].annotations).toBeUndefined();
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    await cli(ws, 'synth');
    const ks = readManifests(ws.gitops).filter((m) => m.obj.kind === 'Kustomization').map((m) => m.obj);
    const gate = ks.find((k) => k.spec.path.endsWith('00-gate'));
    expect(gate.spec.dependsOn).toBeUndefined();
    expect(ks.find((k) => k.spec.path.endsWith('10-calico')).spec.dependsOn).toEqual([{ name: gate.metadata.name }]);
    expect(ks.every((k) => k.spec.wait === true)).toBe(true);
  });
});
