/**
 * Nodes that join while the migration runs: one DaemonSet converges every Linux node missing from
 * the inventory to what its peers get (Weave first before the node phase, Calico first from the
 * first wave); from weave-removed one DaemonSet converges every node alike, newcomers included
 * (Calico's final name, then its own file at finalized), and one more cleans Weave's leftovers off
 * every node. Walked through the GitOps simulator for both engines' output, with a node added in
 * the middle of the node phase and one after weave-removed, and reverts between; and a node
 * deleted mid-migration, which holds nothing back: its wave's DaemonSet simply has no pod there.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { stepList } from '../src/steps/steps';
import { GitOpsSimulator } from './support/gitops-simulator';
import { FakeApiServer, withServerFields } from './support/fake-apiserver';
import { cli, demoWorkspace, editConfig, readManifests, runCompiledCli, setStep } from './support/workspace';

const WAVES = [['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1'], ['cp-2']];
const NODES = WAVES.flat().sort();
const STEPS = stepList(WAVES.length).map((s) => s.name);
const CALICO = 'k8s-pod-network';

const dists = new Map<string, Map<string, string>>();
beforeAll(async () => {
  for (const engine of ['argocd', 'flux'] as const) {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops.engine = engine));
    const byStep = new Map<string, string>();
    for (const step of STEPS) {
      setStep(ws, step);
      const out = path.join(ws.dir, `dist-${step}`);
      const r = await cli(ws, 'synth', '--out', out);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      byStep.set(step, out);
    }
    dists.set(engine, byStep);
  }
});

/** Apply `steps` in order; every failed Job or pod is a problem, named with its step. */
function applyAll(sim: GitOpsSimulator, engine: string, steps: string[]): string[] {
  return steps.flatMap((step) => sim.apply(dists.get(engine)!.get(step)!).map((f) => `${step}: ${f.job} on ${f.node} failed: ${f.log.trim()}`));
}

const upTo = (step: string) => STEPS.slice(0, STEPS.indexOf(step) + 1);

describe.each(['argocd', 'flux'])('nodes that join mid-migration (%s output)', (engine) => {
  it('come up on the network of their step, forward and back, and lose Weave with the others', () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    try {
      const problems = applyAll(sim, engine, upTo('policies-suspended'));
      // Before the node phase a newcomer stays on Weave, as every peer does.
      problems.push(...sim.addNode('early-1').map((f) => `add early-1: ${f.job}: ${f.log.trim()}`));
      expect(sim.loadedNetwork('early-1')).toBe('weave');

      problems.push(...applyAll(sim, engine, ['nodes-1', 'nodes-2']));
      // The first wave switched: early-1 followed it without being in any wave.
      expect(sim.loadedNetwork('early-1')).toBe(CALICO);
      problems.push(...sim.addNode('mid-1').map((f) => `add mid-1: ${f.job}: ${f.log.trim()}`));
      expect(sim.files('mid-1')).toEqual(['05-calico.conflist', '10-weave.conflist', '20-calico.conflist']);
      expect(sim.loadedNetwork('mid-1')).toBe(CALICO);

      // Revert nodes-2 and nodes-1: back at policies-suspended no wave is switched, and neither
      // are the newcomers; forward again, they switch again.
      problems.push(...applyAll(sim, engine, ['nodes-1']));
      expect([sim.loadedNetwork('early-1'), sim.loadedNetwork('mid-1')]).toEqual([CALICO, CALICO]);
      problems.push(...applyAll(sim, engine, ['policies-suspended']));
      expect([sim.loadedNetwork('early-1'), sim.loadedNetwork('mid-1')]).toEqual(['weave', 'weave']);
      problems.push(...applyAll(sim, engine, STEPS.slice(STEPS.indexOf('nodes-1'), STEPS.indexOf('weave-removed') + 1)));
      for (const n of ['early-1', 'mid-1']) {
        expect(sim.loadedNetwork(n)).toBe(CALICO);
        // Weave's file went with the other nodes' (the newcomers' cleanup DaemonSet).
        expect(sim.files(n)).not.toContain('10-weave.conflist');
      }

      // After weave-removed a node never sees Weave: it comes up on Calico's final name.
      problems.push(...sim.addNode('late-1').map((f) => `add late-1: ${f.job}: ${f.log.trim()}`));
      expect(sim.loadedNetwork('late-1')).toBe(CALICO);
      problems.push(...applyAll(sim, engine, ['policies-restored', 'finalized']));
      for (const n of [...NODES, 'early-1', 'mid-1', 'late-1']) expect([n, sim.files(n)[0]]).toEqual([n, '10-calico.conflist']);
      expect(problems).toEqual([]);
      // The inventory's nodes were left to their waves' DaemonSets: no newcomer pod ran on them,
      // and late-1 came after the newcomers' own DaemonSet was gone (the one of all nodes took it).
      const newcomerRuns = sim.runs.filter((r) => r.job === 'cni-migrate-newcomer-switch');
      expect(new Set(newcomerRuns.map((r) => r.node))).toEqual(new Set(['early-1', 'mid-1']));
      expect(new Set(sim.runs.filter((r) => r.node === 'late-1').map((r) => r.job))).toEqual(new Set(['cni-migrate-switch-all', 'cni-migrate-weave-cleanup']));
      // The check can fail: a Linux node that joins now gets both pods.
      sim.addNode('linux-1');
      expect(sim.runs.filter((r) => r.node === 'linux-1').map((r) => r.job).sort()).toEqual(['cni-migrate-switch-all', 'cni-migrate-weave-cleanup']);
    } finally {
      sim.dispose();
    }
  });

  it('a newcomer whose drain is stuck stays cordoned on Weave; the revert uncordons it and gives its lane back', () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    const node = () => sim.apiObject('Node', 'default', 'stuck-1');
    try {
      expect(applyAll(sim, engine, upTo('nodes-1'))).toEqual([]);
      // A PodDisruptionBudget at zero on the newcomer: its drain fails, before any switch.
      sim.blockDrain('stuck-1');
      const failed = sim.addNode('stuck-1');
      expect(failed.map((f) => [f.node, f.code !== 0, /disruption budget/.test(f.log)])).toEqual([['stuck-1', true, true]]);
      expect(node().spec.unschedulable).toBe(true);
      expect(sim.loadedNetwork('stuck-1')).toBe('weave');
      expect(sim.apiObject('Lease', 'kube-system', 'cni-migrate-drain-lane-0').spec.holderIdentity).toBe('stuck-1');
      // git revert of nodes-1: the DaemonSet rolls to weave-first, which releases what the drain held.
      expect(applyAll(sim, engine, ['policies-suspended'])).toEqual([]);
      expect(node().spec.unschedulable).toBeFalsy();
      expect(node().metadata.annotations['cni-migrate.io/network']).toBe('weave');
      expect(sim.apiObject('Lease', 'kube-system', 'cni-migrate-drain-lane-0').spec.holderIdentity).toBe('');
      expect(sim.loadedNetwork('stuck-1')).toBe('weave');
    } finally {
      sim.dispose();
    }
  });

  it('leave Windows nodes and virtual kubelets alone', () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    try {
      expect(applyAll(sim, engine, upTo('nodes-1'))).toEqual([]);
      sim.addNode('win-1', { 'kubernetes.io/os': 'windows' });
      sim.addNode('vk-1', { type: 'virtual-kubelet' });
      expect(sim.runs.filter((r) => r.node === 'win-1' || r.node === 'vk-1')).toEqual([]);
      // The check can fail: a Linux newcomer does get the pod.
      sim.addNode('linux-1');
      expect(sim.runs.filter((r) => r.node === 'linux-1').length).toBe(1);
    } finally {
      sim.dispose();
    }
  });
});

describe('the newcomers DaemonSet in the output', () => {
  it('exists from calico until weave-removed, names every inventory node to stay off, and follows the step; then the one of all nodes takes over', () => {
    const seen: Record<string, string | undefined> = {};
    for (const step of STEPS) {
      const ds = readManifests(dists.get('argocd')!.get(step)!).find((m) => m.obj.kind === 'DaemonSet' && m.obj.metadata.name === 'cni-migrate-newcomer-switch')?.obj;
      seen[step] = ds?.metadata.labels['cni-migrate.io/desired'];
      if (!ds) continue;
      const term = ds.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0];
      expect(term.matchFields).toEqual([{ key: 'metadata.name', operator: 'NotIn', values: NODES.slice().sort() }]);
      // The pod is Ready only once every step ran: all of them are init containers.
      expect(ds.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['converged']);
    }
    expect(seen).toEqual({
      adopt: undefined, calico: 'weave-first', 'cluster-cidr': 'weave-first', 'policies-suspended': 'weave-first',
      'nodes-1': 'calico-first', 'nodes-2': 'calico-first', 'nodes-3': 'calico-first', 'nodes-4': 'calico-first', 'nodes-5': 'calico-first',
      'weave-removed': undefined, 'policies-restored': undefined, finalized: undefined,
    });
    const all = (step: string) => readManifests(dists.get('argocd')!.get(step)!).find((m) => m.obj.kind === 'DaemonSet' && m.obj.metadata.name === 'cni-migrate-switch-all')?.obj;
    expect(STEPS.map((step) => all(step)?.metadata.labels['cni-migrate.io/desired'])).toEqual([...Array(STEPS.indexOf('weave-removed')).fill(undefined), 'calico-first', 'calico-first', 'calico-native']);
    // Every Linux node that is not a virtual kubelet: no name list to keep up to date.
    expect(all('weave-removed').spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields).toBeUndefined();
  });
});

describe('a node that leaves mid-migration', () => {
  it('holds nothing back: its wave\'s step completes without it, and the inventory commit (snapshot --nodes-only) takes it out', async () => {
    const ws = demoWorkspace();
    const api = new FakeApiServer();
    const inv = YAML.parse(fs.readFileSync(path.join(ws.cluster, 'nodes.yaml'), 'utf8'));
    // The live cluster: the inventory's nodes without worker-3, which was deleted after nodes-1.
    api.setList('/api/v1/nodes', inv.nodes.filter((n: any) => n.name !== 'worker-3').map((n: any) => withServerFields({
      apiVersion: 'v1', kind: 'Node', metadata: { name: n.name, labels: Object.fromEntries(n.roles.map((r: string) => [`node-role.kubernetes.io/${r}`, ''])) },
      spec: { podCIDRs: n.podCIDRs }, status: { addresses: [{ type: 'InternalIP', address: n.internalIP }], nodeInfo: { containerRuntimeVersion: n.containerRuntime } },
    })));
    const kubeconfig = api.writeKubeconfig(ws.dir, await api.start());
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    try {
      expect(applyAll(sim, 'argocd', upTo('nodes-1'))).toEqual([]);
      sim.removeNode('worker-3');
      // nodes-2 as committed, worker-3 still in wave 2: its DaemonSet places no pod on a node that
      // does not exist, so nothing fails and nothing waits; worker-2 switches.
      const runsBefore = sim.runs.length;
      expect(sim.apply(dists.get('argocd')!.get('nodes-2')!)).toEqual([]);
      expect(sim.runs.slice(runsBefore).filter((r) => r.job === 'cni-migrate-switch-wave-2').map((r) => r.node)).toEqual(['worker-2']);
      expect(sim.loadedNetwork('worker-2')).toBe(CALICO);
      // The inventory commit, made by the command against the live nodes, on top of nodes-2.
      setStep(ws, 'nodes-2');
      const r = await runCompiledCli(['--config', ws.config, 'snapshot', '--kubeconfig', kubeconfig, '--nodes-only'], ws.dir);
      expect([r.code, r.stdout.split('\n')[0]]).toEqual([0, 'snapshot --nodes-only: at nodes-2: removed worker-3 (gone from the cluster); spec.nodes.waves written (pinned, so no node changes wave)']);
      const out = path.join(ws.dir, 'dist-reconciled');
      expect((await cli(ws, 'synth', '--out', out)).code).toBe(0);
      // The commit only drops worker-3 from wave 2's name list (and the newcomers' exclusions).
      expect(sim.apply(out)).toEqual([]);
      const wave2 = sim.liveObjects('DaemonSet').find((d: any) => d.metadata.name === 'cni-migrate-switch-wave-2');
      expect(wave2.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields).toEqual([{ key: 'metadata.name', operator: 'In', values: ['worker-2'] }]);
      for (const n of ['worker-1', 'worker-2']) expect(sim.loadedNetwork(n)).toBe(CALICO);
    } finally {
      sim.dispose();
      await api.stop();
    }
  });
});
