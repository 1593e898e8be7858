/**
 * The drain-capacity gate (gate-drain-capacity.sh) against the stand-in API: node and pod objects
 * shaped as the API server returns them (allocatable in the kubelet's units, requests in every
 * quantity form, DaemonSet and mirror pods, init containers, overhead, finished pods), listed a
 * few objects a page. The boundaries are exact: free capacity equal to the need passes, one
 * millicore or one byte more fails.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { runScript } from './support/gitops-simulator';
import { cli, demoWorkspace, readManifests, setStep } from './support/workspace';

interface NodeSpec { cpu: string; memory: string; network?: string; unschedulable?: boolean; taint?: string; ready?: boolean; labels?: Record<string, string> }
interface PodSpec { node: string; cpu?: string; memory?: string; daemonSet?: boolean; mirror?: boolean; phase?: string; init?: { cpu?: string; memory?: string }; overhead?: { cpu?: string; memory?: string } }

function node(name: string, s: NodeSpec) {
  return {
    metadata: { name, annotations: s.network ? { 'cni-migrate.io/network': s.network } : {}, labels: { 'kubernetes.io/hostname': name, ...s.labels } },
    spec: { podCIDR: '10.32.0.0/24', ...(s.unschedulable ? { unschedulable: true } : {}), ...(s.taint ? { taints: [{ key: 'k', effect: s.taint }] } : {}) },
    status: {
      // The kubelet reports allocatable CPU in cores or millicores and memory in Ki.
      capacity: { cpu: '4', memory: '16393216Ki', pods: '110' },
      allocatable: { cpu: s.cpu, memory: s.memory, pods: '110', 'ephemeral-storage': '47093746742' },
      conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: s.ready === false ? 'Unknown' : 'True' }],
      images: [{ names: ['registry.k8s.io/pause:3.9'], sizeBytes: 321520 }],
    },
  };
}

let seq = 0;
function pod(s: PodSpec) {
  const name = `p${++seq}`;
  const requests = (r: { cpu?: string; memory?: string } = {}) => ({ requests: { ...(r.cpu ? { cpu: r.cpu } : {}), ...(r.memory ? { memory: r.memory } : {}) } });
  return {
    metadata: {
      name, namespace: 'shop',
      annotations: s.mirror ? { 'kubernetes.io/config.mirror': 'abc' } : {},
      ownerReferences: s.daemonSet ? [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u', controller: true }] : [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'u', controller: true }],
    },
    spec: {
      nodeName: s.node,
      containers: [{ name: 'app', image: 'app:1', resources: requests(s) }, { name: 'side', image: 'side:1', resources: {} }],
      ...(s.init ? { initContainers: [{ name: 'init', image: 'init:1', resources: requests(s.init) }] } : {}),
      ...(s.overhead ? { overhead: s.overhead } : {}),
    },
    status: { phase: s.phase ?? 'Running', podIP: '10.32.0.9' },
  };
}

function gate(nodes: Record<string, NodeSpec>, pods: PodSpec[], wave: string[], lanes: number) {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-'));
  fs.writeFileSync(path.join(store, 'NodeList.json'), JSON.stringify({ items: Object.entries(nodes).map(([n, s]) => node(n, s)) }));
  fs.writeFileSync(path.join(store, 'PodList.json'), JSON.stringify({ items: pods.map(pod) }));
  fs.writeFileSync(path.join(store, 'wave'), `${wave.join('\n')}\n`);
  return runScript(readScript('gate-drain-capacity.sh'), { WORK_DIR: store, FAKE_KUBE_STORE: store, WAVE_NODES_FILE: path.join(store, 'wave'), LANES: String(lanes), FAKE_PAGE_CAP: '3' }, undefined, 'kubectl');
}

describe('gate-drain-capacity.sh', () => {
  // w1 and w2 are the wave; h1 and h2 can take pods. h1: 4 CPU, 8 GiB allocatable, 1.5 CPU and
  // 2 GiB requested; h2: 2 CPU, 4 GiB, nothing requested. Free: 4.5 CPU, 10 GiB.
  const nodes: Record<string, NodeSpec> = {
    w1: { cpu: '4', memory: '8Gi', network: 'weave' },
    w2: { cpu: '4', memory: '8Gi' },
    h1: { cpu: '4000m', memory: '8388608Ki' },
    h2: { cpu: '2', memory: '4Gi', network: 'calico' },
  };
  const hostPods: PodSpec[] = [
    { node: 'h1', cpu: '500m', memory: '1Gi' },
    { node: 'h1', cpu: '0.5', memory: '512Mi', daemonSet: true },
    // max(sum of containers 0.2, init 0.5) + overhead 0.0: requests follow the scheduler's rule.
    { node: 'h1', cpu: '200m', memory: '256Mi', init: { cpu: '500m', memory: '512Mi' } },
    // Finished pods hold nothing, whatever their spec says.
    { node: 'h2', cpu: '2', memory: '4Gi', phase: 'Succeeded' },
  ];

  it('passes when the other schedulable nodes have exactly the room the busiest nodes to drain need, and fails one millicore past it', () => {
    // w1 evicts 4.5 CPU (a DaemonSet pod and a static pod stay) and 4 GiB + 1 GiB + 10^9 bytes;
    // w2 evicts less.
    const w1: PodSpec[] = [
      { node: 'w1', cpu: '2', memory: '4Gi' },
      { node: 'w1', cpu: '2', memory: '1073741824', overhead: { cpu: '250m', memory: '0' } },
      { node: 'w1', cpu: '250m', memory: '1e9', init: { cpu: '100m' } },
      { node: 'w1', cpu: '1', memory: '1Gi', daemonSet: true },
      { node: 'w1', cpu: '1', memory: '1Gi', mirror: true },
    ];
    const fits = gate(nodes, [...hostPods, ...w1, { node: 'w2', cpu: '100m', memory: '128Mi' }], ['w1', 'w2'], 1);
    expect(fits.log).toMatch(/room for the wave's drains: the 1 of the wave's 2 node\(s\) still to drain with the most to evict hold 4\.5 CPU and 5\.9 GiB of pod requests; the 2 other schedulable node\(s\) have 4\.5 CPU and 10\.0 GiB free/);
    expect(fits.code).toBe(0);
    const over = gate(nodes, [...hostPods, ...w1.map((p, i) => (i === 2 ? { ...p, cpu: '251m' } : p)), { node: 'w2', cpu: '100m', memory: '128Mi' }], ['w1', 'w2'], 1);
    expect(over.code).toBe(1);
    expect(over.log).toMatch(/not enough room for the wave's drains: .* hold 4\.5 CPU .* have 4\.5 CPU and 10\.0 GiB free\. Lower spec\.nodes\.maxConcurrentDrains/);
  });

  it('counts as many of the busiest nodes as drain at once, and no unschedulable, tainted or NotReady node as room', () => {
    const pods: PodSpec[] = [...hostPods, { node: 'w1', cpu: '1500m', memory: '512Mi' }, { node: 'w1', cpu: '1.5', memory: '512Mi' }, { node: 'w2', cpu: '2', memory: '1Gi' }];
    expect(gate(nodes, pods, ['w1', 'w2'], 1).code).toBe(0);
    // Two lanes: 5 CPU to place, 4.5 free.
    const two = gate(nodes, pods, ['w1', 'w2'], 2);
    expect(two.code).toBe(1);
    expect(two.log).toMatch(/the 2 of the wave's 2 node\(s\) .* hold 5\.0 CPU/);
    const windows = { labels: { 'kubernetes.io/os': 'windows' } };
    const virtual = { labels: { 'kubernetes.io/os': 'linux', type: 'virtual-kubelet' } };
    for (const bad of [{ unschedulable: true }, { taint: 'NoSchedule' }, { taint: 'NoExecute' }, { ready: false }, windows, virtual]) {
      const r = gate({ ...nodes, h1: { ...nodes.h1, ...bad } }, pods, ['w1', 'w2'], 1);
      expect([bad, r.code]).toEqual([bad, 1]);
      expect(r.log).toMatch(/the 1 other schedulable node\(s\) have 2\.0 CPU/);
    }
    // PreferNoSchedule (this tool's on-weave taint) only steers: the node still takes pods.
    expect(gate({ ...nodes, h1: { ...nodes.h1, taint: 'PreferNoSchedule' } }, pods, ['w1', 'w2'], 1).code).toBe(0);
  });

  it('fails when the largest pod to evict fits on no single node, even with room in total', () => {
    const r = gate(nodes, [...hostPods, { node: 'w1', cpu: '3', memory: '1Gi' }], ['w1', 'w2'], 1);
    expect(r.code).toBe(1);
    expect(r.log).toMatch(/the largest pod to evict \(3\.0 CPU, 1\.0 GiB\) or the one with the most memory \(3\.0 CPU, 1\.0 GiB\) fits on no other schedulable node/);
  });

  it('leaves out nodes of the wave already on Calico (a revert to this wave drains nothing), and a wave node no longer in the cluster', () => {
    const onCalico = { ...nodes, w1: { ...nodes.w1, network: 'calico' }, w2: { ...nodes.w2, network: 'calico' } };
    const r = gate(onCalico, [...hostPods, { node: 'w1', cpu: '30', memory: '1Gi' }], ['w1', 'w2', 'gone-node'], 1);
    expect(r).toMatchObject({ code: 0 });
    expect(r.log).toMatch(/no node of the wave is waiting to be drained/);
  });

  it('fails closed, naming the value, on a quantity it cannot read', () => {
    const r = gate(nodes, [...hostPods, { node: 'w1', cpu: '2 cores' }], ['w1'], 1);
    expect(r.code).not.toBe(0);
    expect(r.log).toMatch(/not a quantity: 2 cores/);
  });
});

describe('the drain-capacity gate in the synthesized steps', () => {
  it('a node step with drains on checks the wave with its lanes; the wave\'s names travel in a ConfigMap', async () => {
    const ws = demoWorkspace();
    setStep(ws, 'nodes-2');
    const r = await cli(ws, 'synth');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const objs = readManifests(ws.dist).filter((m) => m.file.startsWith('00-gate/')).map((m) => m.obj);
    const job = objs.find((o) => o.kind === 'Job' && o.metadata.labels['app.kubernetes.io/component'] === 'gate');
    const c = job.spec.template.spec.containers.find((x: any) => x.name === 'drain-capacity');
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'WAVE_NODES_FILE', value: '/cni-migrate/wave/nodes' }, { name: 'LANES', value: '1' }]));
    const vol = job.spec.template.spec.volumes.find((v: any) => v.name === 'wave-nodes');
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name);
    expect(cm.data.nodes.trim().split('\n')).toEqual(expect.arrayContaining(['worker-2']));
    expect(objs.find((o) => o.kind === 'ClusterRole').rules).toEqual([{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['list'] }]);
    // Argo CD: a PreSync hook like the rest of the gate, so it exists when the Job runs.
    expect(cm.metadata.annotations['argocd.argoproj.io/hook']).toBe('PreSync');
    expect(fs.readFileSync(path.join(ws.dist, 'PLAN.md'), 'utf8')).toMatch(/room \(allocatable minus requests\) for the pods of the 1 node\(s\) of wave 2/);
  });
});
