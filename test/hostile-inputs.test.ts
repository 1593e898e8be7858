/**
 * Inputs tried as an attacker or a clumsy operator would (issue 19): nothing is read from outside
 * the repository or through a symlink, nothing that is not Calico's or Weave's is adopted, every
 * captured object is what the API server would accept, and every refusal is one line, exit 2,
 * with nothing written and no content of the refused file in the message.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { cli, demoWorkspace, editConfig, setStep, treeDigest, type Workspace } from './support/workspace';

const SECRET = 'c3VwZXItc2VjcmV0LXRva2Vu';

/** A file outside the workspace holding a Secret, as an attacker would point a link at. */
function outsideSecret(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-outside-'));
  const file = path.join(dir, 'secret.yaml');
  fs.writeFileSync(file, YAML.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'stolen', namespace: 'kube-system' }, data: { token: SECRET } }));
  return file;
}

async function refused(ws: Workspace, why: RegExp, ...args: string[]): Promise<string> {
  const dist = treeDigest(ws.dist);
  const gitops = treeDigest(ws.gitops);
  const r = await cli(ws, ...(args.length ? args : ['synth']));
  expect([r.code, r.stderr.trim().split('\n')]).toEqual([2, [expect.stringMatching(why)]]);
  expect(r.stderr + r.stdout).not.toContain(SECRET);
  expect(treeDigest(ws.dist)).toEqual(dist);
  expect(treeDigest(ws.gitops)).toEqual(gitops);
  return r.stderr;
}

async function synthed(step = 'adopt'): Promise<Workspace> {
  const ws = demoWorkspace();
  setStep(ws, step);
  expect((await cli(ws, 'synth')).code).toBe(0);
  return ws;
}

describe('files outside the repository are never read', () => {
  it('a symlink in cluster/networkpolicies or cluster/weave, or as a folder of cluster/', async () => {
    const ws = await synthed();
    const link = path.join(ws.cluster, 'networkpolicies', 'shop', 'zz-link.yaml');
    fs.symlinkSync(outsideSecret(), link);
    await refused(ws, /networkpolicies\/shop\/zz-link\.yaml: \(file\): is a symbolic link; inputs are read from regular files inside the repository only/);
    fs.rmSync(link);
    fs.symlinkSync(outsideSecret(), path.join(ws.cluster, 'weave', 'secret.yaml'));
    await refused(ws, /weave\/secret\.yaml: \(file\): is a symbolic link/);
    fs.rmSync(path.join(ws.cluster, 'weave', 'secret.yaml'));
    fs.renameSync(path.join(ws.cluster, 'control-plane'), path.join(ws.dir, 'cp-elsewhere'));
    fs.symlinkSync(path.join(ws.dir, 'cp-elsewhere'), path.join(ws.cluster, 'control-plane'));
    await refused(ws, /control-plane.*symbolic link/);
  });

  it('spec.calico.manifest outside the repository, absolute, a symlink, or a device', async () => {
    const ws = await synthed('calico');
    const secret = outsideSecret();
    for (const [manifest, why] of [
      [path.relative(ws.dir, secret), /spec\.calico\.manifest: .* is outside the repository/],
      [secret, /spec\.calico\.manifest: .* is an absolute path/],
      ['/dev/zero', /spec\.calico\.manifest: .* is an absolute path/],
    ] as const) {
      editConfig(ws, (d) => (d.spec.calico.manifest = manifest));
      await refused(ws, why);
    }
    fs.symlinkSync(secret, path.join(ws.dir, 'calico.yaml'));
    editConfig(ws, (d) => (d.spec.calico.manifest = 'calico.yaml'));
    // The link resolves outside the repository; inside, it would still be refused as a link.
    await refused(ws, /spec\.calico\.manifest: "calico\.yaml" is outside the repository/);
    fs.writeFileSync(path.join(ws.dir, 'real.yaml'), 'kind: x');
    fs.rmSync(path.join(ws.dir, 'calico.yaml'));
    fs.symlinkSync(path.join(ws.dir, 'real.yaml'), path.join(ws.dir, 'calico.yaml'));
    await refused(ws, /spec\.calico\.manifest: is a symbolic link/);
    fs.rmSync(path.join(ws.dir, 'calico.yaml'));
    fs.symlinkSync('/dev/zero', path.join(ws.dir, 'calico.yaml'));
    await refused(ws, /"calico\.yaml" is outside the repository/);
  });

  it('a --cluster folder outside the repository', async () => {
    const ws = await synthed();
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-cluster-'));
    fs.cpSync(ws.cluster, elsewhere, { recursive: true });
    await refused(ws, /^--cluster: \(option\): ".*" is outside the repository/, '--cluster', elsewhere, 'synth');
  });
});

describe('only what belongs there is adopted', () => {
  const calicoWithExtra = async (extra: object) => {
    const ws = await synthed('calico');
    const upstream = path.join(__dirname, 'fixtures', 'calico-upstream-shaped.yaml');
    fs.writeFileSync(path.join(ws.dir, 'calico.yaml'), `${fs.readFileSync(upstream, 'utf8')}\n---\n${YAML.stringify(extra)}`);
    editConfig(ws, (d) => (d.spec.calico.manifest = 'calico.yaml'));
    return ws;
  };

  it('the vendored manifest holds only the kinds of a Calico install, in kube-system, binding only its own roles', async () => {
    await refused(await calicoWithExtra({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'stolen', namespace: 'kube-system' }, data: { token: SECRET } }),
      /calico\.yaml holds Secret kube-system\/stolen, which is not part of a Calico manifest install; allowed: only ClusterRole,/);
    await refused(await calicoWithExtra({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'x', namespace: 'shop' } }), /holds ServiceAccount shop\/x outside kube-system/);
    await refused(await calicoWithExtra({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'calico-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'shop' }] }),
      /ClusterRoleBinding calico-admin grants ClusterRole cluster-admin, which the manifest does not define/);
  });

  it('cluster/weave holds exactly the objects a snapshot captures', async () => {
    const ws = await synthed();
    fs.writeFileSync(path.join(ws.cluster, 'weave', 'clusterrolebinding-pwn.yaml'), YAML.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'pwn' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'shop' }] }));
    await refused(ws, /weave\/clusterrolebinding-pwn\.yaml: \(object\): rbac\.authorization\.k8s\.io\/v1 ClusterRoleBinding pwn is not one of Weave Net's objects; allowed: only what `cni-migrate snapshot` captures: DaemonSet kube-system\/weave-net,/);
  });

  it('a NetworkPolicy must be in the file its namespace and name give', async () => {
    const ws = await synthed();
    const file = path.join(ws.cluster, 'networkpolicies', 'shop', 'default-deny.yaml');
    const files = fs.readdirSync(path.dirname(file));
    const p = YAML.parse(fs.readFileSync(path.join(path.dirname(file), files[0]), 'utf8'));
    p.metadata.namespace = 'kube-system';
    fs.writeFileSync(path.join(path.dirname(file), files[0]), YAML.stringify(p));
    await refused(ws, new RegExp(`networkpolicies/shop/${files[0].replace('.', '\\.')}: metadata: NetworkPolicy kube-system/${p.metadata.name} is in the file for shop/`));
  });
});

describe('captured objects are what the API server accepts', () => {
  const policy = (ws: Workspace, edit: (p: any) => void, name = 'hostile') => {
    const p = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    edit(p);
    fs.writeFileSync(path.join(ws.cluster, 'networkpolicies', 'shop', 'hostile.yaml'), YAML.stringify(p));
  };

  it.each([
    ['a name that traverses paths', (p: any) => (p.metadata.name = '../../../evil'), /metadata\.name: got "\.\.\/\.\.\/\.\.\/evil"; allowed: a DNS subdomain name/],
    ['an ipBlock that is no CIDR', (p: any) => (p.spec.ingress = [{ from: [{ ipBlock: { cidr: '999.1.2.3/77' } }] }]), /spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: got "999\.1\.2\.3\/77"; allowed: a CIDR such as 10\.0\.0\.0\/8/],
    ['a typo in a field', (p: any) => (p.spec.policyTypez = ['Egress']), /spec\.policyTypez: unknown field \(typo\?\); allowed: the fields podSelector, policyTypes, ingress, egress/],
    ['no namespace', (p: any) => delete p.metadata.namespace, /metadata\.namespace: missing; allowed: a namespace name/],
    ['an RBAC apiVersion', (p: any) => (p.apiVersion = 'rbac.authorization.k8s.io/v1'), /apiVersion: got "rbac\.authorization\.k8s\.io\/v1"; allowed: networking\.k8s\.io\/v1/],
  ])('%s', async (_what, edit, why) => {
    const ws = await synthed();
    policy(ws, edit);
    await refused(ws, why);
  });

  it('a controller-manager without a command, or with a --cluster-cidr that is no CIDR', async () => {
    const ws = await synthed('calico');
    const file = path.join(ws.cluster, 'control-plane', 'kube-controller-manager', 'cp-1.yaml');
    const pod = YAML.parse(fs.readFileSync(file, 'utf8'));
    const command = pod.spec.containers[0].command;
    pod.spec.containers[0].command = command.map((w: string) => (w.startsWith('--cluster-cidr=') ? '--cluster-cidr=10.0.0.0/8/../..' : w));
    fs.writeFileSync(file, YAML.stringify(pod));
    await refused(ws, /cp-1\.yaml: kube-controller-manager --cluster-cidr: got "10\.0\.0\.0\/8\/\.\.\/\.\."/);
    delete pod.spec.containers[0].command;
    fs.writeFileSync(file, YAML.stringify(pod));
    await refused(ws, /cp-1\.yaml: spec\.containers\[kube-controller-manager\]\.command: missing/);
  });

  // Each of these was an internal error (exit 3, a stack) or a message with "[object Object]" in
  // it, found by mutating every field of the demo's cluster/ files in turn.
  const kubeProxy = 'control-plane/kube-proxy-daemonset.yaml';
  const controllerManager = 'control-plane/kube-controller-manager/cp-1.yaml';
  const weave = 'weave/daemonset-kube-system-weave-net.yaml';
  it.each([
    [kubeProxy, 'calico', (o: any) => (o.spec.template.spec.containers = 'kube-proxy'), /kube-proxy-daemonset\.yaml: spec\.template\.spec\.containers: got "kube-proxy"; allowed: a list of at least one container$/],
    [kubeProxy, 'nodes-2', (o: any) => (o.spec.template.spec.containers = [null]), /kube-proxy-daemonset\.yaml: spec\.template\.spec\.containers\[0\]: got null; allowed: a container \(name, image, command, args, env, …\)$/],
    [kubeProxy, 'finalized', (o: any) => o.spec.template.spec.containers[0].command.push(3), /kube-proxy-daemonset\.yaml: spec\.template\.spec\.containers\[0\]\.command\[\d+\]: got 3; allowed: a string \(one word of the command\)$/],
    [controllerManager, 'calico', (o: any) => (o.spec.containers = {}), /cp-1\.yaml: spec\.containers: got \{\}; allowed: a list of at least one container$/],
    [weave, 'calico', (o: any) => (o.spec.template.spec.containers[0].env = true), /daemonset-kube-system-weave-net\.yaml: spec\.template\.spec\.containers\[0\]\.env: got true; allowed: a list of environment variables/],
    [weave, 'calico', (o: any) => (o.spec.template.spec.containers[0].env = [{ name: 'IPALLOC_RANGE', value: 12 }]), /containers\[0\]\.env\[0\]\.value: got 12; allowed: the value, a string \(quote numbers\)$/],
    [weave, 'adopt', (o: any) => (o.metadata.namespace = {}), /daemonset-kube-system-weave-net\.yaml: metadata\.namespace: got \{\}; allowed: a namespace name$/],
    ['control-plane/kube-proxy-configmap.yaml', 'calico', (o: any) => (o.data.extra = 1), /kube-proxy-configmap\.yaml: data\.extra: got 1; allowed: a string \(ConfigMap data values are strings\)$/],
  ])('%s at %s: a field synth reads, of another type than the API server gives it', async (file, step, edit, why) => {
    const ws = await synthed(step);
    const f = path.join(ws.cluster, file);
    const obj = YAML.parse(fs.readFileSync(f, 'utf8'));
    edit(obj);
    fs.writeFileSync(f, YAML.stringify(obj));
    await refused(ws, why);
    await refused(ws, why, 'plan');
  });

  it('an optional field left empty (null), as Weave\'s own manifest leaves weave-init\'s env, is read as absent', async () => {
    const ws = await synthed('calico');
    const f = path.join(ws.cluster, weave);
    const ds = YAML.parse(fs.readFileSync(f, 'utf8'));
    ds.spec.template.spec.initContainers[0].env = null;
    ds.spec.template.spec.containers[0].args = null;
    fs.writeFileSync(f, YAML.stringify(ds));
    const r = await cli(ws, 'synth');
    expect([r.code, r.stderr]).toEqual([0, '']);
  });

  it('network.yaml holds the facts a snapshot writes, as strings', async () => {
    const ws = await synthed();
    const facts = { apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NetworkFacts', weaveCIDR: '10.32.0.0/12', serviceCIDR: { cidr: '10.96.0.0/12' } };
    fs.writeFileSync(path.join(ws.cluster, 'network.yaml'), YAML.stringify(facts));
    await refused(ws, /network\.yaml: serviceCIDR: got \{"cidr":"10\.96\.0\.0\/12"\}; allowed: a CIDR such as 10\.96\.0\.0\/12$/);
    fs.writeFileSync(path.join(ws.cluster, 'network.yaml'), YAML.stringify({ ...facts, serviceCIDR: '10.96.0.0/12', serviceCIDRSouce: 'typo' }));
    await refused(ws, /network\.yaml: serviceCIDRSouce: unknown field \(typo\?\); allowed: the fields apiVersion, kind, weaveCIDR, weaveCIDRSource, serviceCIDR, serviceCIDRSource$/);
    fs.writeFileSync(path.join(ws.cluster, 'network.yaml'), 'false\n');
    await refused(ws, /network\.yaml: \(document\): got false; allowed: the NetworkFacts written by `cni-migrate snapshot`$/);
    fs.writeFileSync(path.join(ws.cluster, 'network.yaml'), YAML.stringify({ ...facts, serviceCIDR: '10.96.0.0/12' }));
    expect((await cli(ws, 'synth')).code).toBe(0);
  });

  it('a duplicate policy names both files; a bad internalIP says it wants an address', async () => {
    const ws = await synthed();
    const dir = path.join(ws.cluster, 'networkpolicies', 'shop');
    const first = fs.readdirSync(dir)[0];
    fs.copyFileSync(path.join(dir, first), path.join(dir, `zz-${first}`));
    const msg = await refused(ws, /metadata: NetworkPolicy shop\/.* is also in /);
    expect(msg).toContain(`shop/zz-${first}`);
    expect(msg).toContain(`shop/${first}`);
    fs.rmSync(path.join(dir, `zz-${first}`));
    const inv = YAML.parse(fs.readFileSync(path.join(ws.cluster, 'nodes.yaml'), 'utf8'));
    inv.nodes[0].internalIP = '10.0.0.300';
    fs.writeFileSync(path.join(ws.cluster, 'nodes.yaml'), YAML.stringify(inv));
    await refused(ws, /internalIP: got "10\.0\.0\.300"; allowed: an IPv4 address such as 10\.0\.0\.5/);
  });
});

describe('resource limits hold for every file read', () => {
  it('an alias bomb in the vendored manifest', async () => {
    const ws = await synthed('calico');
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    fs.writeFileSync(path.join(ws.dir, 'calico.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: calico-config, namespace: kube-system}\ndata:\n  ${bomb.split('\n').join('\n  ')}\n`);
    editConfig(ws, (d) => (d.spec.calico.manifest = 'calico.yaml'));
    const t0 = Date.now();
    await refused(ws, /calico\.yaml: \(document\): expands to more than 2000000 values .*; allowed: an upstream calico\.yaml/);
    expect(Date.now() - t0).toBeLessThan(20000);
  });

  it('a cluster/ file that is not a regular file is refused without reading it', async () => {
    const ws = await synthed();
    const file = path.join(ws.cluster, 'control-plane', 'kube-proxy-configmap.yaml');
    fs.rmSync(file);
    fs.mkdirSync(file);
    await refused(ws, /kube-proxy-configmap\.yaml: \(file\): is not a regular file/);
  });
});

describe('captured control-plane YAML that does not parse', () => {
  it.each([
    ['kube-proxy-configmap.yaml', 'config.conf', /kube-proxy-configmap\.yaml: data\["config\.conf"\]: cannot be read: /],
    ['kubeadm-config.yaml', 'ClusterConfiguration', /kubeadm-config\.yaml: data\.ClusterConfiguration: cannot be read: /],
  ])('%s: synth and plan say which file and field, in one line', async (file, key, why) => {
    const ws = await synthed('calico');
    const f = path.join(ws.cluster, 'control-plane', file);
    const cm = YAML.parse(fs.readFileSync(f, 'utf8'));
    cm.data[key] = 'mode: [unclosed\n  clusterCIDR: {';
    fs.writeFileSync(f, YAML.stringify(cm));
    await refused(ws, why);
    await refused(ws, why, 'plan');
  });
});

describe('a device as migration.yaml', () => {
  it('is refused without reading it', async () => {
    const ws = await synthed();
    const r = await cli({ ...ws, config: '/dev/zero' }, 'plan');
    expect([r.code, r.stderr.trim()]).toEqual([2, expect.stringMatching(/^[./]*dev\/zero: \(file\): is not a regular file; allowed: a readable YAML file$/)]);
  });
});

describe('an inventory that nothing can migrate', () => {
  it('is refused with the file, the field and why, and nothing already written changes', async () => {
    const ws = await synthed();
    const file = path.join(ws.cluster, 'nodes.yaml');
    const inv = YAML.parse(fs.readFileSync(file, 'utf8'));
    inv.nodes = inv.nodes.map((n: any, i: number) => (i % 2 ? { ...n, os: 'windows' } : { ...n, virtualKubelet: true }));
    fs.writeFileSync(file, YAML.stringify(inv));
    await refused(ws, /nodes\.yaml.*nodes.*none of the 6 node\(s\) can migrate \(cp-1: a virtual kubelet, cp-2: a windows node, worker-1: a virtual kubelet\).*at least one Linux node with a kubelet of its own/);
  });
});
