/**
 * The cluster-CIDR changes: the static-pod edit on real files, the API script against a stand-in
 * kubectl (no API server can run here), and what synth emits per mode (the YAML text edits and the
 * targets per phase: cluster-cidr-targets.test.ts).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { kubeProxyRolloutSeconds } from '../src/constructs/control-plane/cluster-cidr';
import { readScript, scriptPath } from '../src/scripts/read-script';
import { runScript, withCrashPoints } from './support/gitops-simulator';
import { cli, demoWorkspace, editConfig, readManifests, REPO_ROOT, setStep } from './support/workspace';

const MANIFEST = fs.readFileSync(path.join(REPO_ROOT, 'cluster', 'control-plane', 'kube-controller-manager', 'cp-1.yaml'), 'utf8');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cp-test-'));

describe('kcm-cluster-cidr.sh on a real manifest folder', () => {
  const setup = (text = MANIFEST) => {
    const root = tmp();
    const dir = path.join(root, 'manifests');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'kube-controller-manager.yaml'), text, { mode: 0o600 });
    return { root, dir, file: path.join(dir, 'kube-controller-manager.yaml') };
  };
  const run = (dir: string, root: string, env: Record<string, string>, script = readScript('kcm-cluster-cidr.sh'), crashAt?: number) =>
    runScript(script, { MANIFEST_DIR: dir, WORK_DIR: path.join(root, 'work'), NODE_NAME: 'cp-1', WAIT_SECONDS: '0', ...env }, crashAt, 'kubectl');

  it('changes the flag and nothing else, keeps the mode, and reverts to the same bytes', () => {
    const { root, dir, file } = setup();
    expect(run(dir, root, { CLUSTER_CIDR: '10.32.0.0/11' }).code).toBe(0);
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toBe(MANIFEST.replace('--cluster-cidr=10.32.0.0/12', '--cluster-cidr=10.32.0.0/11'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(run(dir, root, { CLUSTER_CIDR: '10.32.0.0/12' }).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(MANIFEST);
    expect(fs.readdirSync(dir)).toEqual(['kube-controller-manager.yaml']);
  });

  it('edits a double-quoted flag inside its quotes, keeping both quotes', () => {
    const quoted = MANIFEST.replace('- --cluster-cidr=10.32.0.0/12', '- "--cluster-cidr=10.32.0.0/12"');
    expect(quoted).not.toBe(MANIFEST);
    const { root, dir, file } = setup(quoted);
    expect(run(dir, root, { CLUSTER_CIDR: '10.32.0.0/11' }).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(quoted.replace('"--cluster-cidr=10.32.0.0/12"', '"--cluster-cidr=10.32.0.0/11"'));
  });

  it('leaves an up-to-date manifest untouched (no kubelet restart)', () => {
    const { root, dir, file } = setup();
    const inode = fs.statSync(file).ino;
    const r = run(dir, root, { CLUSTER_CIDR: '10.32.0.0/12' });
    expect(r.log).toMatch(/not touched/);
    expect(fs.statSync(file).ino).toBe(inode);
  });

  it('adds the flag after the command when it is missing, removes it, and turns allocation off', () => {
    const { root, dir, file } = setup(MANIFEST.replace('    - --cluster-cidr=10.32.0.0/12\n', ''));
    expect(run(dir, root, { CLUSTER_CIDR: '10.48.0.0/12', ALLOCATE: 'false' }).code).toBe(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('    - kube-controller-manager\n    - --cluster-cidr=10.48.0.0/12\n    - --allocate-node-cidrs=false\n');
    expect(run(dir, root, { CLUSTER_CIDR: '', ALLOCATE: 'true' }).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(MANIFEST.replace('    - --cluster-cidr=10.32.0.0/12\n', ''));
  });

  it('with allocation on, reads the nodes\' podCIDRs live first and refuses a --cluster-cidr that leaves one outside (the range allocator would crash on it)', () => {
    // The supernet, about to be narrowed (finalized).
    const SUPERNET = MANIFEST.replace('--cluster-cidr=10.32.0.0/12', '--cluster-cidr=10.32.0.0/11');
    const { root, dir, file } = setup(SUPERNET);
    const store = path.join(root, 'api');
    fs.mkdirSync(store);
    const nodeList = (cidrs: Record<string, string[]>) =>
      fs.writeFileSync(path.join(store, 'NodeList.json'), JSON.stringify({ items: Object.entries(cidrs).map(([name, podCIDRs]) => ({ metadata: { name }, spec: { podCIDR: podCIDRs[0], podCIDRs } })) }));
    // Five nodes: three pages of two with the stand-in's page cap, so the check reads every page.
    nodeList({ 'cp-1': ['10.32.0.0/24'], 'cp-2': ['10.32.1.0/24'], 'worker-1': ['10.32.2.0/24', 'fd00::/64'], 'worker-2': ['10.32.3.0/24'], 'worker-late': ['10.48.7.0/24'] });
    const env = { FAKE_KUBE_STORE: store, ALLOCATE: 'true' };
    const refused = run(dir, root, { ...env, CLUSTER_CIDR: '10.32.0.0/12' });
    expect(refused.code).not.toBe(0);
    expect(refused.log).toMatch(/1 node podCIDR\(s\) lie outside --cluster-cidr=10\.32\.0\.0\/12/);
    expect(refused.log).toContain('worker-late 10.48.7.0/24');
    expect(refused.log).not.toMatch(/worker-1 |fd00/);
    expect(fs.readFileSync(file, 'utf8')).toBe(SUPERNET);
    // A podCIDR wider than the new range is outside it too.
    nodeList({ 'cp-1': ['10.32.0.0/11'] });
    expect(run(dir, root, { ...env, CLUSTER_CIDR: '10.32.0.0/12' }).log).toContain('cp-1 10.32.0.0/11');
    // All inside (10.47.255.0/24 is the last /24 of 10.32.0.0/12): the narrowing goes ahead.
    nodeList({ 'cp-1': ['10.32.0.0/24'], 'cp-2': ['10.32.1.0/24'], 'worker-late': ['10.47.255.0/24'] });
    const ok = run(dir, root, { ...env, CLUSTER_CIDR: '10.32.0.0/12' });
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.log).toMatch(/every node's podCIDR lies inside 10\.32\.0\.0\/12/);
    expect(fs.readFileSync(file, 'utf8')).toBe(MANIFEST);
    expect(fs.readFileSync(path.join(store, 'calls.log'), 'utf8').match(/get --raw \/api\/v1\/nodes/g)!.length).toBe(3 + 1 + 2);
  });

  it('is atomic: a crash at any line leaves the old or the new manifest, whole, and nothing the kubelet would run', () => {
    const { script, points } = withCrashPoints(readScript('kcm-cluster-cidr.sh'));
    expect(points).toBeGreaterThan(15);
    const target = MANIFEST.replace('--cluster-cidr=10.32.0.0/12', '--cluster-cidr=10.32.0.0/11');
    for (let n = 1; n <= points; n++) {
      const { root, dir, file } = setup();
      run(dir, root, { CLUSTER_CIDR: '10.32.0.0/11' }, script, n);
      expect([n, [MANIFEST, target].includes(fs.readFileSync(file, 'utf8'))]).toEqual([n, true]);
      expect([n, fs.readdirSync(dir).filter((f) => !f.startsWith('.'))]).toEqual([n, ['kube-controller-manager.yaml']]);
      expect(run(dir, root, { CLUSTER_CIDR: '10.32.0.0/11' }).code).toBe(0);
      expect(fs.readFileSync(file, 'utf8')).toBe(target);
      expect(fs.readdirSync(dir)).toEqual(['kube-controller-manager.yaml']);
    }
  });

  it('refuses bad input and a missing manifest', () => {
    const { root, dir } = setup();
    expect(run(dir, root, { CLUSTER_CIDR: '10.32.0.0/11; rm -rf /' }).log).toMatch(/is not an IPv4 CIDR/);
    expect(run(dir, root, { CLUSTER_CIDR: '10.32.0.0/11', ALLOCATE: 'maybe' }).log).toMatch(/ALLOCATE=maybe/);
    expect(run(path.join(root, 'nope'), root, { CLUSTER_CIDR: '10.32.0.0/11' }).log).toMatch(/not found: is this a kubeadm control-plane node/);
  });

  it('waits for the new pod and fails clearly when it does not come', () => {
    const { root, dir } = setup();
    const kubelet = path.join(root, 'kubelet');
    fs.mkdirSync(path.join(kubelet, 'cp-1'), { recursive: true });
    // The "running" pod keeps the old flags: the kubelet never picked the change up.
    fs.writeFileSync(path.join(kubelet, 'cp-1', 'kube-controller-manager.yaml'), MANIFEST);
    const store = path.join(root, 'store');
    fs.mkdirSync(store);
    const env = { CLUSTER_CIDR: '10.32.0.0/11', WAIT_SECONDS: '1', STABLE_SECONDS: '1', FAKE_KUBE_STORE: store, FAKE_KUBELET_ROOT: kubelet };
    const r = run(dir, root, env);
    expect(r.code).not.toBe(0);
    expect(r.log).toMatch(/did not come up Ready with --cluster-cidr=10.32.0.0\/11 and a renewed leader Lease/);
    fs.copyFileSync(path.join(dir, 'kube-controller-manager.yaml'), path.join(kubelet, 'cp-1', 'kube-controller-manager.yaml'));
    expect(run(dir, root, env).log).toMatch(/kube-controller-manager-cp-1 runs with --cluster-cidr=10.32.0.0\/11, Ready, no restart in 1s, leader Lease renewed/);
    // Ready is not enough: a leader Lease last renewed before the pod started (no working leader
    // since the restart) fails the Job.
    const lease = path.join(store, 'Lease.kube-system.kube-controller-manager.json');
    fs.writeFileSync(lease, JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'kube-controller-manager', namespace: 'kube-system' }, spec: { holderIdentity: 'cp-2_x', renewTime: '2024-05-01T10:00:00.000000Z' } }));
    expect(run(dir, root, env).log).toMatch(/did not come up Ready .* and a renewed leader Lease within 1s/);
    fs.rmSync(lease);
    // Nor is a pod that stays Ready but restarts between looks (it exits on the new flags).
    fs.writeFileSync(path.join(kubelet, 'cp-1', 'restarting'), '0');
    const restarting = run(dir, root, env);
    expect(restarting.code).not.toBe(0);
    expect(restarting.log).toMatch(/kube-controller-manager-cp-1 restarted \(1 → 2 restarts\) within 1s with --cluster-cidr=10.32.0.0\/11/);
    fs.rmSync(path.join(kubelet, 'cp-1', 'restarting'));
    // The stand-in kubelet can fail too: a controller-manager that crash-loops on the new flags
    // is never Ready, and the Job fails.
    fs.writeFileSync(path.join(kubelet, 'cp-1', 'crashloop'), '');
    const crashing = run(dir, root, env);
    expect(crashing.code).not.toBe(0);
    expect(crashing.log).toMatch(/did not come up Ready with --cluster-cidr=10.32.0.0\/11/);
  });

  it('one control-plane node at a time: nothing is edited until the previous node\'s controller-manager is healthy', () => {
    const { root, dir, file } = setup();
    const kubelet = path.join(root, 'kubelet');
    fs.mkdirSync(path.join(kubelet, 'cp-1'), { recursive: true });
    // cp-1 still runs the old flags (its edit has not taken, or failed).
    fs.writeFileSync(path.join(kubelet, 'cp-1', 'kube-controller-manager.yaml'), MANIFEST);
    const store = path.join(root, 'store');
    fs.mkdirSync(store);
    const env = { NODE_NAME: 'cp-2', CLUSTER_CIDR: '10.32.0.0/11', AFTER_NODE: 'cp-1', AFTER_CIDR: '10.32.0.0/11', WAIT_SECONDS: '1', STABLE_SECONDS: '1', FAKE_KUBE_STORE: store, FAKE_KUBELET_ROOT: kubelet };
    const blocked = run(dir, root, env);
    expect(blocked.code).not.toBe(0);
    expect(blocked.log).toMatch(/kube-controller-manager-cp-1 did not come up Ready with --cluster-cidr=10.32.0.0\/11/);
    expect(fs.readFileSync(file, 'utf8')).toBe(MANIFEST);
    // Once cp-1 is healthy with the new flags, cp-2 goes.
    fs.writeFileSync(path.join(kubelet, 'cp-1', 'kube-controller-manager.yaml'), MANIFEST.replace('--cluster-cidr=10.32.0.0/12', '--cluster-cidr=10.32.0.0/11'));
    // The stand-in kubelet of cp-2 runs what its manifest folder holds.
    fs.symlinkSync(dir, path.join(kubelet, 'cp-2'));
    const ok = run(dir, root, env);
    expect([ok.code, ok.log]).toEqual([0, expect.stringMatching(/kube-controller-manager-cp-1 runs with[\s\S]*manifest updated[\s\S]*kube-controller-manager-cp-2 runs with --cluster-cidr=10.32.0.0\/11/)]);
    expect(fs.readFileSync(file, 'utf8')).toContain('--cluster-cidr=10.32.0.0/11');
  });
});

describe('cluster-cidr-api.sh against a stand-in kubectl', () => {
  const CONF = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: 10.32.0.0/12\nmode: ""\n';
  const WIDE = CONF.replace('10.32.0.0/12', '10.32.0.0/11');
  const setup = (live = CONF) => {
    const root = tmp();
    const store = path.join(root, 'store');
    const targets = path.join(root, 'targets');
    fs.mkdirSync(store);
    fs.mkdirSync(targets);
    fs.writeFileSync(path.join(store, 'calls.log'), '');
    fs.writeFileSync(path.join(store, 'ConfigMap.kube-system.kube-proxy.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-proxy', namespace: 'kube-system' }, data: { 'config.conf': live, 'kubeconfig.conf': 'k' } }));
    fs.writeFileSync(path.join(store, 'DaemonSet.kube-system.kube-proxy.json'), JSON.stringify({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' }, spec: { template: { metadata: {}, spec: { containers: [{ name: 'kube-proxy' }] } } } }));
    const files: Record<string, string> = { 'kube-proxy.mode': 'configmap', 'kube-proxy.target': WIDE, 'kube-proxy.accept.0': CONF, 'kube-proxy.accept.1': WIDE, 'kube-proxy.hash': 'h-wide', 'kube-proxy.original-hash': 'h-orig' };
    for (const [k, v] of Object.entries(files)) fs.writeFileSync(path.join(targets, k), v);
    const run = (script = readScript('cluster-cidr-api.sh'), crashAt?: number) =>
      runScript(script, { TARGETS: targets, WORK_DIR: root, FAKE_KUBE_STORE: store, ROLLOUT_SECONDS: '5' }, crashAt, 'kubectl');
    const cm = () => JSON.parse(fs.readFileSync(path.join(store, 'ConfigMap.kube-system.kube-proxy.json'), 'utf8'));
    const ds = () => JSON.parse(fs.readFileSync(path.join(store, 'DaemonSet.kube-system.kube-proxy.json'), 'utf8'));
    const calls = () => fs.readFileSync(path.join(store, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean);
    return { run, cm, ds, calls, store };
  };

  it('fails when kube-proxy does not finish rolling out (the stand-in\'s rollout can fail)', () => {
    const s = setup();
    fs.writeFileSync(path.join(s.store, 'DaemonSet.kube-system.kube-proxy.json.stuck'), '');
    const r = s.run();
    expect(r.code).not.toBe(0);
    expect(r.log).toMatch(/kube-proxy did not finish rolling out within 5s/);
  });

  it('changes config.conf and nothing else, restarts kube-proxy, and does nothing on a rerun', () => {
    const s = setup();
    expect(s.run()).toMatchObject({ code: 0 });
    expect(s.cm().data).toEqual({ 'config.conf': WIDE, 'kubeconfig.conf': 'k' });
    expect(s.ds().spec.template.metadata.annotations).toEqual({ 'cni-migrate.io/kube-proxy-config': 'h-wide' });
    expect(s.calls().filter((c) => c.startsWith('rollout'))).toHaveLength(1);
    fs.writeFileSync(path.join(s.store, 'calls.log'), '');
    expect(s.run().log).toMatch(/already holds this step's value/);
    expect(s.calls().filter((c) => c.startsWith('patch') || c.startsWith('rollout'))).toEqual([]);
  });

  it('does not restart a kube-proxy that already runs the captured configuration', () => {
    const s = setup();
    fs.writeFileSync(path.join(s.store, '..', 'targets', 'kube-proxy.target'), CONF);
    fs.writeFileSync(path.join(s.store, '..', 'targets', 'kube-proxy.hash'), 'h-orig');
    expect(s.run().code).toBe(0);
    expect(s.calls().filter((c) => c.startsWith('patch') || c.startsWith('rollout'))).toEqual([]);
  });

  it('refuses a ConfigMap changed since the snapshot, and writes nothing', () => {
    const s = setup(CONF.replace('mode: ""', 'mode: ipvs'));
    const r = s.run();
    expect(r.code).not.toBe(0);
    expect(r.log).toMatch(/changed since the snapshot\. Run cni-migrate snapshot/);
    expect(s.calls().filter((c) => c.startsWith('patch'))).toEqual([]);
  });

  it('restarts kube-proxy on a rerun after a crash between the patch and the restart', () => {
    const { script, points } = withCrashPoints(readScript('cluster-cidr-api.sh'));
    let checked = 0;
    for (let n = 1; n <= points; n++) {
      const s = setup();
      s.run(script, n);
      expect(s.run().code).toBe(0);
      expect([n, s.cm().data['config.conf'], s.ds().spec.template.metadata.annotations?.['cni-migrate.io/kube-proxy-config']]).toEqual([n, WIDE, 'h-wide']);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe('synth of the control-plane layer', () => {
  const layer = async (edit?: (ws: ReturnType<typeof demoWorkspace>) => void, step = 'cluster-cidr') => {
    const ws = demoWorkspace();
    edit?.(ws);
    setStep(ws, step);
    const r = await cli(ws, 'synth');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return { objs: readManifests(ws.dist).filter((m) => m.file.startsWith('20-control-plane/')).map((m) => m.obj), plan: fs.readFileSync(path.join(ws.dist, 'PLAN.md'), 'utf8') };
  };

  it('kubeadm: one API Job, one Job per control-plane node, RBAC limited to those objects', async () => {
    const { objs } = await layer();
    const jobs = objs.filter((o) => o.kind === 'Job');
    expect(jobs.map((j) => j.spec.template.spec.nodeName ?? 'api').sort()).toEqual(['api', 'cp-1', 'cp-2']);
    const roles = Object.fromEntries(objs.filter((o) => o.kind === 'Role').map((r) => [r.metadata.name, r.rules]));
    expect(roles['cni-migrate-cluster-cidr']).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['kube-proxy', 'kubeadm-config'], verbs: ['get', 'patch'] },
      { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['kube-proxy'], verbs: ['get', 'list', 'patch', 'watch'] },
    ]);
    expect(roles['cni-migrate-kcm-cluster-cidr']).toEqual([
      { apiGroups: [''], resources: ['pods'], resourceNames: ['kube-controller-manager-cp-1', 'kube-controller-manager-cp-2'], verbs: ['get'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['kube-controller-manager'], verbs: ['get'] },
    ]);
    // Allocation is on in the demo: the edit first reads every node's podCIDRs (list nodes, cluster-wide).
    expect(objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'cni-migrate-kcm-cluster-cidr-nodes').rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }]);
    expect(objs.find((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'cni-migrate-kcm-cluster-cidr-nodes').subjects).toEqual([{ kind: 'ServiceAccount', name: 'cni-migrate-kcm-cluster-cidr', namespace: 'kube-system' }]);
    // One node at a time: cp-2's Job waits for cp-1's controller-manager.
    const env = (node: string) => jobs.find((j) => j.spec.template.spec.nodeName === node).spec.template.spec.containers[0].env;
    expect(env('cp-1').find((e: any) => e.name === 'AFTER_NODE')).toBeUndefined();
    expect(env('cp-2')).toEqual(expect.arrayContaining([{ name: 'AFTER_NODE', value: 'cp-1' }, { name: 'AFTER_CIDR', value: '10.32.0.0/11' }]));
    const kcm = jobs.find((j) => j.spec.template.spec.nodeName === 'cp-1');
    expect(kcm.spec.template.spec.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path)).toEqual(['/etc/kubernetes/manifests']);
    expect(kcm.spec.template.spec.containers[0].securityContext.privileged).toBe(false);
    expect(kcm.spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }]);
    // kube-proxy's rollout wait grows with the cluster (one pod at a time), and the Job outlives it.
    const api = jobs.find((j) => !j.spec.template.spec.nodeName);
    expect(api.spec.template.spec.containers[0].env).toContainEqual({ name: 'ROLLOUT_SECONDS', value: '600' });
    expect(api.spec.activeDeadlineSeconds).toBe(1200);
    expect([kubeProxyRolloutSeconds(6), kubeProxyRolloutSeconds(500), kubeProxyRolloutSeconds(5000)]).toEqual([600, 5000, 50000]);
  });

  it('skips the controller-manager when it has neither flag, and says so', async () => {
    const { objs, plan } = await layer((ws) => {
      for (const n of ['cp-1', 'cp-2']) {
        const f = path.join(ws.cluster, 'control-plane', 'kube-controller-manager', `${n}.yaml`);
        fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('    - --allocate-node-cidrs=true\n', '').replace('    - --cluster-cidr=10.32.0.0/12\n', ''));
      }
    });
    expect(objs.filter((o) => o.kind === 'Job' && o.spec.template.spec.nodeName)).toEqual([]);
    expect(plan).toMatch(/kube-controller-manager: not changed: kube-controller-manager runs with neither --cluster-cidr nor --allocate-node-cidrs/);
  });

  it('says when kube-proxy had no cluster CIDR, so the supernet turns its pod-traffic detection on', async () => {
    const kubeProxyLine = (plan: string) => plan.split('\n').find((l) => l.includes('kube-proxy: clusterCIDR in ConfigMap')) ?? '';
    expect(kubeProxyLine((await layer()).plan)).not.toMatch(/it had none/);
    const { plan } = await layer((ws) => {
      const f = path.join(ws.cluster, 'control-plane', 'kube-proxy-configmap.yaml');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('clusterCIDR: 10.32.0.0/12', 'clusterCIDR: ""'));
    });
    expect(kubeProxyLine(plan)).toMatch(/becomes 10\.32\.0\.0\/11 \(it had none, so kube-proxy starts telling pod traffic from other traffic by it.*a revert of this step removes it again\)/);
  });

  it('managed: no controller-manager Jobs, and PLAN.md says what to do by hand', async () => {
    const { objs, plan } = await layer((ws) => editConfig(ws, (d) => (d.spec.controlPlane.mode = 'managed')));
    expect(objs.filter((o) => o.kind === 'Job' && o.spec.template.spec.nodeName)).toEqual([]);
    expect(plan).toMatch(/managed control plane, by hand: .*on EKS edit the kube-proxy-config ConfigMap/);
  });

  it('the previous step\'s Jobs converge back to the captured values', async () => {
    const calico = await layer(undefined, 'calico');
    const cm = calico.objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('cni-migrate-cidr-'));
    expect(cm.data['kube-proxy.target']).toBe(YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'cluster', 'control-plane', 'kube-proxy-configmap.yaml'), 'utf8')).data['config.conf']);
    const kcm = calico.objs.find((o) => o.kind === 'Job' && o.spec.template.spec.nodeName === 'cp-1');
    expect(kcm.spec.template.spec.containers[0].env).toContainEqual({ name: 'CLUSTER_CIDR', value: '10.32.0.0/12' });
  });

  it('the scripts parse as POSIX sh', () => {
    for (const s of ['kcm-cluster-cidr.sh', 'cluster-cidr-api.sh', 'node-switch.sh', 'restart-runtime.sh']) {
      expect([s, spawnSync('sh', ['-n', scriptPath(s)]).status]).toEqual([s, 0]);
    }
  });
});
