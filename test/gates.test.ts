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

/** The demo synthesized at each of `steps` and applied in order to a fresh simulator (with no failed run). */
async function appliedThrough(steps: readonly string[]) {
  const { GitOpsSimulator } = await import('./support/gitops-simulator');
  const ws = demoWorkspace();
  const dists: Record<string, string> = {};
  for (const step of steps) {
    setStep(ws, step);
    const out = path.join(ws.dir, `d-${step}`);
    expect((await cli(ws, 'synth', '--out', out)).code).toBe(0);
    dists[step] = out;
  }
  const sim = new GitOpsSimulator(['cp-1', 'cp-2', 'worker-1', 'worker-2', 'worker-3', 'worker-gpu-1'], { skipControlPlaneJobs: true });
  for (const step of steps) expect([step, sim.apply(dists[step])]).toEqual([step, []]);
  return { sim, dists };
}

describe('the paging library', () => {
  it('is copied into each script that sources it, so a Job ships one self-contained file; run from its file, the script sources it from beside itself', () => {
    for (const name of ['gate-calico-ready.sh', 'gate-no-pods-in-cidr.sh', 'kcm-cluster-cidr.sh']) {
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

  // A switch DaemonSet as the cluster runs it: a wave's nodes by name, Calico-first or Weave-first.
  const liveSet = (name: string, desired: string, nodes: string[]) => ({
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: 'kube-system', labels: { 'cni-migrate.io/desired': desired } },
    spec: { template: { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [], matchFields: [{ key: 'metadata.name', operator: 'In', values: nodes }] }] } } } } } },
  });
  const withSets = (sets: object[]) => (store: string) => {
    for (const s of sets as any[]) fs.writeFileSync(path.join(store, `DaemonSet.kube-system.${s.metadata.name}.json`), JSON.stringify(s));
  };
  const gateWithSets = (nodes: string[], pods: unknown[], sets: object[], env: Record<string, string>) => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-'));
    fs.writeFileSync(path.join(store, 'calls.log'), '');
    fs.writeFileSync(path.join(store, 'NodeList.json'), JSON.stringify({ items: nodes.map((n) => ({ metadata: { name: n, labels: { 'kubernetes.io/os': 'linux' } } })) }));
    fs.writeFileSync(path.join(store, 'PodList.k8s-app=calico-node.json'), JSON.stringify({ items: pods }));
    withSets(sets)(store);
    return runScript(readScript('gate-calico-ready.sh'), { WORK_DIR: store, FAKE_KUBE_STORE: store, ...env }, undefined, 'kubectl');
  };

  it('on a revert, does not wait for calico-node on the nodes the step takes back to Weave, and still does everywhere else', () => {
    const pods = [pod('a', true), pod('b', false), pod('c', true), pod('d', true)];
    const env = { WEAVE_FIRST_SETS: 'cni-migrate-switch-wave-2 cni-migrate-switch-wave-3' };
    // Wave 2 (b, c) runs Calico-first in the cluster and is Weave-first at this step: a revert.
    const revert = gateWithSets(['a', 'b', 'c', 'd'], pods, [liveSet('cni-migrate-switch-wave-2', 'calico-first', ['b', 'c']), liveSet('cni-migrate-switch-wave-3', 'weave-first', ['d'])], env);
    expect(revert.log).toContain('gate: cni-migrate-switch-wave-2 runs calico-first in the cluster and weave-first at this step: a revert; its nodes leave Calico, so calico-node there does not hold it back');
    expect(revert.code).toBe(0);
    // Forward (wave 2 still Weave-first in the cluster), or its set not there yet: b counts.
    for (const sets of [[liveSet('cni-migrate-switch-wave-2', 'weave-first', ['b', 'c'])], []]) {
      const forward = gateWithSets(['a', 'b', 'c', 'd'], pods, sets, env);
      expect([forward.code, forward.log]).toEqual([1, expect.stringMatching(/not Ready on 1 node\(s\).*:\nb\n$/s)]);
    }
    // A node off the reverted wave is still waited for.
    const elsewhere = gateWithSets(['a', 'b', 'c', 'd'], [pod('a', false), pod('b', false), pod('c', true), pod('d', true)], [liveSet('cni-migrate-switch-wave-2', 'calico-first', ['b', 'c'])], env);
    expect([elsewhere.code, elsewhere.log]).toEqual([1, expect.stringMatching(/not Ready on 1 node\(s\).*:\na\n$/s)]);
  });

  it('checks only the listed nodes when given', () => {
    expect(calicoGate(['a', 'b'], [pod('a', true)], { NODES: 'a' }).code).toBe(0);
    expect(calicoGate(['a', 'b'], [pod('a', true)], { NODES: 'a b' }).code).toBe(1);
  });
});

describe('the Calico-side gate (calico, cluster-cidr)', () => {
  const store = (pods: unknown[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gate-'));
    fs.writeFileSync(path.join(dir, 'calls.log'), '');
    fs.writeFileSync(path.join(dir, 'PodList.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
    return dir;
  };
  const calicoGate = (pods: unknown[]) => {
    const dir = store(pods);
    return runScript(readScript('gate-no-pods-in-cidr.sh'), { NETWORK: 'calico', POD_CIDR: '10.48.0.0/16', WORK_DIR: dir, FAKE_KUBE_STORE: dir }, undefined, 'kubectl');
  };
  const pod = (ns: string, name: string, ip: string, extra: Record<string, unknown> = {}) => ({ metadata: { namespace: ns, name, labels: {} }, spec: { nodeName: 'worker-1', ...extra }, status: { phase: 'Running', podIP: ip } });

  it('passes with every pod on Weave or the host network, and fails naming each pod left on Calico, saying what to do', () => {
    const onWeave = [pod('shop', 'api-1', '10.32.0.7'), pod('kube-system', 'calico-node-x', '192.168.56.10', { hostNetwork: true })];
    const ok = calicoGate(onWeave);
    expect([ok.code, ok.log.trim()]).toEqual([0, 'gate: no pod has an IP in the Calico CIDR 10.48.0.0/16 (1 page(s) of pods read)']);
    const r = calicoGate([...onWeave, pod('shop', 'api-2', '10.48.3.9'), pod('shop', 'done', '10.48.3.10')].map((p) => (p.metadata.name === 'done' ? { ...p, status: { ...p.status, phase: 'Succeeded' } } : p)));
    expect(r.code).toBe(1);
    const lines = r.log.trim().split('\n');
    expect(lines[0]).toMatch(/^gate: 1 pod\(s\) have an IP in the Calico CIDR 10\.48\.0\.0\/16, and this step is safe only with none .*revert the node waves first and restart these pods on Weave nodes/);
    expect(lines.slice(1)).toEqual(['shop/api-2 node=worker-1 ip=10.48.3.9']);
  });

  it('holds a revert from policies-suspended to cluster-cidr while a pod is on Calico: nothing of the step applies, the policies stay out; once the pod is on Weave, it applies', async () => {
    const { sim, dists } = await appliedThrough(['calico', 'cluster-cidr', 'policies-suspended', 'nodes-1']);
    try {
      // A pod started on worker-1 once it switched keeps its Calico IP after the wave's revert.
      expect(JSON.parse(fs.readFileSync(path.join(dists['nodes-1'], 'step.json'), 'utf8')).network.calicoCIDR).toBe('10.48.0.0/12');
      const ip = '10.48.3.9';
      sim.setPods([pod('shop', 'api-2', ip)]);
      expect(sim.apply(dists['policies-suspended'])).toEqual([]);
      const policies = () => sim.liveObjects('NetworkPolicy').length;
      expect(policies()).toBe(0);
      const held = sim.apply(dists['cluster-cidr']);
      expect(held.map((f) => [f.node, f.code])).toEqual([['(gate)', 1]]);
      expect(held[0].log).toContain(`shop/api-2 node=worker-1 ip=${ip}`);
      expect(policies()).toBe(0);
      // Restarted on a Weave node: the revert goes through and the policies come back.
      sim.setPods([pod('shop', 'api-2', '10.32.0.9')]);
      expect(sim.apply(dists['cluster-cidr'])).toEqual([]);
      expect(policies()).toBe(12);
    } finally {
      sim.dispose();
    }
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
      const job = readManifests(ws.dist).find((m) => m.file.startsWith('00-gate/') && m.obj.kind === 'Job' && m.obj.metadata.labels['app.kubernetes.io/component'] === 'gate')?.obj;
      out[s.name] = { checks: job ? job.spec.template.spec.containers.map((c: any) => c.name) : [], job: job?.metadata.name, annotations: job?.metadata.annotations };
    }
    return out;
  };

  it('check calico-node before every wave (not before the steps without a pod on Calico, so a revert to them is never held by it), no pod on Calico while the policies are in force, and Weave\'s pods after', async () => {
    const g = await gateAt('argocd');
    expect(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.checks]))).toEqual({
      adopt: [], calico: ['no-calico-pods'], 'cluster-cidr': ['no-calico-pods'], 'policies-suspended': [],
      'nodes-1': ['calico-ready', 'drain-capacity'], 'nodes-2': ['calico-ready', 'drain-capacity'], 'nodes-3': ['calico-ready', 'drain-capacity'],
      'nodes-4': ['calico-ready', 'drain-capacity'], 'nodes-5': ['calico-ready', 'drain-capacity'],
      'weave-removed': ['no-weave-pods'], 'policies-restored': ['no-weave-pods'], finalized: ['no-weave-pods'],
    });
    // Steps that check the same thing share one Job; with drains on, each wave checks its own room.
    expect(new Set(['calico', 'cluster-cidr'].map((s) => g[s].job)).size).toBe(1);
    expect(g['policies-suspended'].job).toBeUndefined();
    expect(new Set(['weave-removed', 'policies-restored', 'finalized'].map((s) => g[s].job)).size).toBe(1);
    expect(new Set(['nodes-1', 'nodes-2', 'nodes-3', 'nodes-4', 'nodes-5'].map((s) => g[s].job)).size).toBe(5);
    expect(g['nodes-1'].annotations).toMatchObject({ 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
  });

  it('flux: the gate is a plain object of the first layer, which every other layer depends on, and a new Job at every step (Flux never runs a Complete Job again)', async () => {
    const g = await gateAt('flux');
    expect(g['nodes-3'].annotations).toBeUndefined();
    const gated = Object.entries(g).filter(([, v]) => v.job);
    expect(gated.length).toBe(10);
    expect(new Set(gated.map(([, v]) => v.job)).size).toBe(gated.length);
    // The same checks as Argo CD's hooks, step by step.
    const argo = await gateAt('argocd');
    expect(Object.fromEntries(gated.map(([k, v]) => [k, v.checks]))).toEqual(Object.fromEntries(Object.entries(argo).filter(([, v]) => v.job).map(([k, v]) => [k, v.checks])));
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    await cli(ws, 'synth');
    const ks = readManifests(ws.gitops).filter((m) => m.obj.kind === 'Kustomization').map((m) => m.obj);
    const gate = ks.find((k) => k.spec.path.endsWith('00-gate'));
    expect(gate.spec.dependsOn).toBeUndefined();
    expect(ks.find((k) => k.spec.path.endsWith('10-calico')).spec.dependsOn).toEqual([{ name: gate.metadata.name }]);
    // Every layer waits for its objects' health but Calico's (a revert must not sit behind it).
    expect(ks.filter((k) => k.spec.wait !== true).map((k) => k.spec.path)).toEqual([expect.stringMatching(/\/10-calico$/)]);
  });
});

describe('a revert is not held back by the health of what it leaves', () => {
  it('calico-node NotReady on a node of wave 2: the step forward is held by its gate, the revert of wave 2 goes through and puts the node back on Weave', async () => {
    const { sim, dists } = await appliedThrough(['calico', 'cluster-cidr', 'policies-suspended', 'nodes-1', 'nodes-2']);
    try {
      expect(sim.loadedNetwork('worker-2')).toBe('k8s-pod-network');
      // Calico breaks on worker-2 once its wave switched: the revert of nodes-2 is the way out.
      sim.calicoNotReady.add('worker-2');
      expect(sim.apply(dists['nodes-1'])).toEqual([]);
      expect(sim.loadedNetwork('worker-2')).toBe('weave');
      expect(sim.loadedNetwork('worker-1')).toBe('k8s-pod-network');
      // Forward again with worker-2 still broken: its gate holds the step, naming the node.
      const held = sim.apply(dists['nodes-2']);
      expect(held.map((f) => [f.node, f.code])).toEqual([['(gate)', 1]]);
      expect(held[0].log).toMatch(/calico-node is not Ready on 1 node\(s\)[^]*\nworker-2\n/);
      expect(sim.loadedNetwork('worker-2')).toBe('weave');
      // Forward, a node of any wave still counts.
      sim.calicoNotReady.clear();
      sim.calicoNotReady.add('worker-1');
      expect(sim.apply(dists['nodes-2'])).toEqual([expect.objectContaining({ node: '(gate)', code: 1 })]);
    } finally {
      sim.dispose();
    }
  });
});
