/**
 * The shape of the synthesized node switches (a DaemonSet per wave and drain lane, whose pod runs
 * the steps as init containers) and their RBAC: the step order, and least privilege.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { contentName } from '../src/constructs/content-name';
import { scriptConfigMapName } from '../src/constructs/job-scripts';
import { runInImage } from './support/image-tools';
import { switchSetsByNode } from './support/jobs';
import { cli, demoWorkspace, editConfig, readManifests, setStep, type Workspace } from './support/workspace';

async function nodesLayer(ws: Workspace, step: string): Promise<any[]> {
  setStep(ws, step);
  const r = await cli(ws, 'synth');
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return readManifests(ws.dist).filter((m) => m.file.startsWith('40-nodes/')).map((m) => m.obj);
}
/** The one switch DaemonSet of the inventory that selects `node`, with the given desired state. */
const job = (objs: any[], node: string, desired: string) => {
  const sets = switchSetsByNode(objs, [node]).get(node)!.filter((ds) => ds.metadata.labels['cni-migrate.io/desired'] === desired);
  expect(sets.map((ds) => ds.metadata.name)).toHaveLength(1);
  return sets[0];
};
const steps = (j: any) => [...(j.spec.template.spec.initContainers ?? []), ...j.spec.template.spec.containers].map((c: any) => c.name);
const containers = (j: any) => [...(j.spec.template.spec.initContainers ?? []), ...j.spec.template.spec.containers];

describe('node switch DaemonSets', () => {
  it('calico-first with drain: wait, inspect, drain, switch, uncordon; host network, pinned, every taint, one host path', async () => {
    const objs = await nodesLayer(demoWorkspace(), 'nodes-1');
    const j = job(objs, 'worker-1', 'calico-first');
    expect(steps(j)).toEqual(['wait-for-calico-node', 'inspect', 'drain', 'switch', 'uncordon', 'converged']);
    expect(j.metadata.name).toBe('cni-migrate-switch-wave-1');
    const pod = j.spec.template.spec;
    // Every step an init container, retried by the kubelet until it succeeds (restartPolicy Always).
    expect(pod.containers.map((c: any) => c.name)).toEqual(['converged']);
    expect(pod.restartPolicy).toBeUndefined();
    expect(pod.nodeName).toBeUndefined();
    expect(pod).toMatchObject({ hostNetwork: true, tolerations: [{ operator: 'Exists' }], serviceAccountName: 'cni-migrate-node-switch', automountServiceAccountToken: true });
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields).toEqual([{ key: 'metadata.name', operator: 'In', values: ['worker-1'] }]);
    // As many nodes drain at once as the wave has lanes: the rolling update replaces that many pods at a time.
    expect(j.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    expect(pod.hostPID).toBeUndefined();
    expect(pod.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path)).toEqual(['/etc/cni/net.d']);
    for (const c of containers(j)) expect(c.securityContext.privileged ?? false).toBe(false);
    const drain = containers(j).find((c: any) => c.name === 'drain');
    expect(drain.command).toEqual(['/bin/sh', '/cni-migrate/node-drain/node-drain.sh']);
    // Wave 1 is one node: one lane; a Lease lasts the drain timeout plus 900 s, and a drain waits
    // for a lane at most until a holder from elsewhere has let its Lease expire.
    expect(drain.env).toEqual(expect.arrayContaining([{ name: 'PHASE', value: 'drain' }, { name: 'VERDICT_FILE', value: '/tmp/verdict' }, { name: 'DRAIN_TIMEOUT', value: '600' },
      { name: 'DRAIN_LANES', value: '1' }, { name: 'LANE_LEASE_SECONDS', value: '1500' }, { name: 'LANE_WAIT_SECONDS', value: '1560' }]));
    // The inspect step only reads the node's folder.
    const inspect = containers(j).find((c: any) => c.name === 'inspect');
    expect(inspect.volumeMounts.find((m: any) => m.name === 'cni-net-d')).toEqual({ name: 'cni-net-d', mountPath: '/host/etc/cni/net.d', readOnly: true });
  });

  it('weave-first and calico-native Jobs call the API only to release a cordon this tool left, and never without drains', async () => {
    const ws = demoWorkspace();
    for (const [step, desired] of [['nodes-1', 'weave-first'], ['finalized', 'calico-native']]) {
      const j = job(await nodesLayer(ws, step), 'cp-2', desired);
      expect(steps(j)).toEqual(['switch', 'uncordon', 'converged']);
      expect(containers(j).find((c: any) => c.name === 'uncordon').env).toContainEqual({ name: 'PHASE', value: 'uncordon' });
      expect(j.spec.template.spec.serviceAccountName).toBe('cni-migrate-node-switch');
    }
    editConfig(ws, (d) => (d.spec.nodes.drain = false));
    for (const [step, desired] of [['nodes-1', 'weave-first'], ['finalized', 'calico-native']]) {
      const j = job(await nodesLayer(ws, step), 'cp-2', desired);
      expect(steps(j)).toEqual(['switch', 'converged']);
      // No drain: a changed step replaces every pod of the set at once (a revert must be quick).
      expect(j.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe('100%');
      expect(j.spec.template.spec.automountServiceAccountToken).toBe(false);
      expect(j.spec.template.spec.serviceAccountName).toBeUndefined();
    }
  });

  it('without drain: wait and switch only, and RBAC can only read pods, in kube-system', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.nodes.drain = false));
    const objs = await nodesLayer(ws, 'nodes-2');
    expect(steps(job(objs, 'worker-2', 'calico-first'))).toEqual(['wait-for-calico-node', 'switch', 'converged']);
    expect(objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
    const role = objs.find((o) => o.kind === 'Role');
    expect(role.metadata.namespace).toBe('kube-system');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    expect(objs.find((o) => o.kind === 'RoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: 'cni-migrate-node-switch', namespace: 'kube-system' }]);
  });

  it('RBAC with drain has exactly the verbs the drain needs', async () => {
    const objs = await nodesLayer(demoWorkspace(), 'nodes-1');
    const role = objs.find((o) => o.kind === 'ClusterRole');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
    ]);
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'cni-migrate-node-switch', namespace: 'kube-system' }]);
    // The budget's lanes (5% of 6 nodes: one): Leases in kube-system, read and written by name only.
    const lanes = objs.find((o) => o.kind === 'Role' && o.metadata.name === 'cni-migrate-node-switch-lanes');
    expect(lanes.metadata.namespace).toBe('kube-system');
    expect(lanes.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['cni-migrate-drain-lane-0'], verbs: ['get', 'update'] },
    ]);
    expect(objs.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'cni-migrate-node-switch-lanes').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cni-migrate-node-switch-lanes' });
    // Before any node switches, the Jobs may only release a cordon: nodes get and patch, no eviction.
    const calico = await nodesLayer(demoWorkspace(), 'calico');
    expect(calico.find((o) => o.kind === 'ClusterRole').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] },
    ]);
    expect(calico.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name).sort()).toEqual([scriptConfigMapName('40-nodes', 'node-drain.sh'), scriptConfigMapName('40-nodes', 'node-switch.sh')].sort());
    // One DaemonSet per wave (one lane each here), and the newcomers'.
    expect(calico.filter((o) => o.kind === 'Job')).toEqual([]);
    expect(calico.filter((o) => o.kind === 'DaemonSet').map((o) => o.metadata.name)).toEqual([1, 2, 3, 4, 5].map((w) => `cni-migrate-switch-wave-${w}`).concat('cni-migrate-newcomer-switch').sort());
  });

  it('restartKubelet adds hostPID and one privileged step after the switch; restartDaemonSetPods adds pod deletes', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => Object.assign(d.spec.nodes, { restartKubelet: true, restartDaemonSetPods: true }));
    const objs = await nodesLayer(ws, 'nodes-1');
    const j = job(objs, 'worker-1', 'calico-first');
    expect(steps(j)).toEqual(['wait-for-calico-node', 'inspect', 'drain', 'switch', 'restart-runtime', 'restart-daemonset-pods', 'live-pod-ips', 'hostport-cleanup', 'uncordon', 'converged']);
    // The restarted pods were torn down under Calico's network name: their hostPort entries go,
    // by a container with NET_ADMIN and NET_RAW only, in calico/node (iptables), once they are gone.
    const restart = containers(j).find((c: any) => c.name === 'restart-daemonset-pods');
    expect(restart.command.join(' ')).toContain('--wait=true');
    // A pod stuck terminating does not fail the Job (which would leave the node cordoned): the
    // stand-in kubectl's delete fails here, and the step still succeeds, saying why.
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
    const verdict = (v: string) => restart.command[2].replace(/\/tmp\/verdict/g, path.join(store, 'verdict')) + (fs.writeFileSync(path.join(store, 'verdict'), v), '');
    const stuck = runInImage('kubectl', verdict('change'), { NODE_NAME: 'worker-1', FAKE_KUBE_STORE: store });
    expect([stuck.code, stuck.stdout.trim()]).toEqual([0, 'restart-daemonset-pods[worker-1]: some pods are still terminating after 300s; their hostPort entries stay until weave-removed']);
    // A node the switch did not change keeps its pods.
    const calls = () => fs.readFileSync(path.join(store, 'calls.log'), 'utf8');
    const before = calls();
    const skipped = runInImage('kubectl', verdict('converged'), { NODE_NAME: 'worker-1', FAKE_KUBE_STORE: store });
    expect([skipped.code, skipped.stdout.trim(), calls()]).toEqual([0, 'restart-daemonset-pods[worker-1]: the switch changed nothing: no restart', before]);
    const hp = containers(j).find((c: any) => c.name === 'hostport-cleanup');
    expect([hp.image, hp.securityContext.capabilities, hp.securityContext.privileged]).toEqual(['docker.io/calico/node:v3.28.5', { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] }, false]);
    expect(j.spec.template.spec.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path)).toEqual(['/etc/cni/net.d', '/run/xtables.lock']);
    expect(j.spec.template.spec.hostPID).toBe(true);
    expect(containers(j).filter((c: any) => c.securityContext.privileged).map((c: any) => c.name)).toEqual(['restart-runtime']);
    expect(containers(j).find((c: any) => c.name === 'restart-runtime').env).toContainEqual({ name: 'RUNTIME', value: 'containerd' });
    expect(objs.find((o) => o.kind === 'ClusterRole').rules[0].verbs).toEqual(['delete', 'get', 'list', 'watch']);
    // Unswitched nodes get neither.
    const other = job(objs, 'worker-2', 'weave-first');
    expect(other.spec.template.spec.hostPID).toBeUndefined();
    expect(fs.readFileSync(path.join(ws.dist, 'PLAN.md'), 'utf8')).toMatch(/hostPID and one privileged container/);
  });

  it('restartKubelet on a wave of two runtimes: one DaemonSet per runtime, named by it before and after the wave switches', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.nodes.restartKubelet = true));
    const file = path.join(ws.cluster, 'nodes.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('containerRuntime: containerd://1.6.20', 'containerRuntime: cri-o://1.30.4'));
    for (const [step, desired] of [['nodes-1', 'weave-first'], ['nodes-2', 'calico-first']]) {
      const objs = await nodesLayer(ws, step);
      const w2 = job(objs, 'worker-2', desired);
      const w3 = job(objs, 'worker-3', desired);
      expect([w2.metadata.name, w3.metadata.name]).toEqual(['cni-migrate-switch-wave-2-containerd', 'cni-migrate-switch-wave-2-crio']);
      const runtime = (ds: any) => containers(ds).find((c: any) => c.name === 'restart-runtime')?.env.find((e: any) => e.name === 'RUNTIME').value;
      expect([runtime(w2), runtime(w3)]).toEqual(desired === 'calico-first' ? ['containerd', 'crio'] : [undefined, undefined]);
    }
    // A wave of one runtime keeps the plain name.
    expect(job(await nodesLayer(ws, 'nodes-2'), 'worker-1', 'calico-first').metadata.name).toBe('cni-migrate-switch-wave-1');
  });

  it('restartKubelet is refused for nodes on another runtime', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.nodes.restartKubelet = true));
    const file = path.join(ws.cluster, 'nodes.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('containerRuntime: containerd://1.6.20', 'containerRuntime: docker://24.0.7'));
    const r = await cli(ws, 'synth');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/spec\.nodes\.restartKubelet: .*worker-3: docker:\/\/24\.0\.7.*\[restart-unknown-runtime\]/);
  });

  it('waits on the calico-node pods by the DaemonSet\'s own labels', async () => {
    const ws = demoWorkspace();
    const objs = await nodesLayer(ws, 'nodes-1');
    expect(containers(job(objs, 'worker-1', 'calico-first'))[0].command).toContain('--selector=k8s-app=calico-node');
  });
});

describe('Job names', () => {
  it('are DNS labels of at most 63 characters, built from the desired state, the node and a content hash', () => {
    const long = `node-${'x'.repeat(80)}.zone-a.example.internal`;
    const a = contentName('calico-first', long, { v: 1 });
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^calico-first-node-x+-[0-9a-f]{8}$/);
    expect(contentName('calico-first', long, { v: 2 })).not.toBe(a);
    expect(contentName('calico-first', `${long}2`, { v: 1 })).not.toBe(a);
    expect(contentName('calico-first', 'Node_A.b', {})).toMatch(/^calico-first-node-a-b-[0-9a-f]{8}$/);
  });

  it('of the switch DaemonSets stay, and their pods\' spec label changes when anything in the pod changes (here, the shell image)', async () => {
    const ws = demoWorkspace();
    const before = job(await nodesLayer(ws, 'nodes-1'), 'worker-1', 'calico-first');
    editConfig(ws, (d) => (d.spec.images = { shell: 'registry.local/busybox:1.36.1' }));
    const after = job(await nodesLayer(ws, 'nodes-1'), 'worker-1', 'calico-first');
    expect(after.metadata.name).toBe(before.metadata.name);
    const spec = (ds: any) => ds.spec.template.metadata.labels['cni-migrate.io/pod-spec'];
    expect(spec(before)).toMatch(/^[0-9a-f]{8}$/);
    expect(spec(after)).not.toBe(spec(before));
  });
});

describe('restart-runtime.sh', () => {
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const { scriptPath } = require('../src/scripts/read-script') as typeof import('../src/scripts/read-script');
  const os = require('os') as typeof import('os');
  const fakeHost = () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-host-'));
    fs.writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> ${bin}/calls\n`, { mode: 0o755 });
    return bin;
  };
  const run = (bin: string, runtime: string, systemd = true) =>
    spawnSync('sh', [scriptPath('restart-runtime.sh')], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, RUNTIME: runtime, NODE_NAME: 'n1', HOST_NSENTER: 'env', SYSTEMD_MARKER: systemd ? bin : path.join(bin, 'absent') },
    });

  it('restarts the runtime, then the kubelet, through the host', () => {
    const bin = fakeHost();
    expect(run(bin, 'crio').status).toBe(0);
    expect(fs.readFileSync(path.join(bin, 'calls'), 'utf8')).toBe('restart crio\nrestart kubelet\n');
  });

  it('fails clearly without systemd or with an unknown runtime', () => {
    const none = run(fakeHost(), 'containerd', false);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/the host does not run systemd/);
    expect(run(fakeHost(), 'docker').stderr).toMatch(/RUNTIME=docker; expected containerd or crio/);
  });
});
