/**
 * Node switches are safe to run twice. Every switch pod of every step runs again on nodes already
 * in that step's state (nodes rebooted or pods deleted, so the kubelet runs the init containers
 * again; a settings-only commit changed every pod template, so the rolling update replaced every
 * pod): the real node-switch.sh inspects the node's real folder first, and the drain steps, run
 * against the stand-in API, then neither cordon nor drain it, and every node ends uncordoned. A
 * node this tool cordoned is released by whichever switch converges it next, forward or back; a
 * node someone else cordoned is left cordoned.
 */
import * as fs from 'fs';
import * as path from 'path';
import { stepList } from '../src/steps/steps';
import { GitOpsSimulator } from './support/gitops-simulator';
import { cli, demoWorkspace, editConfig, setStep, type Workspace } from './support/workspace';

const WAVES = [['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1'], ['cp-2']];
const NODES = WAVES.flat().sort();
const STEPS = stepList(WAVES.length).map((s) => s.name);
/** The API calls that cordon or drain a node (the mark is set just before a cordon). */
const DISRUPTIVE = /^(drain|cordon) |^annotate node \S+ cni-migrate\.io\/cordoned=true/;

let ws: Workspace;
const dists = new Map<string, string>();
async function synth(step: string, tag = 'default'): Promise<string> {
  setStep(ws, step);
  const out = path.join(ws.dir, `dist-${tag}-${step}`);
  const r = await cli(ws, 'synth', '--out', out);
  expect(r).toMatchObject({ code: 0 });
  return out;
}
beforeAll(async () => {
  ws = demoWorkspace();
  for (const step of STEPS) dists.set(step, await synth(step));
});

const nodeObj = (sim: GitOpsSimulator, n: string) => sim.apiObject('Node', 'default', n);
const cordoned = (sim: GitOpsSimulator) => NODES.filter((n) => nodeObj(sim, n).spec.unschedulable);

describe('node switch pods run again on converged nodes', () => {
  it('every step, after every pod restarts: no cordon, drain or restart, and every node uncordoned', () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    try {
      for (const step of STEPS) {
        const before = sim.apiCalls().length;
        expect([step, sim.apply(dists.get(step)!).filter((r) => r.node !== '(gate)')]).toEqual([step, []]);
        const drained = sim.apiCalls().slice(before).filter((c) => c.startsWith('drain ')).map((c) => c.split(' ')[1]).sort();
        // The forward step drains exactly the wave it switches (a check that can fail).
        const wave = /^nodes-(\d+)$/.exec(step);
        expect([step, drained]).toEqual([step, wave ? [...WAVES[Number(wave[1]) - 1]].sort() : []]);
        // Every node rebooted (or its pods deleted), then the engine applying the same step again.
        const runsBefore = sim.runs.length;
        const callsBefore = sim.apiCalls().length;
        expect([step, sim.restartPods()]).toEqual([step, []]);
        expect([step, sim.apply(dists.get(step)!).filter((r) => r.node !== '(gate)')]).toEqual([step, []]);
        const rerun = sim.runs.slice(runsBefore).filter((r) => NODES.includes(r.node));
        expect(rerun.length).toBeGreaterThanOrEqual(step === 'adopt' ? 0 : NODES.length);
        expect([step, sim.apiCalls().slice(callsBefore).filter((c) => DISRUPTIVE.test(c))]).toEqual([step, []]);
        for (const r of rerun.filter((x) => /inspect/.test(x.log))) expect(r.log).toMatch(/inspect: converged/);
        expect([step, cordoned(sim)]).toEqual([step, []]);
      }
    } finally {
      sim.dispose();
    }
  });

  it('a settings-only commit at nodes-3 changes every switch pod template, and the new pods drain nothing', async () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    try {
      for (const step of STEPS.slice(0, STEPS.indexOf('nodes-3') + 1)) expect(sim.apply(dists.get(step)!).filter((r) => r.node !== '(gate)')).toEqual([]);
      const specs = new Map(sim.liveObjects('DaemonSet').map((d) => [d.metadata.name, JSON.stringify(d.spec.template)]));
      const runsBefore = sim.runs.length;
      editConfig(ws, (d) => (d.spec.images = { ...(d.spec.images ?? {}), kubectl: 'registry.example/mirror/kubectl:v1.33.1' }));
      const changed = await synth('nodes-3', 'settings');
      editConfig(ws, (d) => delete d.spec.images);
      const callsBefore = sim.apiCalls().length;
      expect(sim.apply(changed).filter((r) => r.node !== '(gate)')).toEqual([]);
      const changedSets = sim.liveObjects('DaemonSet').filter((d) => d.metadata.labels['app.kubernetes.io/component'] === 'node-switch' && specs.get(d.metadata.name) !== JSON.stringify(d.spec.template));
      expect(changedSets.length).toBeGreaterThan(0);
      // Every node's pod was replaced (and ran its steps again).
      expect([...new Set(sim.runs.slice(runsBefore).map((r) => r.node))].filter((n) => NODES.includes(n)).sort()).toEqual([...NODES].sort());
      expect(sim.apiCalls().slice(callsBefore).filter((c) => DISRUPTIVE.test(c))).toEqual([]);
      expect(cordoned(sim)).toEqual([]);
    } finally {
      sim.dispose();
    }
  });
});

describe('cordons this tool leaves are released; others are not', () => {
  it('a drain blocked by a PodDisruptionBudget fails with the node cordoned and marked; the revert uncordons it', () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    try {
      for (const step of STEPS.slice(0, STEPS.indexOf('policies-suspended') + 1)) sim.apply(dists.get(step)!);
      // Someone else cordoned cp-2 for maintenance: no step of this tool may undo that.
      sim.setNode('cp-2', { unschedulable: true });
      sim.blockDrain('worker-1');
      const failed = sim.apply(dists.get('nodes-1')!).filter((r) => r.node === 'worker-1');
      expect(failed).toHaveLength(1);
      expect(failed[0].code).not.toBe(0);
      expect(failed[0].log).toMatch(/disruption budget/);
      expect(nodeObj(sim, 'worker-1').spec.unschedulable).toBe(true);
      expect(nodeObj(sim, 'worker-1').metadata.annotations['cni-migrate.io/cordoned']).toBe('true');
      // The failed drain keeps its lane of the budget while its node stays cordoned.
      expect(sim.apiObject('Lease', 'kube-system', 'cni-migrate-drain-lane-0').spec.holderIdentity).toBe('worker-1');
      // Nothing switched: the drain came first.
      expect(sim.loadedNetwork('worker-1')).toBe('weave');
      // git revert of nodes-1: the wave's DaemonSet goes back to weave-first, and its rolling update
      // replaces worker-1's failing pod.
      expect(sim.apply(dists.get('policies-suspended')!).filter((r) => r.code !== 0 && r.node !== '(gate)')).toEqual([]);
      expect(nodeObj(sim, 'worker-1').spec.unschedulable).toBeFalsy();
      expect(nodeObj(sim, 'worker-1').metadata.annotations['cni-migrate.io/cordoned']).toBeUndefined();
      // The revert's weave-first pod gave the lane back, and recorded the node as on Weave (so the
      // next forward wave's room check counts it again).
      expect(sim.apiObject('Lease', 'kube-system', 'cni-migrate-drain-lane-0').spec.holderIdentity).toBe('');
      expect(nodeObj(sim, 'worker-1').metadata.annotations['cni-migrate.io/network']).toBe('weave');
      expect(nodeObj(sim, 'cp-2').spec.unschedulable).toBe(true);
      expect(sim.apiCalls().filter((c) => c.startsWith('uncordon cp-2'))).toEqual([]);
    } finally {
      sim.dispose();
    }
  });
});

describe('pods evicted from a wave prefer switched nodes', () => {
  it('nodes still on Weave carry cni-migrate.io/on-weave:PreferNoSchedule during the node phase only, and a revert takes it off', () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    const tainted = () => NODES.filter((n) => (nodeObj(sim, n).spec.taints ?? []).some((t: any) => t.key === 'cni-migrate.io/on-weave' && t.effect === 'PreferNoSchedule'));
    try {
      const seen: Record<string, string[]> = {};
      for (const step of [...STEPS.slice(0, STEPS.indexOf('weave-removed') + 1)]) {
        expect(sim.apply(dists.get(step)!).filter((r) => r.code !== 0 && r.node !== '(gate)')).toEqual([]);
        seen[step] = tainted();
      }
      expect(seen['policies-suspended']).toEqual([]);
      expect(seen['nodes-1']).toEqual(['cp-1', 'cp-2', 'worker-2', 'worker-3', 'worker-gpu-1']);
      expect(seen['nodes-2']).toEqual(['cp-1', 'cp-2', 'worker-gpu-1']);
      expect(seen['nodes-4']).toEqual(['cp-2']);
      expect(seen['nodes-5']).toEqual([]);
      expect(seen['weave-removed']).toEqual([]);
      // Back through the node phase to before it: the taint goes with it.
      for (const step of ['nodes-5', 'nodes-4', 'nodes-3', 'nodes-2', 'nodes-1', 'policies-suspended']) {
        expect(sim.apply(dists.get(step)!).filter((r) => r.code !== 0 && r.node !== '(gate)')).toEqual([]);
      }
      expect(tainted()).toEqual([]);
      expect(cordoned(sim)).toEqual([]);
    } finally {
      sim.dispose();
    }
  });
});
