/**
 * cni-migrate snapshot through the real @kubernetes/client-node (kubeconfig loading, credentials)
 * against a local server that answers with recorded API objects, in the compiled CLI (the way
 * an operator runs it), including paging, an expired continue token, 403, 429, 5xx and a slow
 * answer; then the policy corpus round trip through synth.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { CORPUS_NAMESPACES, POLICY_CORPUS } from './fixtures/policy-corpus';
import { FakeApiServer, withServerFields } from './support/fake-apiserver';
import { canMountPrivately, requirePeer } from './support/peers';
import { cli, demoWorkspace, editConfig, readManifests, REPO_ROOT, setStep, treeDigest, type Workspace, runCompiledCli } from './support/workspace';

const readDemo = (rel: string) => YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'cluster', rel), 'utf8'));

/** A fake API server holding the demo cluster (as the API would serve it) and the policy corpus. */
function demoServer(): FakeApiServer {
  const api = new FakeApiServer();
  const inv = readDemo('nodes.yaml');
  api.setList('/api/v1/nodes', inv.nodes.map((n: any) => withServerFields({
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...Object.fromEntries(n.roles.map((r: string) => [`node-role.kubernetes.io/${r}`, ''])) } },
    spec: { podCIDR: n.podCIDRs[0], podCIDRs: n.podCIDRs, ...(n.taints ? { taints: n.taints.map((t: any) => ({ ...t, timeAdded: '2024-05-01T10:00:00Z' })) } : {}) },
  })).map((n: any, i: number) => ({ ...n, status: { addresses: [{ type: 'InternalIP', address: inv.nodes[i].internalIP }, { type: 'Hostname', address: inv.nodes[i].name }], nodeInfo: { containerRuntimeVersion: inv.nodes[i].containerRuntime } } })));
  api.setList('/api/v1/namespaces', CORPUS_NAMESPACES.map((n) => withServerFields({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } })));
  api.setList('/apis/networking.k8s.io/v1/networkpolicies', POLICY_CORPUS.map(withServerFields));
  for (const f of fs.readdirSync(path.join(REPO_ROOT, 'cluster', 'weave'))) {
    const o = readDemo(`weave/${f}`);
    const plural = `${o.kind.toLowerCase()}s`;
    const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
    api.setObject(`${base}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${plural}/${o.metadata.name}`, withServerFields(o));
  }
  api.setObject('/api/v1/namespaces/kube-system/configmaps/kube-proxy', withServerFields(readDemo('control-plane/kube-proxy-configmap.yaml')));
  api.setObject('/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy', withServerFields(readDemo('control-plane/kube-proxy-daemonset.yaml')));
  api.setObject('/api/v1/namespaces/kube-system/configmaps/kubeadm-config', withServerFields(readDemo('control-plane/kubeadm-config.yaml')));
  api.setList('/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-controller-manager', ['cp-1', 'cp-2'].map((n) => withServerFields(readDemo(`control-plane/kube-controller-manager/${n}.yaml`))));
  api.setList('/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-apiserver', [withServerFields({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kube-apiserver-cp-1', namespace: 'kube-system' },
    spec: { nodeName: 'cp-1', containers: [{ name: 'kube-apiserver', command: ['kube-apiserver', '--service-cluster-ip-range=10.96.0.0/12'] }] },
  })]);
  return api;
}

const run = runCompiledCli;
const haveMount = requirePeer(canMountPrivately(), 'root and unshare (a private tmpfs)', 'the full-disk snapshot test');

/** A fresh demo server and workspace for each test of the enclosing describe, read as t.api, t.ws, t.kubeconfig. */
function demoServerPerTest(): { api: FakeApiServer; ws: Workspace; kubeconfig: string } {
  const t = {} as { api: FakeApiServer; ws: Workspace; kubeconfig: string };
  beforeEach(async () => {
    t.api = demoServer();
    t.ws = demoWorkspace();
    t.kubeconfig = t.api.writeKubeconfig(t.ws.dir, await t.api.start());
  });
  afterEach(async () => {
    t.api.faults = {};
    await t.api.stop();
  });
  return t;
}

describe('cni-migrate snapshot', () => {
  let api: FakeApiServer;
  let url: string;
  let ws: Workspace;
  let kubeconfig: string;
  beforeEach(async () => {
    api = demoServer();
    url = await api.start();
    ws = demoWorkspace();
    kubeconfig = api.writeKubeconfig(ws.dir, url);
  });
  afterEach(async () => {
    await api.stop();
  });
  const snapshot = (out = path.join(ws.dir, 'snap'), ...extra: string[]) => run(['--config', ws.config, 'snapshot', '--kubeconfig', kubeconfig, '--out', out, ...extra], ws.dir);

  it('writes cluster/ that synth reads, with server fields stripped, across pages', async () => {
    const r = await snapshot();
    expect(r.stderr).not.toMatch(/warning/);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/snapshot: 6 nodes, 44 NetworkPolicies, Weave CIDR 10\.32\.0\.0\/12, service CIDR 10\.96\.0\.0\/12/);
    // 44 policies at 7 a page: the client followed the continue tokens.
    expect(api.requests.filter((q) => q.startsWith('GET /apis/networking.k8s.io/v1/networkpolicies')).length).toBe(7);
    expect(r.stderr).toMatch(/networkpolicies: 14 so far/);
    const snap = path.join(ws.dir, 'snap');
    const nodes = YAML.parse(fs.readFileSync(path.join(snap, 'nodes.yaml'), 'utf8')).nodes;
    const demo = readDemo('nodes.yaml').nodes;
    for (const n of demo) {
      const got = nodes.find((x: any) => x.name === n.name);
      expect({ ...got }).toMatchObject({ name: n.name, roles: n.roles, internalIP: n.internalIP, podCIDRs: n.podCIDRs, containerRuntime: n.containerRuntime, taints: n.taints ?? [] });
    }
    for (const p of POLICY_CORPUS) {
      const file = path.join(snap, 'networkpolicies', p.metadata.namespace, `${p.metadata.name}.yaml`);
      expect([p.metadata.name, YAML.parse(fs.readFileSync(file, 'utf8'))]).toEqual([p.metadata.name, p]);
    }
    const text = fs.readFileSync(path.join(snap, 'weave', 'daemonset-kube-system-weave-net.yaml'), 'utf8');
    expect(text).not.toMatch(/uid:|resourceVersion|managedFields|creationTimestamp|last-applied-configuration|^status:/m);
    expect(YAML.parse(fs.readFileSync(path.join(snap, 'network.yaml'), 'utf8'))).toMatchObject({ weaveCIDR: '10.32.0.0/12', serviceCIDR: '10.96.0.0/12' });
    // Synth runs on it.
    fs.rmSync(ws.cluster, { recursive: true });
    fs.renameSync(snap, ws.cluster);
    expect((await cli(ws, 'synth')).code).toBe(0);
  });

  it('records Windows nodes and virtual kubelets, which synth leaves out of the waves with a finding naming them', async () => {
    const nodes = (api as any).lists.get('/api/v1/nodes') as any[];
    const extra = (name: string, labels: Record<string, string>, taints: object[]) => ({
      apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: { taints },
      status: { addresses: [{ type: 'InternalIP', address: name === 'win-1' ? '192.168.56.40' : '10.240.0.99' }], nodeInfo: { containerRuntimeVersion: 'containerd://1.7.20' } },
    });
    api.setList('/api/v1/nodes', [...nodes,
      extra('win-1', { 'kubernetes.io/os': 'windows', 'beta.kubernetes.io/os': 'windows' }, [{ key: 'os', value: 'windows', effect: 'NoSchedule' }]),
      // As AKS labels and taints its virtual nodes.
      extra('virtual-node-aci-linux', { 'kubernetes.io/os': 'linux', type: 'virtual-kubelet', 'kubernetes.azure.com/managed': 'false' }, [{ key: 'virtual-kubelet.io/provider', value: 'azure', effect: 'NoSchedule' }]),
    ]);
    const snap = path.join(ws.dir, 'snap');
    expect(await snapshot(snap)).toMatchObject({ code: 0 });
    const inv = YAML.parse(fs.readFileSync(path.join(snap, 'nodes.yaml'), 'utf8')).nodes;
    expect(inv.find((n: any) => n.name === 'win-1')).toMatchObject({ os: 'windows' });
    expect(inv.find((n: any) => n.name === 'virtual-node-aci-linux')).toMatchObject({ virtualKubelet: true });
    expect(inv.find((n: any) => n.name === 'worker-1').os).toBeUndefined();
    fs.rmSync(ws.cluster, { recursive: true });
    fs.renameSync(snap, ws.cluster);
    const plan = await cli(ws, 'plan');
    expect(plan.stdout).toMatch(/2 node\(s\) cannot run the node switches or calico-node and are left out of the waves and the gates: virtual-node-aci-linux \(a virtual kubelet\), win-1 \(a windows node\)/);
    const steps = await cli(ws, 'steps');
    expect(steps.stdout).not.toMatch(/win-1|virtual-node/);
    setStep(ws, 'nodes-1');
    expect((await cli(ws, 'synth')).code).toBe(0);
    // The waves' switch DaemonSets name worker-1 and neither of the others.
    const named = readManifests(ws.dist).filter((m) => m.obj.kind === 'DaemonSet' && m.obj.metadata.name.startsWith('cni-migrate-switch-wave-'))
      .flatMap((m) => m.obj.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values);
    expect(named).toContain('worker-1');
    expect(named.filter((n: string) => n === 'win-1' || n === 'virtual-node-aci-linux')).toEqual([]);
    // Named in an explicit wave, such a node is refused with the field and why.
    editConfig(ws, (d) => { d.spec.nodes.waves = [['win-1'], ['worker-1']]; delete d.spec.nodes.waveStrategy; });
    const bad = await cli(ws, 'synth');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.nodes\.waves\[0\]\[0\].*node "win-1" is a windows node, which cannot run the node switches or calico-node/);
  });

  it('names as long as the API allows fit in a file name (255 bytes): the policy and the control-plane node round-trip through synth', async () => {
    // A DNS-subdomain name of 253 characters in a 63-character namespace: legal in the API, and
    // `networkpolicy-<namespace>-<name>.yaml` is 336 bytes, past NAME_MAX (synth died on ENAMETOOLONG).
    const namespace = `ns-${'n'.repeat(60)}`;
    const longName = (head: string) => `${head}.${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}`.padEnd(253, 'z');
    const policyName = longName('allow-from-a-very-long-selector');
    const nodeName = longName('cp-0');
    expect([policyName.length, nodeName.length, namespace.length]).toEqual([253, 253, 63]);
    const policy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: policyName, namespace }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    api.setList('/apis/networking.k8s.io/v1/networkpolicies', [...POLICY_CORPUS, policy].map(withServerFields));
    api.setList('/api/v1/namespaces', [...CORPUS_NAMESPACES, namespace].map((n) => withServerFields({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } })));
    const nodes = (api as any).lists.get('/api/v1/nodes') as any[];
    const cp1 = nodes.find((n) => n.metadata.name === 'cp-1');
    api.setList('/api/v1/nodes', [...nodes, { ...cp1, metadata: { ...cp1.metadata, name: nodeName, labels: { ...cp1.metadata.labels, 'kubernetes.io/hostname': nodeName } },
      spec: { ...cp1.spec, podCIDR: '10.32.240.0/24', podCIDRs: ['10.32.240.0/24'] }, status: { ...cp1.status, addresses: [{ type: 'InternalIP', address: '10.240.0.250' }] } }]);
    const kcm = readDemo('control-plane/kube-controller-manager/cp-1.yaml');
    api.setList('/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-controller-manager', [...['cp-1', 'cp-2'].map((n) => readDemo(`control-plane/kube-controller-manager/${n}.yaml`)),
      { ...kcm, metadata: { ...kcm.metadata, name: `kube-controller-manager-${nodeName}`.slice(0, 253) }, spec: { ...kcm.spec, nodeName } }].map(withServerFields));

    const snap = path.join(ws.dir, 'snap');
    expect(await snapshot(snap)).toMatchObject({ code: 0 });
    const fileNames = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).map((rel) => path.basename(rel));
    expect(fileNames(snap).filter((f) => Buffer.byteLength(f) > 255)).toEqual([]);
    // The shortened names still start with what they name, and read back as the objects.
    const [policyFile] = fs.readdirSync(path.join(snap, 'networkpolicies', namespace));
    expect(policyFile).toMatch(/^allow-from-a-very-long-selector\.a+\.b+\.c+z*-[0-9a-f]{16}\.yaml$/);
    expect(YAML.parse(fs.readFileSync(path.join(snap, 'networkpolicies', namespace, policyFile), 'utf8'))).toEqual(policy);
    const kcmFile = fs.readdirSync(path.join(snap, 'control-plane', 'kube-controller-manager')).find((f) => f.startsWith('cp-0.'));
    expect(YAML.parse(fs.readFileSync(path.join(snap, 'control-plane', 'kube-controller-manager', kcmFile!), 'utf8')).spec.nodeName).toBe(nodeName);

    fs.rmSync(ws.cluster, { recursive: true });
    fs.renameSync(snap, ws.cluster);
    for (const step of ['adopt', 'policies-restored']) {
      setStep(ws, step);
      const r = await cli(ws, 'synth');
      expect([step, r.code, r.stderr]).toEqual([step, 0, expect.not.stringMatching(/error/i)]);
      expect(fileNames(ws.dist).filter((f) => Buffer.byteLength(f) > 255)).toEqual([]);
      const written = readManifests(ws.dist).filter((m) => m.obj.kind === 'NetworkPolicy' && m.obj.metadata.name === policyName);
      expect(written.map((m) => path.basename(m.file))).toEqual([expect.stringMatching(/^networkpolicy-ns-n+-allow-from-a-very-long-selector\.a+\.b+-[0-9a-f]{16}\.yaml$/)]);
      expect(Buffer.byteLength(path.basename(written[0].file))).toBe(255);
    }
    // A policy moved to a file its name does not give is still refused, naming the right file.
    const dir = path.join(ws.cluster, 'networkpolicies', namespace);
    fs.renameSync(path.join(dir, policyFile), path.join(dir, `${policyName.slice(0, 240)}.yaml`));
    const moved = await cli(ws, 'synth');
    expect(moved.code).toBe(2);
    expect(moved.stderr).toContain(`the file networkpolicies/${namespace}/${policyFile}`);
  });

  it('leaves out the tracking marks this migration\'s own Application or Kustomizations put on what adopt took over', async () => {
    await snapshot(path.join(ws.dir, 'before'));
    // After adopt, Argo CD 3 (annotation), Argo CD 2 (label) or Flux has marked every adopted object.
    const own = (o: any, i: number) => {
      const ref = `${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}/${o.kind}:${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      const marks = [
        { annotations: { 'argocd.argoproj.io/tracking-id': `cni-migrate-demo:${ref}` } },
        { labels: { 'app.kubernetes.io/instance': 'cni-migrate-demo' } },
        { labels: { 'kustomize.toolkit.fluxcd.io/name': 'cni-migrate-demo-30-policies', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } },
      ][i % 3];
      const metadata = { ...o.metadata };
      if (marks.labels) metadata.labels = { ...o.metadata.labels, ...marks.labels };
      if (marks.annotations) metadata.annotations = { ...o.metadata.annotations, ...marks.annotations };
      return { ...o, metadata };
    };
    const policies = (api as any).lists.get('/apis/networking.k8s.io/v1/networkpolicies') as any[];
    api.setList('/apis/networking.k8s.io/v1/networkpolicies', policies.map((p, i) => (p.metadata.name === 'from-flux' || p.metadata.name === 'argocd-server' ? p : own(p, i))));
    const dsPath = '/apis/apps/v1/namespaces/kube-system/daemonsets/weave-net';
    api.setObject(dsPath, own((api as any).objects.get(dsPath), 0));
    await snapshot(path.join(ws.dir, 'after'));
    // Byte for byte what a snapshot before adopt wrote: no churn in git, and no other owner for plan.
    expect(treeDigest(path.join(ws.dir, 'after'))).toEqual(treeDigest(path.join(ws.dir, 'before')));
    // Another owner's marks stay: plan needs them to warn.
    const fromFlux = YAML.parse(fs.readFileSync(path.join(ws.dir, 'after', 'networkpolicies', 'flux-apps', 'from-flux.yaml'), 'utf8'));
    expect(fromFlux.metadata.labels['kustomize.toolkit.fluxcd.io/name']).toBe('apps');
  });

  it('is deterministic: a second snapshot of the same cluster is byte-identical', async () => {
    await snapshot(path.join(ws.dir, 'a'));
    await snapshot(path.join(ws.dir, 'b'));
    const a = treeDigest(path.join(ws.dir, 'a'));
    expect(a.size).toBeGreaterThan(55);
    expect(treeDigest(path.join(ws.dir, 'b'))).toEqual(a);
  });

  it('starts a list over when its continue token expires', async () => {
    api.faults.expireContinueOnce = ['/apis/networking.k8s.io/v1/networkpolicies'];
    const r = await snapshot();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/continue token expired; listing again from the start/);
    expect(fs.readdirSync(path.join(ws.dir, 'snap', 'networkpolicies')).filter((n) => !n.startsWith('.')).length).toBe(10);
    expect(fs.readFileSync(path.join(ws.dir, 'snap', 'networkpolicies', '.captured'), 'utf8')).toBe('NetworkPolicies captured by cni-migrate snapshot: 44\n');
    expect(r.stdout).toMatch(/44 NetworkPolicies/);
  });

  it('retries 429 (after Retry-After), 5xx and a slow answer', async () => {
    api.faults.tooManyRequests = { '/api/v1/nodes': 2 };
    api.faults.serverErrors = { '/api/v1/namespaces': 2 };
    api.faults.slowOnce = { '/api/v1/namespaces/kube-system/configmaps/kubeadm-config': 2500 };
    const t0 = Date.now();
    const r = await snapshot(path.join(ws.dir, 'snap'), '--timeout', '1');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/GET \/api\/v1\/nodes\?limit=500: HTTP 429: too many requests.*retrying in 1000 ms/);
    expect(r.stderr).toMatch(/HTTP 500: etcdserver: request timed out; retrying/);
    expect(r.stderr).toMatch(/kubeadm-config: no complete answer within 1000 ms; retrying/);
    expect(Date.now() - t0).toBeGreaterThan(2000);
    expect(fs.existsSync(path.join(ws.dir, 'snap', 'control-plane', 'kubeadm-config.yaml'))).toBe(true);
  });

  (haveMount ? it : it.skip)('on a full disk says so in one line, exit 2, and keeps cluster/ as it was', async () => {
    // The mounts live only in the snapshot's own namespace: the inputs go into a 1 MiB tmpfs,
    // dd fills it, and the digests of cluster/ before and after are written outside it. (`cd .`
    // enters the tmpfs: the shell's working folder is still the one the mount covered.)
    const disk = path.join(ws.dir, 'disk');
    fs.mkdirSync(disk);
    const digest = 'find cluster -type f | sort | xargs sha256sum';
    const r = await run(['--config', 'migration.yaml', 'snapshot', '--kubeconfig', kubeconfig], disk, {
      before: `mount -t tmpfs -o size=1m tmpfs . && cd . && cp -r ../migration.yaml ../cluster . && ${digest} > ../before && { dd if=/dev/zero of=fill bs=4k 2> /dev/null; true; }`,
      after: `${digest} > ../after; ls -A > ../entries`,
    });
    expect(r.code).toBe(2);
    // The progress lines, then the one line that says why it stopped.
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => !/^snapshot: [^:]+: \d+( so far)?$/.test(l))).toEqual([lines[lines.length - 1]]);
    // Not a byte free: the first write is the lock's (Node names no path for a failed write).
    expect(lines[lines.length - 1]).toMatch(/^\S*\/disk\/\.cni-migrate\.lock: \(file\): cannot write: ENOSPC \(no space left on the device\); cluster\/ kept as it was/);
    const read = (f: string) => fs.readFileSync(path.join(ws.dir, f), 'utf8');
    expect(read('after')).toBe(read('before'));
    // No staged cluster/, and no empty lock for the next run to misread.
    expect(read('entries').trim().split('\n').sort()).toEqual(['cluster', 'fill', 'migration.yaml']);
  });

  it('names the missing permission on 403 and leaves the existing cluster/ untouched', async () => {
    const before = treeDigest(ws.cluster);
    api.faults.forbidden = ['/apis/networking.k8s.io/v1/networkpolicies'];
    const r = await run(['--config', ws.config, 'snapshot', '--kubeconfig', kubeconfig], ws.dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/forbidden: the snapshot needs "list" on networkpolicies\.networking\.k8s\.io at the cluster scope/);
    expect(treeDigest(ws.cluster)).toEqual(before);
    expect(fs.readdirSync(ws.dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('finds the service CIDR through a dry-run create when no kube-apiserver pod shows it', async () => {
    api.setList('/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-apiserver', []);
    api.serviceProbeMessage = 'Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"0.0.0.1"}: failed to allocate IP 0.0.0.1: the provided IP (0.0.0.1) is not in the valid range. The range of valid IPs is 172.20.0.0/16';
    const r = await snapshot();
    expect(r.code).toBe(0);
    expect(api.requests).toContain('POST /api/v1/namespaces/default/services?dryRun=All');
    expect(YAML.parse(fs.readFileSync(path.join(ws.dir, 'snap', 'network.yaml'), 'utf8'))).toMatchObject({ serviceCIDR: '172.20.0.0/16' });
  });

  it('with Flux, records kustomize-controller\'s image; plan refuses adopt below v1.5.0 (deletionPolicy) and only warns once under way', async () => {
    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    const deployment = (image: string) => withServerFields({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'kustomize-controller', namespace: 'flux-system' },
      spec: { template: { spec: { containers: [{ name: 'manager', image }] } } },
    });
    const snapAndPlan = async (step: string) => {
      const out = path.join(ws.dir, 'cluster');
      const r = await snapshot(out);
      expect([r.code, r.stderr]).toEqual([0, r.code === 0 ? r.stderr : ""]);
      setStep(ws, step);
      const p = await cli(ws, 'plan', '--json');
      return { snap: r, gitops: YAML.parse(fs.readFileSync(path.join(out, 'gitops.yaml'), 'utf8')), plan: p, findings: JSON.parse(p.stdout).findings.filter((f: any) => f.code.startsWith('flux-')) };
    };

    api.setObject('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller', deployment('ghcr.io/fluxcd/kustomize-controller:v1.4.1'));
    let t = await snapAndPlan('adopt');
    expect(t.gitops).toEqual({ apiVersion: 'cni-migrate.io/v1alpha1', kind: 'GitOpsFacts', flux: { namespace: 'flux-system', kustomizeControllerImage: 'ghcr.io/fluxcd/kustomize-controller:v1.4.1' } });
    expect(t.plan.code).toBe(1);
    expect(t.findings.map((f: any) => [f.severity, f.code, f.field])).toEqual([['error', 'flux-too-old', 'flux.kustomizeControllerImage']]);
    expect(t.findings[0].message).toContain('kustomize-controller is v1.4.1');
    // Under way, the same Flux is a warning: it must not block a step, or a revert.
    setStep(ws, 'calico');
    const under = await cli(ws, 'plan', '--json');
    expect(JSON.parse(under.stdout).findings.filter((f: any) => f.code === 'flux-too-old').map((f: any) => f.severity)).toEqual(['warning']);

    // v1.5.0 and later (a vendor's build suffix and a digest included) pass.
    for (const image of ['ghcr.io/fluxcd/kustomize-controller:v1.5.0', 'public.ecr.aws/eks-anywhere/fluxcd/kustomize-controller:v1.6.0-eks-a-v0.22.0-build.1', 'registry:5000/kustomize-controller:v2.0.1@sha256:' + 'a'.repeat(64)]) {
      api.setObject('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller', deployment(image));
      t = await snapAndPlan('adopt');
      expect([image, t.findings]).toEqual([image, []]);
    }
    // A tag without a version, or no controller at all: a warning that says how to check.
    api.setObject('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller', deployment('registry:5000/kustomize-controller@sha256:' + 'b'.repeat(64)));
    t = await snapAndPlan('adopt');
    expect(t.findings.map((f: any) => [f.severity, f.code])).toEqual([['warning', 'flux-version-unknown']]);
    expect(t.findings[0].fix).toContain('`flux version` prints the version of each controller');
    api.setObject('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller', undefined);
    t = await snapAndPlan('adopt');
    expect(t.snap.stderr).toContain('warning: no Deployment flux-system/kustomize-controller found');
    expect(t.gitops.flux).toEqual({ namespace: 'flux-system' });
    expect(t.findings.map((f: any) => [f.severity, f.code])).toEqual([['warning', 'flux-version-unknown']]);
    expect(t.findings[0].fix).toContain('kubectl -n flux-system get deployment kustomize-controller');
    // No read access to Flux's namespace: the snapshot is still taken (the version is only a
    // fact for plan), with a warning naming the permission, and plan warns it cannot check.
    api.setObject('/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller', deployment('ghcr.io/fluxcd/kustomize-controller:v1.4.1'));
    api.faults = { forbidden: ['/apis/apps/v1/namespaces/flux-system/deployments/kustomize-controller'] };
    t = await snapAndPlan('adopt');
    api.faults = {};
    expect(t.snap.stderr).toContain('warning: cannot read Deployment flux-system/kustomize-controller (forbidden: the snapshot needs "get" on');
    expect(t.gitops.flux).toEqual({ namespace: 'flux-system' });
    expect(t.findings.map((f: any) => [f.severity, f.code])).toEqual([['warning', 'flux-version-unknown']]);
  });

  it('refuses an unknown context and a missing kubeconfig with one line', async () => {
    const r = await snapshot(path.join(ws.dir, 'snap'), '--context', 'prod');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('cni-migrate: context "prod" is not in the kubeconfig (it has: fake)');
    const m = await run(['--config', ws.config, 'snapshot', '--kubeconfig', path.join(os.tmpdir(), 'no-such-kubeconfig')], ws.dir);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/cannot load the kubeconfig/);
  });
});

describe('policy corpus round trip', () => {
  it('adopt and policies-restored emit every policy exactly as it was, server fields stripped', async () => {
    const api = demoServer();
    const url = await api.start();
    try {
      const ws = demoWorkspace();
      // Restored exactly as captured: no rewrites; the policies that name Weave's range acknowledged.
      editConfig(ws, (d) => (d.spec.policies = { rewriteIPBlocks: false, acknowledge: ['payments/ipblock-weave', 'payments/ipblock-weave-subnet'] }));
      const r = await run(['--config', ws.config, 'snapshot', '--kubeconfig', api.writeKubeconfig(ws.dir, url)], ws.dir);
      expect(r.code).toBe(0);
      expect(POLICY_CORPUS.length).toBeGreaterThanOrEqual(40);
      for (const step of ['adopt', 'policies-restored']) {
        setStep(ws, step);
        expect((await cli(ws, 'synth')).code).toBe(0);
        const emitted = readManifests(ws.dist).filter((m) => m.obj.kind === 'NetworkPolicy').map((m) => {
          const o = structuredClone(m.obj);
          delete o.metadata.annotations['argocd.argoproj.io/sync-wave'];
          if (Object.keys(o.metadata.annotations).length === 0) delete o.metadata.annotations;
          return o;
        });
        const key = (o: any) => `${o.metadata.namespace}/${o.metadata.name}`;
        expect(emitted.sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual([...POLICY_CORPUS].sort((a, b) => (key(a) < key(b) ? -1 : 1)));
      }
      setStep(ws, 'policies-suspended');
      await cli(ws, 'synth');
      expect(readManifests(ws.dist).filter((m) => m.obj.kind === 'NetworkPolicy')).toEqual([]);
    } finally {
      await api.stop();
    }
  });
});

describe('snapshot during the migration', () => {
  it('keeps the policy and Weave backups once the current step has removed them from the cluster', async () => {
    const api = demoServer();
    // The cluster as it is at weave-removed: no policies, no Weave.
    api.setList('/apis/networking.k8s.io/v1/networkpolicies', []);
    api.setObject('/apis/apps/v1/namespaces/kube-system/daemonsets/weave-net', undefined);
    const url = await api.start();
    try {
      const ws = demoWorkspace();
      setStep(ws, 'weave-removed');
      const before = { policies: treeDigest(path.join(ws.cluster, 'networkpolicies')), weave: treeDigest(path.join(ws.cluster, 'weave')) };
      const r = await run(['--config', ws.config, 'snapshot', '--kubeconfig', api.writeKubeconfig(ws.dir, url)], ws.dir);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/kept the 12 backed-up NetworkPolicies/);
      expect(r.stderr).toMatch(/kept the 7 adopted Weave objects/);
      const kept = treeDigest(path.join(ws.cluster, 'networkpolicies'));
      expect(kept.has('.captured')).toBe(true);
      kept.delete('.captured');
      before.policies.delete('.captured');
      expect(kept).toEqual(before.policies);
      expect(treeDigest(path.join(ws.cluster, 'weave'))).toEqual(before.weave);
      expect(api.requests.some((q) => q.includes('/networkpolicies'))).toBe(false);
    } finally {
      await api.stop();
    }
  });
});

describe('a snapshot never writes what would make synth prune (issue 19, data loss)', () => {
  const attempt = async (breakIt: (api: FakeApiServer) => void, why: RegExp) => {
    const api = demoServer();
    breakIt(api);
    const url = await api.start();
    try {
      const ws = demoWorkspace();
      const before = treeDigest(ws.cluster);
      const r = await run(['--config', ws.config, 'snapshot', '--kubeconfig', api.writeKubeconfig(ws.dir, url)], ws.dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(treeDigest(ws.cluster)).toEqual(before);
      expect(fs.readdirSync(ws.dir).filter((n) => n.startsWith('.'))).toEqual([]);
    } finally {
      await api.stop();
    }
  };

  it('one 404 for Weave\'s DaemonSet keeps the previous cluster/', () =>
    attempt((api) => api.setObject('/apis/apps/v1/namespaces/kube-system/daemonsets/weave-net', undefined), /^snapshot: DaemonSet kube-system\/weave-net: not found; cluster\/ was left as it was/m));

  it('an empty node list keeps the previous cluster/', () =>
    attempt((api) => api.setList('/api/v1/nodes', []), /^snapshot: nodes: the API server listed no nodes; nothing was written/m));

  it('what synth would refuse is refused before the swap (synth\'s own reader)', () =>
    attempt((api) => api.setList('/apis/networking.k8s.io/v1/networkpolicies', [withServerFields({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'x', namespace: 'shop' }, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '999.1.2.3/77' } }] }] } })]),
      /^cluster\/networkpolicies\/shop\/x\.yaml: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: got "999\.1\.2\.3\/77"/m));
});

describe('a missing backup mid-migration is an error in synth, plan and guard', () => {
  it.each(['weave', 'networkpolicies'])('cluster/%s deleted at nodes-1', async (folder) => {
    const ws = demoWorkspace();
    setStep(ws, 'nodes-1');
    expect((await cli(ws, 'synth')).code).toBe(0);
    const { execFileSync } = require('child_process');
    const git = (...a: string[]) => execFileSync('git', a, { cwd: ws.dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'base');
    const dist = treeDigest(ws.dist);
    fs.rmSync(path.join(ws.cluster, folder), { recursive: true });
    const code = folder === 'weave' ? 'weave-backup-missing' : 'policy-backup-missing';
    const s = await cli(ws, 'synth');
    expect([s.code, s.stderr]).toEqual([2, expect.stringMatching(new RegExp(`\\[${code}\\]`))]);
    expect(treeDigest(ws.dist)).toEqual(dist);
    const p = await cli(ws, 'plan');
    expect(p.code).toBe(1);
    expect(p.stdout).toMatch(new RegExp(`^ERROR ${code}: `, 'm'));
    const g = await cli(ws, 'guard', '--from', 'HEAD');
    expect(g.code).toBe(1);
    expect(g.stdout + g.stderr).toMatch(new RegExp(`cluster/${folder}.* is missing at the working tree, but step nodes-1 (applies it|keeps it as the only backup)`));
    // At weave-removed, a missing Weave backup only warns (the step does not apply Weave).
    if (folder === 'weave') {
      setStep(ws, 'weave-removed');
      const later = await cli(ws, 'plan');
      expect(later.stdout).toMatch(/^WARNING weave-backup-missing: .*reverting to a step with Weave would have nothing to bring back/m);
    }
  });
});

describe('every API command ends (issue 19, hangs and resources)', () => {
  const t = demoServerPerTest();
  const snapshot = (...extra: string[]) => run(['--config', t.ws.config, 'snapshot', '--kubeconfig', t.kubeconfig, ...extra], t.ws.dir);
  const unchanged = (before: Map<string, string>) => expect(treeDigest(t.ws.cluster)).toEqual(before);
  const lastLine = (s: string) => s.trim().split('\n').at(-1)!;

  it('an answer that trickles a byte at a time is cut at the request timeout, and the deadline ends the command', async () => {
    t.api.faults.trickle = ['/api/v1/nodes'];
    const before = treeDigest(t.ws.cluster);
    const t0 = Date.now();
    const r = await snapshot('--timeout', '2', '--deadline', '7');
    const took = Date.now() - t0;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no complete answer within 2000 ms; retrying/);
    expect(lastLine(r.stderr)).toMatch(/^cni-migrate: GET \/api\/v1\/nodes\?limit=500: the deadline of 7 s passed/);
    expect(took).toBeLessThan(12000);
    unchanged(before);
  });

  it('a silent server: progress while waiting, then the deadline (status too, with --request-timeout)', async () => {
    t.api.faults.silent = ['/api/v1/nodes'];
    const r = await snapshot('--timeout', '30', '--deadline', '7');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^snapshot: GET \/api\/v1\/nodes\?limit=500: still waiting for the answer \(5 s\)$/m);
    expect(lastLine(r.stderr)).toMatch(/the deadline of 7 s passed/);
    const t0 = Date.now();
    const s = await run(['--config', t.ws.config, 'status', '--kubeconfig', t.kubeconfig, '--request-timeout', '2', '--timeout', '5'], t.ws.dir);
    expect(s.code).toBe(2);
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(lastLine(s.stderr)).toMatch(/^cni-migrate: GET \/api\/v1\/nodes\?limit=500: the deadline of 5 s passed/);
  });

  it('a continue token handed out twice stops the list instead of paging forever', async () => {
    t.api.faults.repeatContinue = ['/apis/networking.k8s.io/v1/networkpolicies'];
    const before = treeDigest(t.ws.cluster);
    const r = await snapshot();
    expect(r.code).toBe(2);
    expect(lastLine(r.stderr)).toBe('cni-migrate: listing networkpolicies: the API server returned a continue token it had returned before, after 7 items; it would page forever');
    unchanged(before);
  });

  it('an HTML page, a body over the size cap, and names that would leave cluster/: one line, exit 2, nothing written', async () => {
    const before = treeDigest(t.ws.cluster);
    t.api.faults.html = ['/api/v1/nodes'];
    let r = await snapshot();
    expect([r.code, lastLine(r.stderr)]).toEqual([2, 'cni-migrate: GET /api/v1/nodes: the answer is not JSON (HTTP 200, text/html, 40 bytes): is the kubeconfig pointing at an API server, or at a proxy or login page?']);
    t.api.faults = { huge: { '/api/v1/nodes': 80 * 1024 * 1024 } };
    r = await snapshot();
    expect([r.code, lastLine(r.stderr)]).toEqual([2, `cni-migrate: GET /api/v1/nodes?limit=500: the answer is larger than ${64 * 1024 * 1024} bytes; refusing to hold it in memory`]);
    t.api.faults = {};
    for (const [name, shown] of [['../../../evil', '"../../../evil"'], ['x'.repeat(10000), `"${'x'.repeat(60)}"… \\(10000 characters\\)`]]) {
      t.api.setList('/apis/networking.k8s.io/v1/networkpolicies', [withServerFields({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec: { podSelector: {} } })]);
      r = await snapshot();
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('cni-migrate:'))).toEqual([expect.stringMatching(new RegExp(`^cni-migrate: the API server returned a NetworkPolicy named ${shown.replace(/\./g, '\\.')}, which is not a valid Kubernetes name; nothing was written$`))]);
    }
    unchanged(before);
  });
});

describe('snapshot --nodes-only: the inventory commit (issue 17)', () => {
  const t = demoServerPerTest();
  const nodesOnly = () => run(['--config', t.ws.config, 'snapshot', '--kubeconfig', t.kubeconfig, '--nodes-only'], t.ws.dir);
  const liveNodes = () => t.api.getList('/api/v1/nodes') as any[];
  const joined = (name: string) => ({ ...liveNodes().find((n) => n.metadata.name === 'worker-1'), metadata: { ...liveNodes()[0].metadata, name, labels: { 'kubernetes.io/hostname': name } } });
  const inventory = () => YAML.parse(fs.readFileSync(path.join(t.ws.cluster, 'nodes.yaml'), 'utf8'));

  it('at nodes-3: drops a deleted node from the inventory and its switched wave, pins the waves, leaves a newcomer to its DaemonSet', async () => {
    setStep(t.ws, 'nodes-3');
    const configBefore = fs.readFileSync(t.ws.config, 'utf8');
    t.api.setList('/api/v1/nodes', [...liveNodes().filter((n) => n.metadata.name !== 'worker-3'), joined('worker-new-1')]);
    const r = await nodesOnly();
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cni-migrate'))).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^snapshot --nodes-only: at nodes-3: removed worker-3 \(gone from the cluster\); spec\.nodes\.waves written/m);
    expect(r.stdout).toMatch(/worker-new-1 joined after the first wave: left out of the inventory; the DaemonSet kube-system\/cni-migrate-newcomer-switch converges them/);
    const inv = inventory();
    expect(inv.nodes.map((n: any) => n.name)).toEqual(['cp-1', 'cp-2', 'worker-1', 'worker-2', 'worker-gpu-1']);
    expect(inv.reconciled).toEqual({ atStep: 'nodes-3', removed: ['worker-3'], added: [], leftToNewcomers: ['worker-new-1'] });
    // The strategy's waves, pinned as they are, minus the node gone: nothing moves between waves.
    const config = fs.readFileSync(t.ws.config, 'utf8');
    expect(YAML.parse(config).spec.nodes.waves).toEqual([['worker-1'], ['worker-2'], ['worker-gpu-1'], ['cp-1'], ['cp-2']]);
    expect(YAML.parse(config).spec.nodes.waveStrategy).toBeUndefined();
    // Only spec.nodes changed: the header comment and the step are as they were.
    expect(config.split('\n').slice(0, 2)).toEqual(configBefore.split('\n').slice(0, 2));
    expect(YAML.parse(config).spec.step).toBe('nodes-3');
    // synth takes it: no Job for worker-3 any more, and PLAN.md says what the commit is.
    const out = path.join(t.ws.dir, 'out');
    const s = await cli(t.ws, 'synth', '--out', out);
    expect(s.code).toBe(0);
    expect(readManifests(out).filter((m) => m.obj.kind === 'Job' && m.obj.spec.template.spec.nodeName === 'worker-3')).toEqual([]);
    expect(fs.readFileSync(path.join(out, 'PLAN.md'), 'utf8')).toContain('inventory commit at nodes-3 (`cni-migrate snapshot --nodes-only`): cluster/nodes.yaml was reconciled with the live cluster: removed 1 node(s) gone from the cluster (worker-3); left worker-new-1 to the newcomers\' DaemonSet');
    // A second run against the same cluster changes nothing.
    const again = await nodesOnly();
    expect(again.stdout).toMatch(/the inventory matches the live nodes; nothing written/);
    expect(fs.readFileSync(t.ws.config, 'utf8')).toBe(config);
  });

  it('before the first wave: records a node that joined, and the strategy deals it a wave', async () => {
    setStep(t.ws, 'policies-suspended');
    const configBefore = fs.readFileSync(t.ws.config, 'utf8');
    t.api.setList('/api/v1/nodes', [...liveNodes(), joined('worker-new-1')]);
    const r = await nodesOnly();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^snapshot --nodes-only: at policies-suspended: added worker-new-1$/m);
    expect(inventory().nodes.map((n: any) => n.name)).toContain('worker-new-1');
    expect(fs.readFileSync(t.ws.config, 'utf8')).toBe(configBefore);
  });

  it('refuses to empty a wave (the steps after it would be renumbered), naming it; nothing is written', async () => {
    setStep(t.ws, 'nodes-3');
    const before = treeDigest(t.ws.dir);
    t.api.setList('/api/v1/nodes', liveNodes().filter((n) => n.metadata.name !== 'worker-gpu-1'));
    const r = await nodesOnly();
    expect(r.code).toBe(2);
    // One line (the progress lines aside) naming the field, the value and the way out.
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('snapshot:'))).toEqual([expect.stringMatching(/migration\.yaml.*spec\.nodes\.waves\[2\].*every node of wave 3 is gone from the cluster \(worker-gpu-1\).*nothing was written/)]);
    expect(treeDigest(t.ws.dir)).toEqual(before);
  });
});
