/**
 * Issue 12's matrix: for both engines, every adjacent pair of steps, forward and back, with one
 * fault at a time, applied as the engine applies a commit (GitOpsSimulator.applyAs: Argo CD's
 * PreSync gate, sync waves with ApplyOutOfSyncOnly, pruning inside the waves in reverse wave
 * order and the PostSync hook; Flux's
 * Kustomization per layer with dependsOn, wait and per-layer pruning). For each run:
 * - a target the fault does not touch is reached, with every node on the network a clean walk
 *   has there; a revert is held by calico-node's health only where its target has pods of both
 *   networks (which need calico-node on every node) and on a node it does not take off Calico;
 * - a run that stops is stopped by a gate or a layer that names the fault, PLAN.md of the target
 *   step says how to recover, and doing what it says (fix the cause, retry the Job or let the
 *   kubelet retry the pod, sync again) reaches the target;
 * - at every moment, with one workload pod per node that keeps its IP until a drain evicts it: no
 *   node without a network, Calico's CRDs and calico-node live while a pod has a Calico IP, Weave
 *   live while a pod has a Weave IP, and no NetworkPolicy while pods of both networks run.
 * A revert whose target is unsafe (pods left on Calico by a reverted wave, before the policies'
 * suspension) is refused by the target's gate naming the pods, and goes through once they restart.
 * A commit that changes settings only is applied at every step and changes no node's network.
 */
import * as fs from 'fs';
import * as path from 'path';
import { stepList } from '../src/steps/steps';
import { GitOpsSimulator, type EngineApply } from './support/gitops-simulator';
import { cli, demoWorkspace, editConfig, setStep } from './support/workspace';

const WAVES = [['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1'], ['cp-2']];
const NODES = WAVES.flat().sort();
const STEPS = stepList(WAVES.length).map((s) => s.name);
const CALICO = 'k8s-pod-network';
/** The node every fault is put on: wave 3, alone in its wave (a drain stuck on a PodDisruptionBudget keeps its drain lane, which the others of its wave would wait for: the simulator runs pods one after the other). */
const FAULTY = 'worker-gpu-1';
type Engine = 'argocd' | 'flux';
type Fault = 'none' | 'calico-node NotReady' | 'drain blocked' | 'a pod fails once' | 'janitor deleted completed Jobs';
const FAULTS: readonly Fault[] = ['none', 'calico-node NotReady', 'drain blocked', 'a pod fails once', 'janitor deleted completed Jobs'];

/** Per engine: each step's dist/, and the same step with a settings-only change. */
const dists = new Map<Engine, { step: Map<string, string>; settings: Map<string, string> }>();
beforeAll(async () => {
  for (const engine of ['argocd', 'flux'] as const) {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops.engine = engine));
    const step = new Map<string, string>();
    const settings = new Map<string, string>();
    for (const [map, tag] of [[step, 'step'], [settings, 'settings']] as const) {
      // A settings-only commit: a longer drain timeout changes every node DaemonSet's pod template.
      if (tag === 'settings') editConfig(ws, (d) => (d.spec.nodes.drainTimeoutSeconds = 900));
      for (const s of STEPS) {
        setStep(ws, s);
        const out = path.join(ws.dir, `dist-${tag}-${s}`);
        const r = await cli(ws, 'synth', '--out', out);
        expect([s, r.code, r.stderr]).toEqual([s, 0, '']);
        map.set(s, out);
      }
    }
    dists.set(engine, { step, settings });
  }
}, 240000);

const networks = (sim: GitOpsSimulator) => Object.fromEntries(NODES.map((n) => [n, sim.loadedNetwork(n)]));

/**
 * The invariants that hold at every moment, whatever the fault, about the pods that run (one
 * workload pod per node, which keeps its IP until a drain evicts it: GitOpsSimulator.workloads);
 * returns what is violated.
 */
function violations(sim: GitOpsSimulator): string[] {
  const nets = NODES.map((n) => sim.loadedNetwork(n));
  const out = nets.filter((n) => n !== CALICO && n !== 'weave').map((n) => `a node loads ${n}`);
  const pods = [...sim.workloads.values()];
  if (pods.includes(CALICO) && !sim.liveObjects('CustomResourceDefinition').some((c) => c.metadata.name === 'ippools.crd.projectcalico.org')) out.push('a pod has a Calico IP and Calico\'s CRDs (its IP pools) are gone');
  if (pods.includes(CALICO) && !sim.liveObjects('DaemonSet').some((d) => d.metadata.name === 'calico-node')) out.push('a pod has a Calico IP and calico-node is gone');
  if (pods.includes('weave') && !sim.liveObjects('DaemonSet').some((d) => d.metadata.name === 'weave-net')) out.push('a pod has a Weave IP and Weave is gone');
  if (pods.includes(CALICO) && pods.includes('weave') && sim.liveObjects('NetworkPolicy').length > 0) out.push('NetworkPolicies are in force while pods of both networks run');
  return out;
}

function inject(sim: GitOpsSimulator, fault: Fault): void {
  if (fault === 'calico-node NotReady') sim.calicoNotReady.add(FAULTY);
  if (fault === 'drain blocked') sim.blockDrain(FAULTY);
  if (fault === 'a pod fails once') sim.failNextRun('');
  if (fault === 'janitor deleted completed Jobs') sim.deleteCompletedJobs();
}

/** What PLAN.md says to do, after the cause is fixed: retry failed Jobs and pods, sync again. */
function recover(sim: GitOpsSimulator, engine: Engine, fault: Fault, dist: string): EngineApply {
  if (fault === 'calico-node NotReady') sim.calicoNotReady.delete(FAULTY);
  if (fault === 'drain blocked') sim.unblockDrain(FAULTY);
  sim.deleteFailedJobs();
  sim.retryFailedPods();
  return sim.applyAs(engine, dist);
}

const stopped = (r: EngineApply) => !!r.refused || !!r.waitingAt;
const why = (r: EngineApply) => [r.refused?.log ?? '', ...(r.waitingAt?.unhealthy ?? []), ...r.failed.map((f) => `${f.job} on ${f.node}: ${f.log}`)].join('\n');

describe.each(['argocd', 'flux'] as const)('every adjacent pair of steps, forward and back, one fault at a time (%s)', (engine) => {
  /** The cluster after a clean walk to each step, and each node's network there. */
  const at = new Map<string, GitOpsSimulator>();
  const reference = new Map<string, Record<string, string>>();
  beforeAll(() => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true, workloads: true });
    for (const s of STEPS) {
      const r = sim.applyAs(engine, dists.get(engine)!.step.get(s)!);
      expect([s, why(r), stopped(r)]).toEqual([s, '', false]);
      expect([s, violations(sim)]).toEqual([s, []]);
      at.set(s, sim.fork());
      reference.set(s, networks(sim));
    }
    sim.dispose();
  }, 600000);
  afterAll(() => {
    for (const s of at.values()) s.dispose();
  });

  const transitions = STEPS.slice(1).flatMap((s, i) => [[STEPS[i], s], [s, STEPS[i]]]);
  const results: string[] = [];
  afterAll(() => {
    // The matrix as run, for the record (one line per cell).
    fs.writeFileSync(path.join(require('os').tmpdir(), `cni-migrate-engine-matrix-${engine}.txt`), `${results.join('\n')}\n`);
  });

  it.each(transitions)('%s → %s', (from, to) => {
    const dist = dists.get(engine)!.step.get(to)!;
    const plan = fs.readFileSync(path.join(dist, 'PLAN.md'), 'utf8');
    const revert = STEPS.indexOf(to) < STEPS.indexOf(from);
    for (const fault of FAULTS) {
      const sim = at.get(from)!.fork();
      try {
        inject(sim, fault);
        let r = sim.applyAs(engine, dist);
        const cell = `${from} → ${to}, ${fault}`;
        expect([cell, violations(sim)]).toEqual([cell, []]);
        if (stopped(r)) {
          // Stopped: by the fault, named; with PLAN.md saying what to do; and what it says works.
          expect([cell, fault]).not.toEqual([cell, 'none']);
          expect([cell, fault]).not.toEqual([cell, 'janitor deleted completed Jobs']);
          expect([cell, why(r)]).toEqual([cell, expect.stringMatching(fault === 'a pod fails once' ? /injected: the pod of .* failed once/ : new RegExp(FAULTY))]);
          if (fault === 'drain blocked') expect([cell, why(r)]).toEqual([cell, expect.stringMatching(/disruption budget/i)]);
          expect([cell, plan.includes('## If this step is stuck')]).toEqual([cell, true]);
          // A revert is held by calico-node's health only where its target runs pods of both
          // networks (which need calico-node everywhere) and on a node it does not take off Calico.
          if (revert && fault === 'calico-node NotReady') {
            expect([cell, Object.values(reference.get(to)!).includes(CALICO), reference.get(to)![FAULTY] === reference.get(from)![FAULTY]]).toEqual([cell, true, true]);
          }
          results.push(`${engine} ${cell}: stopped at ${r.refused ? 'the gate' : r.waitingAt!.layer}, recovered`);
          if (engine === 'argocd') {
            // The same commit synced again with the cause still there: Argo CD's own retries of a
            // failed operation (syncPolicy.retry, limit 5), or a sync started again after
            // `terminate-op` ended one that waited. A retry starts the sync afresh (argo-cd
            // controller/appcontroller.go processRequestedAppOperation: `state.SyncResult = nil`,
            // so gitops-engine's sync context has no results and creates the PreSync gate again),
            // and ApplyOutOfSyncOnly skips what is unchanged, the stuck DaemonSet or failed Job
            // too; the kubelet retries failed pods of DaemonSets in between. None of these syncs
            // may end Succeeded before the step is reached (the PostSync hook step-healthy.sh
            // sees what the sync skipped; without it, nodes-2 → nodes-3 with a blocked drain
            // ended Succeeded with worker-gpu-1 still on Weave).
            const retried = sim.fork();
            try {
              for (let attempt = 1; attempt <= 5; attempt++) {
                retried.retryFailedPods();
                const rr = retried.applyAs(engine, dist);
                expect([cell, attempt, violations(retried)]).toEqual([cell, attempt, []]);
                if (!stopped(rr)) expect([cell, attempt, networks(retried)]).toEqual([cell, attempt, reference.get(to)]);
              }
            } finally {
              retried.dispose();
            }
          }
          r = recover(sim, engine, fault, dist);
          expect([cell, violations(sim)]).toEqual([cell, []]);
        } else {
          results.push(`${engine} ${cell}: reached`);
        }
        expect([cell, why(r), stopped(r)]).toEqual([cell, '', false]);
        expect([cell, networks(sim)]).toEqual([cell, reference.get(to)]);
      } finally {
        sim.dispose();
      }
    }
  }, 600000);

  // From each state as a revert leaves it (the reverted wave's pods keep their Calico IPs: no
  // drain on the way back), one step further back: the target is reached when it is safe for the
  // pods that run, and refused by its gate naming them when it is not; restarting the pods it
  // names (what the gate's message says) lets the same sync through.
  const revertsFromReverted = transitions.filter(([from, to]) => STEPS.indexOf(to) < STEPS.indexOf(from) && STEPS.indexOf(from) < STEPS.length - 1);
  it.each(revertsFromReverted)('%s as a revert leaves it → %s', (from, to) => {
    const dist = (s: string) => dists.get(engine)!.step.get(s)!;
    const sim = at.get(STEPS[STEPS.indexOf(from) + 1])!.fork();
    try {
      let r = sim.applyAs(engine, dist(from));
      expect([from, why(r), stopped(r), violations(sim)]).toEqual([from, '', false, []]);
      const pods = new Set(sim.workloads.values());
      const target = at.get(to)!;
      const has = (kind: string, name: string) => target.liveObjects(kind).some((o) => o.metadata.name === name);
      const unsafe = (pods.has(CALICO) && pods.has('weave') && target.liveObjects('NetworkPolicy').length > 0)
        || (pods.has(CALICO) && !has('DaemonSet', 'calico-node')) || (pods.has('weave') && !has('DaemonSet', 'weave-net'));
      r = sim.applyAs(engine, dist(to));
      expect(violations(sim)).toEqual([]);
      results.push(`${engine} ${from} (as a revert leaves it) → ${to}: ${unsafe ? 'refused by the gate, recovered' : 'reached'}`);
      if (unsafe) {
        expect([!!r.refused, why(r)]).toEqual([true, expect.stringMatching(/shop\/app-\S+ node=/)]);
        sim.restartWorkloads(...[...why(r).matchAll(/shop\/app-\S+ node=(\S+)/g)].map((m) => m[1]));
        r = recover(sim, engine, 'none', dist(to));
      }
      expect([why(r), stopped(r), networks(sim), violations(sim)]).toEqual(['', false, reference.get(to), []]);
    } finally {
      sim.dispose();
    }
  }, 600000);

  it('a revert whose target is unsafe is refused by its gate, naming the pods; restarted on Weave, they let it through', () => {
    const sim = at.get('nodes-1')!.fork();
    const dist = (s: string) => dists.get(engine)!.step.get(s)!;
    try {
      // Reverting the wave takes worker-1 back to Weave without a drain: its pod keeps its Calico IP.
      let r = sim.applyAs(engine, dist('policies-suspended'));
      expect([why(r), stopped(r), sim.workloads.get('worker-1'), violations(sim)]).toEqual(['', false, CALICO, []]);
      // The state before the policies' suspension is unsafe with that pod: its gate refuses the
      // revert naming the pod, and nothing of the step applies (the policies stay out).
      r = sim.applyAs(engine, dist('cluster-cidr'));
      expect(stopped(r)).toBe(true);
      expect(why(r)).toMatch(/have an IP in the Calico CIDR 10\.48\.0\.0\/12[^]*shop\/app-worker-1 node=worker-1 ip=10\.48\./);
      expect([sim.liveObjects('NetworkPolicy'), violations(sim)]).toEqual([[], []]);
      // PLAN.md of the target says what to do for a refused gate; the pod restarted on Weave (as
      // the gate's message says), the same sync goes through and the policies come back.
      expect(fs.readFileSync(path.join(dist('cluster-cidr'), 'PLAN.md'), 'utf8')).toContain('## If this step is stuck');
      sim.restartWorkloads('worker-1');
      r = recover(sim, engine, 'none', dist('cluster-cidr'));
      expect([why(r), stopped(r), sim.workloads.get('worker-1'), sim.liveObjects('NetworkPolicy').length, violations(sim)]).toEqual(['', false, 'weave', 12, []]);
    } finally {
      sim.dispose();
    }
  });

  it('a wave stuck on a blocked drain is reverted with the drain still blocked: the revert reaches its target and its sync ends', () => {
    const sim = at.get('nodes-2')!.fork();
    const dist = (s: string) => dists.get(engine)!.step.get(s)!;
    try {
      sim.blockDrain(FAULTY);
      let r = sim.applyAs(engine, dist('nodes-3'));
      expect([stopped(r), why(r)]).toEqual([true, expect.stringMatching(new RegExp(`${FAULTY}[^]*disruption budget`, 'i'))]);
      expect(violations(sim)).toEqual([]);
      // The failed drain leaves its node cordoned (kubectl drain cordons first).
      expect(sim.apiObject('Node', 'default', FAULTY).spec.unschedulable).toBe(true);
      // The operator reverts now, the PodDisruptionBudget unchanged: nothing of what the revert
      // leaves (the stuck drain) holds it, Argo CD's PostSync hook included.
      r = sim.applyAs(engine, dist('nodes-2'));
      expect([why(r), stopped(r), networks(sim), violations(sim)]).toEqual(['', false, reference.get('nodes-2'), []]);
      // The revert's switch of that node lifts the cordon.
      expect(sim.apiObject('Node', 'default', FAULTY).spec.unschedulable ?? false).toBe(false);
    } finally {
      sim.dispose();
    }
  });

  it('drift at a node step is put back without running the gate (Argo CD\'s self-heal skips hooks; Flux keeps its Complete gate Job), moving no node or pod', () => {
    const sim = at.get('nodes-2')!.fork();
    try {
      // The gate would refuse now (calico-node NotReady on worker-1, of a switched wave); drift
      // correction of the same revision must not need it.
      sim.calicoNotReady.add('worker-1');
      const before = { nets: networks(sim), pods: new Map(sim.workloads) };
      const gateRuns = () => sim.runs.filter((x) => x.node === '(gate)').length;
      const gatesBefore = gateRuns();
      sim.deleteLive('DaemonSet', 'cni-migrate-switch-wave-2');
      const r = sim.applyAs(engine, dists.get(engine)!.step.get('nodes-2')!, { selfHeal: true });
      expect([why(r), stopped(r), gateRuns() - gatesBefore]).toEqual(['', false, 0]);
      expect(sim.liveObjects('DaemonSet').map((d) => d.metadata.name)).toContain('cni-migrate-switch-wave-2');
      // Which is what a new commit (a full sync) could not do: its gate refuses.
      const full = sim.fork();
      try {
        full.deleteLive('Job', sim.liveObjects('Job').find((j) => j.metadata.labels?.['app.kubernetes.io/component'] === 'gate')?.metadata.name ?? '-');
        const refused = full.applyAs(engine, dists.get(engine)!.step.get('nodes-2')!);
        expect([!!refused.refused, why(refused)]).toEqual([true, expect.stringMatching(/worker-1/)]);
      } finally {
        full.dispose();
      }
      expect([networks(sim), sim.workloads, violations(sim)]).toEqual([before.nets, before.pods, []]);
    } finally {
      sim.dispose();
    }
  });

  it.each(STEPS)('a settings-only commit at %s is applied and moves no node', (step) => {
    const sim = at.get(step)!.fork();
    try {
      const r = sim.applyAs(engine, dists.get(engine)!.settings.get(step)!);
      expect([step, why(r), stopped(r)]).toEqual([step, '', false]);
      expect([step, violations(sim)]).toEqual([step, []]);
      expect([step, networks(sim)]).toEqual([step, reference.get(step)]);
    } finally {
      sim.dispose();
    }
  }, 600000);
});
