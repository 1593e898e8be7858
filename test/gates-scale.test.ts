/**
 * The gates on a cluster of 5,000 nodes and 150,000 pods, with the real kubectl (Debian's
 * package) against the recorded-response API server, each inside a memory cgroup limited as its
 * container is (128 MiB): they page through the lists and answer correctly within that limit.
 * The old gates (`kubectl get pods -A -o json` into a file, then jq over the whole) were killed
 * near 3,000 pods.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { FakeApiServer } from './support/fake-apiserver';
import { REAL_KUBECTL, runInKubectlImageAsync } from './support/image-tools';
import { requirePeer } from './support/peers';

const NODES = 5000;
const PODS = 150000;
/** The memory limit of the gate's containers (scriptResources('128Mi') in job-containers.ts). */
const LIMIT_BYTES = 128 * 1024 * 1024;
const CGROUP_ROOT = '/sys/fs/cgroup/memory';

/** A cgroup v1 memory folder limited to LIMIT_BYTES (swap included), or undefined where none can be made. */
function memoryCgroup(name: string): string | undefined {
  const dir = path.join(CGROUP_ROOT, `cni-migrate-${name}-${process.pid}`);
  try {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(LIMIT_BYTES));
    if (fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) fs.writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(LIMIT_BYTES));
    return dir;
  } catch {
    return undefined;
  }
}

const ready = [{ type: 'Initialized', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' }, { type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:05Z' }, { type: 'ContainersReady', status: 'True', lastTransitionTime: '2024-05-01T10:00:05Z' }, { type: 'PodScheduled', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' }];
const notReady = ready.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' } : c));
// What the API server returns for an ordinary Deployment pod (about 3 KB of JSON): the parts that
// make a pod list heavy, shared between pods here so the test itself stays small.
const podMeta = {
  labels: { app: 'shop', 'pod-template-hash': '7d9c8b6f5' },
  annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
  ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'shop-7d9c8b6f5', uid: '6f1c2b9e-0c1d-4d7e-9a3b-2f6e8d1c0a9b', controller: true, blockOwnerDeletion: true }],
  managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': { '.': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {} } }, 'f:dnsPolicy': {}, 'f:restartPolicy': {} } } }, { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2024-05-01T10:00:05Z', fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:phase': {}, 'f:podIP': {}, 'f:podIPs': {}, 'f:startTime': {} } } }],
};
const podSpec = { containers: [{ name: 'app', image: 'registry.example/shop/app:1.42.0', ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } }, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', serviceAccountName: 'default', securityContext: {}, schedulerName: 'default-scheduler', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }], priority: 0, enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority' };
const containerStatuses = [{ name: 'app', state: { running: { startedAt: '2024-05-01T10:00:04Z' } }, lastState: {}, ready: true, restartCount: 0, image: 'registry.example/shop/app:1.42.0', imageID: 'registry.example/shop/app@sha256:4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b', containerID: 'containerd://9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e', started: true }];

const node = (i: number) => `node-${String(i).padStart(4, '0')}`;
const ip = (base: number, n: number) => `10.${base + ((n >> 16) & 15)}.${(n >> 8) & 255}.${n & 255}`;
function pod(namespace: string, name: string, nodeName: string, podIP: string, conditions = ready, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { ...podMeta, namespace, name, uid: `00000000-0000-0000-0000-${name.length}`, resourceVersion: '123456', creationTimestamp: '2024-05-01T10:00:00Z', ...extra },
    spec: { ...podSpec, nodeName },
    status: { phase: 'Running', conditions, hostIP: '172.16.0.10', podIP, podIPs: [{ ip: podIP }], startTime: '2024-05-01T10:00:00Z', qosClass: 'Burstable', containerStatuses },
  };
}

describe('the gates at 5,000 nodes and 150,000 pods, real kubectl, 128 MiB', () => {
  const api = new FakeApiServer();
  let work = '';
  let kubeconfig = '';
  const run = async (script: string, env: Record<string, string>, name: string) => {
    const cgroup = memoryCgroup(name);
    requirePeer(cgroup !== undefined, 'a writable cgroup v1 memory controller (root)', 'the gates\' memory bound');
    const wd = fs.mkdtempSync(path.join(work, `${name}-`));
    try {
      const r = await runInKubectlImageAsync(script.endsWith('.sh') ? readScript(script) : script, { KUBECONFIG: kubeconfig, HOME: wd, WORK_DIR: wd, ...env }, cgroup);
      const peak = cgroup ? Number(fs.readFileSync(path.join(cgroup, 'memory.max_usage_in_bytes'), 'utf8')) : undefined;
      process.stderr.write(`${name}: exit ${r.code}, peak memory ${peak === undefined ? 'not measured' : `${(peak / 1048576).toFixed(1)} MiB`} (limit 128 MiB)\n`);
      return { ...r, peak };
    } finally {
      if (cgroup) fs.rmdirSync(cgroup);
    }
  };

  beforeAll(async () => {
    if (!requirePeer(REAL_KUBECTL !== undefined, 'kubectl (Debian package kubernetes-client)', 'the gates at scale')) return;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'gates-scale-'));
    const pods: object[] = [];
    const calico: object[] = [];
    const nodes: object[] = [];
    const images = Array.from({ length: 40 }, (_, i) => ({ names: [`registry.example/team-${i}/service@sha256:${String(i).padStart(64, '0')}`, `registry.example/team-${i}/service:1.${i}.0`], sizeBytes: 123456789 }));
    const perNode = PODS / NODES - 2;
    for (let i = 0; i < NODES; i++) {
      nodes.push({ apiVersion: 'v1', kind: 'Node', metadata: { name: node(i), labels: { 'kubernetes.io/hostname': node(i), 'kubernetes.io/os': 'linux' } }, status: { images, nodeInfo: { containerRuntimeVersion: 'containerd://1.7.13', kubeletVersion: 'v1.29.4' } } });
      // calico-node not Ready on one node only.
      const c = pod('kube-system', `calico-node-${i}`, node(i), `172.16.${i >> 8}.${i & 255}`, i === 4321 ? notReady : ready, { labels: { 'k8s-app': 'calico-node' } });
      calico.push({ ...c, spec: { ...c.spec, hostNetwork: true } });
      pods.push(c);
      // Weave's own pod (host network) is left out by the gate.
      pods.push({ ...pod('kube-system', `weave-net-${i}`, node(i), `172.16.${i >> 8}.${i & 255}`, ready, { labels: { name: 'weave-net' } }), spec: { ...podSpec, nodeName: node(i), hostNetwork: true } });
      for (let j = 0; j < perNode; j++) {
        const n = i * perNode + j;
        pods.push(pod(`team-${n % 400}`, `app-${n}`, node(i), ip(48, n)));
      }
    }
    // Three pods left on Weave, far apart in the list; a finished one there is not counted.
    for (const n of [17, 77777, 139999]) (pods[n] as { status: { podIP: string; podIPs: { ip: string }[] } }).status.podIP = ip(32, n);
    for (const n of [17, 77777, 139999]) (pods[n] as { status: { podIP: string; podIPs: { ip: string }[] } }).status.podIPs = [{ ip: ip(32, n) }];
    (pods[100000] as { status: Record<string, unknown> }).status = { phase: 'Succeeded', podIP: ip(32, 100000) };
    api.pageCap = 500;
    // kubectl sends no bearer token over plain http.
    api.requireToken = false;
    api.setList('/api/v1/pods', pods);
    api.setList('/api/v1/nodes', nodes);
    api.setList('/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dcalico-node', calico);
    // Discovery, for the control below: `kubectl get pods` resolves "pods" through it.
    api.setObject('/api', { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    api.setObject('/apis', { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    api.setObject('/api/v1', { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'] }] });
    kubeconfig = api.writeKubeconfig(work, await api.start());
  }, 120000);
  afterAll(async () => {
    await api.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('no pods on Weave: names exactly the three pods left there, after reading all 150,000', async () => {
    if (!REAL_KUBECTL) return;
    const r = await run('gate-no-pods-in-cidr.sh', { NETWORK: 'weave', POD_CIDR: '10.32.0.0/12' }, 'no-weave');
    expect(r.stderr).toContain('gate: 3 pod(s) still have an IP in the Weave CIDR 10.32.0.0/12');
    const named = r.stderr.split('\n').filter((l) => / node=/.test(l));
    expect(named).toHaveLength(3);
    for (const n of [17, 77777, 139999]) expect(r.stderr).toContain(`ip=${ip(32, n)}`);
    expect(r.code).toBe(1);
    // Every page was read: 150,000 pods in pages of 500.
    expect(api.requests.filter((q) => q.startsWith('GET /api/v1/pods?')).length).toBe(PODS / 500);
    if (r.peak !== undefined) expect(r.peak).toBeLessThan(LIMIT_BYTES);
  }, 600000);

  it('calico-node Ready: names exactly the one node where it is not, among 5,000', async () => {
    if (!REAL_KUBECTL) return;
    const r = await run('gate-calico-ready.sh', { NODES: '*', SELECTOR: 'k8s-app=calico-node' }, 'calico-ready');
    expect(r.stderr).toContain('calico-node is not Ready on 1 node(s)');
    expect(r.stderr.trim().split('\n').pop()).toBe(node(4321));
    expect(r.code).toBe(1);
    if (r.peak !== undefined) expect(r.peak).toBeLessThan(LIMIT_BYTES);
  }, 600000);

  it('control: the limit bites; the old gate (the whole list as one JSON document) is killed under it', async () => {
    if (!REAL_KUBECTL) return;
    const r = await run('set -eu\nkubectl get pods --all-namespaces -o json > "$WORK_DIR/pods.json"\njq ".items | length" "$WORK_DIR/pods.json"', {}, 'whole-list');
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('150000');
  }, 600000);
});

