/**
 * The disruption budget (spec.nodes.maxConcurrentDrains) holds across a wave's pods running at
 * once: the drain and uncordon steps of the synthesized switch DaemonSets of a 12-node wave, run in parallel
 * with their real scripts against the stand-in API (whose Lease writes race as the API server's
 * optimistic concurrency makes them race), never have more nodes cordoned than the budget, also
 * when some drains are killed mid-drain (SIGKILL: no cleanup runs) and the kubelet retries them.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { containerScript, switchSetsByNode } from './support/jobs';
import { imageShell, toolRoot } from './support/image-tools';
import { cli, demoWorkspace, editConfig, readManifests, setStep } from './support/workspace';

const EXTRA = Array.from({ length: 9 }, (_, i) => `worker-x${i + 1}`);
const WAVE = ['worker-2', 'worker-3', 'worker-gpu-1', ...EXTRA];
const BUDGET = 3;

interface DrainJob {
  readonly node: string;
  readonly drain: { script: string; env: Record<string, string> };
  readonly uncordon: { script: string; env: Record<string, string> };
}

let jobs: DrainJob[];
/** The switch DaemonSet of each node of the wave. */
let setOf: Map<string, any>;
beforeAll(async () => {
  const ws = demoWorkspace();
  const inv = fs.readFileSync(`${ws.cluster}/nodes.yaml`, 'utf8');
  const extra = EXTRA.map((n, i) => `- {name: ${n}, roles: [], internalIP: 192.168.56.${100 + i}, podCIDRs: [10.32.${100 + i}.0/24], containerRuntime: 'containerd://1.7.24', cniConfigFiles: [10-weave.conflist]}`);
  fs.writeFileSync(`${ws.cluster}/nodes.yaml`, `${inv.trimEnd()}\n${extra.join('\n')}\n`);
  editConfig(ws, (d) => {
    delete d.spec.nodes.waveStrategy;
    d.spec.nodes.waves = [['worker-1'], WAVE, ['cp-1'], ['cp-2']];
    d.spec.nodes.maxConcurrentDrains = BUDGET;
  });
  setStep(ws, 'nodes-2');
  const r = await cli(ws, 'synth');
  expect(r).toMatchObject({ code: 0, stderr: '' });
  const objs = readManifests(ws.dist).filter((m) => m.file.startsWith('40-nodes/')).map((m) => m.obj);
  // NODE_NAME comes from the pod's spec.nodeName (the downward API): the node the pod runs on.
  const envOf = (c: any, node: string) => Object.fromEntries(c.env.map((e: any) => [e.name, e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName' ? node : e.value]));
  const sets = switchSetsByNode(objs, WAVE);
  setOf = new Map(WAVE.map((n) => [n, sets.get(n)!.find((ds) => ds.metadata.labels['cni-migrate.io/desired'] === 'calico-first')]));
  jobs = WAVE.map((node) => {
    const pod = setOf.get(node).spec.template.spec;
    const step = (name: string) => {
      const c = pod.initContainers.find((x: any) => x.name === name) ?? pod.containers.find((x: any) => x.name === name);
      return { script: containerScript(c, pod, objs), env: envOf(c, node) };
    };
    return { node, drain: step('drain'), uncordon: step('uncordon') };
  });
});

/** A stand-in API with the wave's nodes, and the order of cordons, uncordons and Lease writes. */
function apiStore(): string {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'drain-budget-'));
  for (const n of WAVE) fs.writeFileSync(path.join(store, `Node.default.${n}.json`), JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: n, annotations: {} }, spec: {} }));
  return store;
}

function run(store: string, node: string, step: { script: string; env: Record<string, string> }, extraEnv: Record<string, string> = {}): { done: Promise<number>; kill: () => void } {
  const root = toolRoot('kubectl');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `drain-${node}-`));
  fs.writeFileSync(path.join(tmp, 'verdict'), 'change');
  const [sh, ...args] = imageShell('kubectl', root);
  const child = spawn(sh, [...args, '-c', step.script], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...step.env, VERDICT_FILE: path.join(tmp, 'verdict'), TMPDIR: tmp, HOME: tmp, PATH: path.join(root, 'bin'), FAKE_KUBE_STORE: store, LANE_POLL_SECONDS: '0.5', FAKE_DRAIN_MS: '600', ...extraEnv },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(signal ? 137 : (code ?? 1))));
  return {
    done: done.then((c) => {
      if (c !== 0 && c !== 137) throw new Error(`${node}: exit ${c}: ${stderr}`);
      return c;
    }),
    kill: () => process.kill(-child.pid!, 'SIGKILL'),
  };
}

// Every stand-in kubectl call is a Node.js process: twelve drains polling at once load both cores,
// and more so beside the other test files in CI, so these runs get minutes, not jest's default.
jest.setTimeout(240_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const events = (store: string) => (fs.existsSync(path.join(store, 'events.log')) ? fs.readFileSync(path.join(store, 'events.log'), 'utf8').trim().split('\n') : []);

/** The most nodes cordoned at once, replaying the stand-in's log of cordons and uncordons. */
function peakCordoned(log: readonly string[]): number {
  const now = new Set<string>();
  let peak = 0;
  for (const e of log) {
    const [what, node] = e.split(' ');
    if (what === 'cordon') now.add(node);
    if (what === 'uncordon') now.delete(node);
    peak = Math.max(peak, now.size);
  }
  return peak;
}

/** One node's pod: drain (killed once after its cordon when `crashOnce`, then retried by the kubelet), the switch, uncordon. */
async function nodeJob(store: string, job: DrainJob, crashOnce: boolean): Promise<void> {
  if (crashOnce) {
    const first = run(store, job.node, job.drain);
    while (!events(store).includes(`cordon ${job.node}`)) await sleep(20);
    first.kill();
    expect(await first.done).toBe(137);
    await sleep(100); // the kubelet's back-off before it runs the init container again
  }
  await run(store, job.node, job.drain).done;
  await sleep(50); // the switch
  await run(store, job.node, job.uncordon).done;
}

describe('drain budget across a wave', () => {
  it('the wave is one DaemonSet whose rolling update replaces three pods at a time, and its pods share three lanes', () => {
    expect(new Set(WAVE.map((n) => setOf.get(n).metadata.name))).toEqual(new Set(['cni-migrate-switch-wave-2']));
    expect(setOf.get(WAVE[0]).spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(BUDGET);
    expect(jobs.map((j) => j.drain.env.DRAIN_LANES)).toEqual(WAVE.map(() => String(BUDGET)));
    expect(jobs.map((j) => j.uncordon.env.DRAIN_LANES)).toEqual(WAVE.map(() => String(BUDGET)));
    // A drain waits for a lane at most until another holder's Lease has expired.
    expect(jobs[WAVE.length - 1].drain.env.LANE_WAIT_SECONDS).toBe(String(1500 + 60));
  });

  // All 12 at once, not paced by the rolling update: what happens when a DaemonSet is created with
  // drains in it (a revert re-creating it), or when other sets' drains compete for the lanes.
  it(`12 nodes at once, budget ${BUDGET}: never more than ${BUDGET} cordoned, also when drains are killed and retried`, async () => {
    const store = apiStore();
    const crashed = new Set(['worker-2', 'worker-x4', 'worker-x8']);
    await Promise.all(jobs.map((j) => nodeJob(store, j, crashed.has(j.node))));
    const log = events(store);
    // Reaching the budget shows the lanes run in parallel, so the bound is not met by running one at a time.
    expect(peakCordoned(log)).toBe(BUDGET);
    for (const n of WAVE) {
      const node = JSON.parse(fs.readFileSync(path.join(store, `Node.default.${n}.json`), 'utf8'));
      expect([n, node.spec.unschedulable ?? false, node.metadata.annotations['cni-migrate.io/cordoned']]).toEqual([n, false, undefined]);
      // Every node took a lane and gave it back.
      expect(log.filter((e) => new RegExp(`^lease cni-migrate-drain-lane-[0-${BUDGET - 1}] ${n}$`).test(e)).length).toBeGreaterThan(0);
    }
    // And no other Lease was ever written.
    expect(log.filter((e) => e.startsWith('lease ') && !new RegExp(`^lease cni-migrate-drain-lane-[0-${BUDGET - 1}] `).test(e))).toEqual([]);
    for (let i = 0; i < BUDGET; i++) {
      expect(JSON.parse(fs.readFileSync(path.join(store, `Lease.kube-system.cni-migrate-drain-lane-${i}.json`), 'utf8')).spec.holderIdentity).toBe('');
    }
    // A killed drain's retry took its own lane back: the lane it held before the kill is the one
    // it holds after, and nobody else took that lane in between.
    for (const n of crashed) {
      const first = log.indexOf(`cordon ${n}`);
      const taken = log.slice(0, first).filter((e) => e.endsWith(` ${n}`) && e.startsWith('lease ')).pop()!;
      const lane = taken.split(' ')[1];
      const released = log.indexOf(`lease ${lane} -`, first);
      expect(released).toBeGreaterThan(first);
      expect(log.slice(first, released).filter((e) => e.startsWith(`lease ${lane} `) && e !== `lease ${lane} ${n}`)).toEqual([]);
    }
  });

  it('without the lanes (a budget as large as the wave), the same run cordons more than the budget at once', async () => {
    const store = apiStore();
    const lanes = String(WAVE.length);
    await Promise.all(jobs.map((j) => nodeJob(store, { ...j, drain: { ...j.drain, env: { ...j.drain.env, DRAIN_LANES: lanes } }, uncordon: { ...j.uncordon, env: { ...j.uncordon.env, DRAIN_LANES: lanes } } }, false)));
    expect(peakCordoned(events(store))).toBeGreaterThan(BUDGET);
  });

  it('a lane whose holder died is taken over once its Lease expires; a live holder makes the drain wait, then fail uncordoned', async () => {
    const store = apiStore();
    const lease = (holder: string, renewTime: string, seconds: number) =>
      JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'cni-migrate-drain-lane-0', namespace: 'kube-system', resourceVersion: '7' }, spec: { holderIdentity: holder, leaseDurationSeconds: seconds, renewTime } });
    const file = path.join(store, 'Lease.kube-system.cni-migrate-drain-lane-0.json');
    fs.writeFileSync(file, lease('gone-node', '2026-01-01T00:00:00.000000Z', 1500));
    // One lane, so the only way to drain is to take the expired one over.
    const j = jobs[0];
    await run(store, j.node, j.drain, { DRAIN_LANES: '1' }).done;
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).spec.holderIdentity).toBe(j.node);
    expect(events(store)).toContain(`cordon ${j.node}`);

    const store2 = apiStore();
    fs.writeFileSync(path.join(store2, 'Lease.kube-system.cni-migrate-drain-lane-0.json'), lease('worker-busy', new Date().toISOString().replace('Z', '000Z'), 1500));
    const waiting = run(store2, j.node, j.drain, { LANE_WAIT_SECONDS: '1', DRAIN_LANES: '1' });
    await expect(waiting.done).rejects.toThrow(/all 1 drain lane\(s\) still held \(lane 0 by worker-busy\) after 1s; not cordoned, not drained/);
    expect(events(store2).filter((e) => e.startsWith('cordon'))).toEqual([]);
  });
});
