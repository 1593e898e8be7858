/**
 * Calico beside Weave: both sources (built-in objects, a vendored manifest) synthesize, carry
 * exactly the configured coexistence settings, and a manifest of the wrong shape is refused.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as jsYaml from 'js-yaml';
import * as YAML from 'yaml';
import { resolveMigration } from '../src/config/load';
import { calicoObjects } from '../src/constructs/calico/calico';
import { builtinCalicoObjects } from '../src/constructs/calico/calico-builtin';
import { applyCoexistence, calicoNodeEnv, type CalicoCoexistence } from '../src/constructs/calico/calico-patch';
import { readCalicoManifest } from '../src/constructs/calico/calico-manifest';
import { stepList } from '../src/steps/steps';
import { typhaReplicasFor } from '../src/model/calico-settings';
import { checkSchemas } from './support/schemas';
import { requirePeer } from './support/peers';
import { cli, demoWorkspace, editConfig, readManifests, REPO_ROOT, setStep, treeDigest, type Workspace } from './support/workspace';

const FIXTURE = path.join(__dirname, 'fixtures', 'calico-upstream-shaped.yaml');
// The reference files sit in shared/ beside the repository (CI lays it there); overridable to test the skip rule.
const REFERENCE = process.env.CNI_MIGRATE_REFERENCE_DIR ?? path.join(REPO_ROOT, '..', 'shared', 'reference');

const SETTINGS: CalicoCoexistence = {
  poolCidr: '10.48.0.0/12',
  ipipMode: 'CrossSubnet',
  ipAutodetectionMethod: 'cidr=192.168.56.0/24',
  iptablesBackend: 'Legacy',
  vethMtu: 1370,
};

/** The coexistence env, as it must appear on calico-node whatever the source. */
const NODE_ENV = {
  CALICO_IPV4POOL_CIDR: '10.48.0.0/12',
  CALICO_IPV4POOL_IPIP: 'CrossSubnet',
  CALICO_IPV4POOL_VXLAN: 'Never',
  IP_AUTODETECTION_METHOD: 'cidr=192.168.56.0/24',
  FELIX_IPTABLESBACKEND: 'Legacy',
  FELIX_IPTABLESMARKMASK: '0xfff00000',
  FELIX_CHAININSERTMODE: 'Insert',
};

function withManifest(ws: Workspace, text: string): void {
  fs.mkdirSync(path.join(ws.dir, 'vendor'), { recursive: true });
  fs.writeFileSync(path.join(ws.dir, 'vendor', 'calico.yaml'), text);
  editConfig(ws, (d) => (d.spec.calico.manifest = 'vendor/calico.yaml'));
}

describe.each([
  ['built-in objects', () => builtinCalicoObjects({ version: 'v3.28.5' })],
  ['upstream-shaped manifest', () => readCalicoManifest(FIXTURE, 'fixture')],
])('coexistence patches on %s', (_name, source) => {
  it('set exactly the configured env on calico-node and install-cni', () => {
    const out = applyCoexistence(source(), SETTINGS);
    const env = calicoNodeEnv(out, 'calico-node');
    for (const [k, v] of Object.entries(NODE_ENV)) expect([k, env.get(k)]).toEqual([k, v]);
    const cni = calicoNodeEnv(out, 'install-cni');
    expect(cni.get('CNI_CONF_NAME')).toBe('20-calico.conflist');
    expect(cni.has('CNI_OLD_CONF_NAME')).toBe(false);
    const config = out.find((o) => o.kind === 'ConfigMap') as any;
    expect(config.data.veth_mtu).toBe('1370');
  });

  it('change nothing but those fields', () => {
    const before = source();
    const after = applyCoexistence(before, SETTINGS);
    expect(after.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(before.map((o) => `${o.kind}/${o.metadata.name}`));
    const strip = (objs: any[]) =>
      objs.map((o) => {
        const c = structuredClone(o);
        if (c.kind === 'ConfigMap') delete c.data.veth_mtu;
        if (c.kind === 'DaemonSet') {
          const pod = c.spec.template.spec;
          delete pod.tolerations;
          for (const k of [...pod.initContainers, ...pod.containers]) k.env = (k.env ?? []).filter((e: any) => !(e.name in NODE_ENV) && !e.name.startsWith('CNI_'));
        }
        return c;
      });
    expect(strip(after)).toEqual(strip(before));
  });

  it('move Calico to its final name only when asked, and never to a name that sorts before Weave\'s while Weave runs', () => {
    const coexist = calicoNodeEnv(applyCoexistence(source(), SETTINGS), 'install-cni').get('CNI_CONF_NAME')!;
    expect(coexist > '10-weave.conflist').toBe(true);
    const final = calicoNodeEnv(applyCoexistence(source(), { ...SETTINGS, finalName: true }), 'install-cni');
    expect(final.get('CNI_CONF_NAME')).toBe('10-calico.conflist');
    expect(final.get('CNI_OLD_CONF_NAME')).toBe('20-calico.conflist');
  });

  it('schedule calico-node on every node and swap images only where asked', () => {
    const out = applyCoexistence(source(), { ...SETTINGS, images: { node: 'registry.local/calico/node:v9', kubeControllers: 'registry.local/calico/kube-controllers:v9' } }) as any[];
    const ds = out.find((o) => o.kind === 'DaemonSet');
    expect(ds.spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }]);
    const images = [...ds.spec.template.spec.initContainers, ...ds.spec.template.spec.containers].map((c: any) => `${c.name}=${c.image}`);
    expect(images.filter((i) => i.includes('registry.local'))).toHaveLength(2);
    expect(images.filter((i) => /calico\/cni:/.test(i) && !i.includes('registry.local'))).toHaveLength(2);
    const kc = out.find((o) => o.kind === 'Deployment');
    expect(kc.spec.template.spec.containers[0].image).toBe('registry.local/calico/kube-controllers:v9');
  });
});

describe('the built-in objects', () => {
  it('hold the 3.28 manifest install: every kind calico-node needs in Kubernetes datastore mode', () => {
    const objs = builtinCalicoObjects({ version: 'v3.28.5' });
    const count = (k: string) => objs.filter((o) => o.kind === k).length;
    expect(count('CustomResourceDefinition')).toBe(18);
    expect(count('ServiceAccount')).toBe(3);
    expect(count('ClusterRole')).toBe(3);
    expect(count('ClusterRoleBinding')).toBe(3);
    expect(count('DaemonSet')).toBe(1);
    expect(count('Deployment')).toBe(1);
    expect(count('PodDisruptionBudget')).toBe(1);
    expect(count('ConfigMap')).toBe(1);
    const ds = objs.find((o) => o.kind === 'DaemonSet') as any;
    expect(ds.spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(['upgrade-ipam', 'install-cni', 'mount-bpffs']);
    expect(ds.spec.template.spec.containers[0].image).toBe('docker.io/calico/node:v3.28.5');
  });

  it('validate against the Kubernetes schemas, with no unknown fields', () => {
    for (const typhaReplicas of [0, 3]) {
      const objs = applyCoexistence(builtinCalicoObjects({ version: 'v3.28.5', typhaReplicas }), { ...SETTINGS, typhaReplicas });
      expect(objs.some((o) => o.metadata.name === 'calico-typha')).toBe(typhaReplicas > 0);
      expect(checkSchemas(objs.map((obj) => ({ file: `${obj.kind}/${obj.metadata.name}`, obj })))).toEqual([]);
    }
  });
});

describe('synth with Calico', () => {
  const synthAt = async (ws: Workspace, step: string) => {
    setStep(ws, step);
    const r = await cli(ws, 'synth');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return readManifests(ws.dist).filter((m) => m.file.startsWith('10-calico/')).map((m) => m.obj);
  };
  const confName = (objs: any[]) => calicoNodeEnv(objs, 'install-cni').get('CNI_CONF_NAME');

  it('installs nothing at adopt, then keeps 20-calico.conflist until Weave is removed', async () => {
    const ws = demoWorkspace();
    const names: Record<string, string | undefined> = {};
    for (const s of stepList(5)) names[s.name] = confName(await synthAt(ws, s.name));
    expect(names.adopt).toBeUndefined();
    for (const s of ['calico', 'cluster-cidr', 'policies-suspended', 'nodes-1', 'nodes-5']) expect([s, names[s]]).toEqual([s, '20-calico.conflist']);
    for (const s of ['weave-removed', 'policies-restored', 'finalized']) expect([s, names[s]]).toEqual([s, '10-calico.conflist']);
  });

  it('takes the settings from migration.yaml and the iptables backend from kube-proxy\'s nftables mode', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => {
      d.spec.calico = { version: 'v3.28.5', ipipMode: 'CrossSubnet', mtu: 1376, ipAutodetectionMethod: 'skip-interface=weave,datapath,vxlan-.*,docker.*' };
    });
    const cm = path.join(ws.cluster, 'control-plane', 'kube-proxy-configmap.yaml');
    fs.writeFileSync(cm, fs.readFileSync(cm, 'utf8').replace('mode: ""', 'mode: nftables'));
    const objs = await synthAt(ws, 'calico');
    const env = calicoNodeEnv(objs, 'calico-node');
    expect(env.get('CALICO_IPV4POOL_IPIP')).toBe('CrossSubnet');
    expect(env.get('IP_AUTODETECTION_METHOD')).toBe('skip-interface=weave,datapath,vxlan-.*,docker.*');
    expect(env.get('FELIX_IPTABLESBACKEND')).toBe('NFT');
    expect(objs.find((o) => o.kind === 'ConfigMap').data.veth_mtu).toBe('1376');
  });

  it('the CRDs (and so the IP pools and IPAM blocks stored as their objects) are never pruned or deleted by either engine; argocd applies them server-side', async () => {
    const ws = demoWorkspace();
    const objs = await synthAt(ws, 'calico');
    const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds).toHaveLength(18);
    expect(crds.map((c) => c.metadata.name)).toContain('ippools.crd.projectcalico.org');
    for (const c of crds) {
      expect(c.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('ServerSideApply=true,Prune=false,Delete=false');
      expect(c.metadata.annotations['argocd.argoproj.io/compare-options']).toBe('IgnoreExtraneous');
    }
    // The rest of Calico is pruned by a revert to adopt, as any object of a step.
    for (const o of objs.filter((x) => x.kind !== 'CustomResourceDefinition')) expect([o.kind, o.metadata.name, o.metadata.annotations?.['argocd.argoproj.io/sync-options']]).toEqual([o.kind, o.metadata.name, undefined]);
    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    const flux = await synthAt(ws, 'calico');
    for (const c of flux.filter((o) => o.kind === 'CustomResourceDefinition')) expect(c.metadata.annotations).toEqual({ 'kustomize.toolkit.fluxcd.io/prune': 'disabled' });
    for (const o of flux.filter((x) => x.kind !== 'CustomResourceDefinition')) expect([o.kind, o.metadata.name, o.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune']]).toEqual([o.kind, o.metadata.name, undefined]);
  });

  it('patches a vendored manifest and keeps its own objects and images', async () => {
    const ws = demoWorkspace();
    withManifest(ws, fs.readFileSync(FIXTURE, 'utf8'));
    editConfig(ws, (d) => (d.spec.calico.version = 'v3.30.4'));
    const objs = await synthAt(ws, 'calico');
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(readCalicoManifest(FIXTURE, 'f').map((o) => `${o.kind}/${o.metadata.name}`).sort());
    expect(confName(objs)).toBe('20-calico.conflist');
    expect(calicoNodeEnv(objs, 'calico-node').get('CALICO_IPV4POOL_CIDR')).toBe('10.48.0.0/12');
    const ds = objs.find((o) => o.kind === 'DaemonSet');
    expect(ds.spec.template.spec.containers[0].image).toBe('quay.io/calico/node:v3.30.4');
    expect(checkSchemas(objs.map((obj) => ({ file: obj.metadata.name, obj })))).toEqual([]);
  });

  const broken: [string, (t: string) => string, RegExp][] = [
    ['no calico-node DaemonSet', (t) => t.replace('kind: DaemonSet\napiVersion: apps/v1\nmetadata:\n  name: calico-node', 'kind: DaemonSet\napiVersion: apps/v1\nmetadata:\n  name: calico-nodes'), /no DaemonSet calico-node/],
    ['no install-cni', (t) => t.replace('- name: install-cni', '- name: install-cni-plugin'), /no install-cni init container/],
    ['no calico-node container', (t) => t.replace('        - name: calico-node\n', '        - name: node\n'), /no calico-node container/],
    ['no calico-config', (t) => t.replace('  name: calico-config\n  namespace', '  name: calico-settings\n  namespace'), /no ConfigMap calico-config/],
    ['the VXLAN flavour', (t) => t.replace('calico_backend: "bird"', 'calico_backend: "vxlan"'), /calico_backend to "vxlan"; IP-in-IP needs BIRD/],
    ['restricted to some nodes', (t) => t.replace('kubernetes.io/os: linux\n      hostNetwork', 'kubernetes.io/os: linux\n        node-role: calico\n      hostNetwork'), /restricted to some nodes \(nodeSelector node-role\); it must run on every node/],
    ['not YAML', (t) => `${t}\n---\nkind: [\n`, /is not valid YAML/],
    ['not Kubernetes objects', () => 'just: text\n', /document 1 is not a Kubernetes object/],
    ['empty', () => '# nothing\n', /holds no objects/],
    // Each of these was an internal error (exit 3, a stack) or a message with "[object Object]",
    // found by mutating every field of the manifests' objects in turn.
    ['calico-node\'s env not a list', (t) => t.replace('          env:\n            - name: DATASTORE_TYPE\n', '          env: "DATASTORE_TYPE=kubernetes"\n          envList:\n            - name: DATASTORE_TYPE\n'),
      /calico\.yaml: document \d+ \(DaemonSet calico-node\): spec\.template\.spec\.containers\[0\]\.env: got "DATASTORE_TYPE=kubernetes"; allowed: a list of environment variables/],
    ['an init container\'s image not a string', (t) => t.replace('        - name: upgrade-ipam\n          image: quay.io/calico/cni:v3.30.4', '        - name: upgrade-ipam\n          image: [quay.io/calico/cni, v3.30.4]'),
      /\(DaemonSet calico-node\): spec\.template\.spec\.initContainers\[0\]\.image: got \["quay\.io\/calico\/cni","v3\.30\.4"\]; allowed: the image reference$/],
    ['kube-controllers\' containers a mapping', (t) => t.replace('      containers:\n        - name: calico-kube-controllers', '      containers:\n        calico-kube-controllers:'),
      /\(Deployment calico-kube-controllers\): spec\.template\.spec\.containers: got \{.*; allowed: a list of at least one container$/],
    ['a binding whose role is a mapping', (t) => t.replace(/roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n/, 'roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {ClusterRole: true}\n'),
      /grants \{"ClusterRole":true\} calico-\S+, which the manifest does not define/],
  ];
  /**
   * The demo with the fixture (calico-node v3.30.4) synthesized at calico, then synthesized again
   * with `manifest` vendored instead and spec.calico edited by `edit`; dist/ before and after.
   */
  const synthWith = async (edit: (calico: any) => void, manifest = fs.readFileSync(FIXTURE, 'utf8')) => {
    const ws = demoWorkspace();
    withManifest(ws, fs.readFileSync(FIXTURE, 'utf8'));
    editConfig(ws, (d) => (d.spec.calico.version = 'v3.30.4'));
    setStep(ws, 'calico');
    expect((await cli(ws, 'synth')).code).toBe(0);
    const before = treeDigest(ws.dist);
    fs.writeFileSync(path.join(ws.dir, 'vendor', 'calico.yaml'), manifest);
    editConfig(ws, (d) => edit(d.spec.calico));
    const r = await cli(ws, 'synth');
    return { ...r, ws, before, after: treeDigest(ws.dist) };
  };

  it.each(broken)('refuses a manifest with %s: one line, nothing written', async (_n, edit, msg) => {
    const r = await synthWith(() => undefined, edit(fs.readFileSync(FIXTURE, 'utf8')));
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('spec.calico.manifest');
    expect(lines[0]).toMatch(msg);
    expect(r.after).toEqual(r.before);
  });

  describe('the release a vendored manifest runs', () => {
    it.each([
      ['a version the manifest does not run', (c: any) => (c.version = 'v3.28.5'), undefined,
        'spec.calico.version: got "v3.28.5", but vendor/calico.yaml\'s calico/cni image is quay.io/calico/cni:v3.30.4; allowed: v3.30.4, the release of the manifest\'s images, or leave spec.calico.version unset'],
      // The image that runs counts: spec.calico.images replaces the manifest's (and a registry's port is no tag).
      ['an override of another release than the version', (c: any) => (c.images = { node: 'mirror.example:5000/calico/node:v3.31.0' }), undefined,
        'spec.calico.images.node: got "mirror.example:5000/calico/node:v3.31.0" (v3.31.0), but spec.calico.version is v3.30.4; allowed: an image of v3.30.4 (or one pinned by digest alone)'],
      ['an override of another release than the manifest', (c: any) => {
        delete c.version;
        c.images = { kubeControllers: 'mirror.example/calico/kube-controllers:v3.29.2' };
      }, undefined,
      'spec.calico.images.kubeControllers: got "mirror.example/calico/kube-controllers:v3.29.2" (v3.29.2), but vendor/calico.yaml\'s calico/node image is quay.io/calico/node:v3.30.4; allowed: an image of v3.30.4'],
      ['a manifest that mixes releases', (c: any) => delete c.version, fs.readFileSync(FIXTURE, 'utf8').replace('quay.io/calico/kube-controllers:v3.30.4', 'quay.io/calico/kube-controllers:v3.30.3'),
        "spec.calico.manifest: vendor/calico.yaml's calico/kube-controllers image is quay.io/calico/kube-controllers:v3.30.3, but vendor/calico.yaml's calico/node image is quay.io/calico/node:v3.30.4"],
      ['a manifest older than v3.28.0', (c: any) => delete c.version, fs.readFileSync(FIXTURE, 'utf8').replaceAll('v3.30.4', 'v3.27.3'),
        "spec.calico.manifest: vendor/calico.yaml's calico/node image is quay.io/calico/node:v3.27.3, older than v3.28.0; allowed: an image of Calico v3.28.0 or newer"],
    ])('refuses %s: one line that names both, nothing written', async (_n, edit, manifest, message) => {
      const r = await synthWith(edit, manifest);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
      expect(r.after).toEqual(r.before);
    });

    it.each([
      ['no version: the manifest says it', (c: any) => delete c.version, 'Calico (from vendor/calico.yaml) runs'],
      ['overrides of every image to another release', (c: any) => {
        c.version = 'v3.31.0';
        c.images = { node: 'mirror.example:5000/calico/node:v3.31.0', cni: 'mirror.example:5000/calico/cni:v3.31.0', kubeControllers: 'mirror.example:5000/calico/kube-controllers:v3.31.0' };
      }, 'Calico v3.31.0 (from vendor/calico.yaml) runs'],
      // A digest names no release, so it cannot contradict the one given.
      ['a digest alone', (c: any) => (c.images = { node: `r.example/calico/node@sha256:${'a'.repeat(64)}` }), 'Calico v3.30.4 (from vendor/calico.yaml) runs'],
    ])('accepts %s, and PLAN.md names only a release that is given', async (_n, edit, named) => {
      const r = await synthWith(edit);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const plan = fs.readFileSync(path.join(r.ws.dist, 'PLAN.md'), 'utf8');
      expect(plan).toContain(named);
      expect(plan).not.toContain('v3.28.5');
    });
  });

  it('refuses a built-in image override of another release than spec.calico.version, and takes one of the same', async () => {
    const ws = demoWorkspace();
    setStep(ws, 'calico');
    editConfig(ws, (d) => (d.spec.calico.images = { node: 'mirror.example/calico/node:v3.28.5', cni: 'mirror.example/calico/cni:v3.29.0' }));
    const r = await cli(ws, 'synth');
    expect([r.code, r.stderr.trim().split('\n')]).toEqual([2, [expect.stringContaining('spec.calico.images.cni: got "mirror.example/calico/cni:v3.29.0" (v3.29.0), but spec.calico.version is v3.28.5; allowed: an image of v3.28.5')]]);
    // plan refuses it too, with either engine (it renders the objects the check reads).
    for (const engine of ['argocd', 'flux']) {
      editConfig(ws, (d) => (d.spec.gitops.engine = engine));
      const p = await cli(ws, 'plan');
      expect([engine, p.code, p.stderr.trim().split('\n')]).toEqual([engine, 2, [expect.stringContaining('spec.calico.images.cni: got "mirror.example/calico/cni:v3.29.0"')]]);
    }
    editConfig(ws, (d) => (d.spec.gitops.engine = 'argocd'));
    editConfig(ws, (d) => (d.spec.calico.images.cni = 'mirror.example/calico/cni:v3.28.5'));
    expect((await cli(ws, 'synth')).code).toBe(0);
    expect(readManifests(ws.dist).map((m) => m.obj).filter((o) => o.kind === 'DaemonSet' && o.metadata.name === 'calico-node').map((o) => o.spec.template.spec.initContainers[0].image)).toEqual(['mirror.example/calico/cni:v3.28.5']);
  });

  it('refuses a release the built-in objects are not written for, unless a manifest is given', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.calico.version = 'v3.32.1'));
    const r = await cli(ws, 'plan');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/spec\.calico\.version: got "v3\.32\.1": the built-in Calico objects are written for v3\.28\.x; allowed: .*set spec\.calico\.manifest/);
  });
});

describe('autodetection and MTU checks', () => {
  const load = (calico: object) => {
    const doc = { apiVersion: 'cni-migrate.io/v1alpha1', kind: 'Migration', metadata: { name: 'm' }, spec: { step: 'adopt', gitops: { engine: 'argocd', repoURL: 'https://g/x.git' }, network: { serviceCIDR: '10.96.0.0/12' }, calico } };
    return () => resolveMigration(doc, 'migration.yaml');
  };
  it.each([
    [{ ipAutodetectionMethod: 'first-found' }, /ipAutodetectionMethod: got "first-found"/],
    [{ ipAutodetectionMethod: 'interface=.*' }, /matches Weave's interface weave/],
    [{ ipAutodetectionMethod: 'interface=eth0,we.*' }, /matches Weave's interface weave/],
    [{ ipAutodetectionMethod: 'skip-interface=docker.*' }, /does not skip Weave's interface\(s\) weave, datapath, vxlan-6784/],
    [{ ipAutodetectionMethod: 'cidr=10.0.0.0/8' }, /overlaps the Weave CIDR 10\.32\.0\.0\/12/],
    [{ ipAutodetectionMethod: 'interface=(' }, /not a valid regular expression/],
    [{ mtu: 1490 }, /IP-in-IP adds 20 bytes, which does not fit under the node MTU 1500/],
    [{ mtu: 8981, nodeMTU: 9000 }, /at most 8980/],
  ])('refuses %j', (calico, msg) => expect(load(calico)).toThrow(msg));
  it.each([[{ ipAutodetectionMethod: 'interface=eth0,ens.*' }], [{ ipAutodetectionMethod: 'can-reach=192.168.56.1' }], [{ mtu: 8980, nodeMTU: 9000 }], [{ ipAutodetectionMethod: 'cidr=192.168.56.0/24' }]])('accepts %j', (calico) => expect(load(calico)).not.toThrow());
});

describe('preflight findings for coexistence', () => {
  const findings = async (ws: Workspace) => JSON.parse((await cli(ws, 'plan', '--json')).stdout).findings as any[];
  const nodes = (ws: Workspace, f: (d: any) => void) => {
    const file = path.join(ws.cluster, 'nodes.yaml');
    const d = YAML.parse(fs.readFileSync(file, 'utf8'));
    f(d);
    fs.writeFileSync(file, YAML.stringify(d));
  };

  it('warns about CRI-O, managed control planes and an unpinned iptables backend', async () => {
    const ws = demoWorkspace();
    nodes(ws, (d) => (d.nodes[3].containerRuntime = 'cri-o://1.30.2'));
    editConfig(ws, (d) => {
      d.spec.controlPlane.mode = 'managed';
      delete d.spec.calico.iptablesBackend;
    });
    const codes = (await findings(ws)).map((f) => `${f.severity} ${f.code}`);
    expect(codes).toEqual(expect.arrayContaining(['warning crio-default-network', 'warning managed-control-plane', 'warning iptables-backend-not-pinned']));
  });

  it('refuses a kube-proxy that would not count Calico\'s pods as pods (detectLocalMode), in its config or its flags', async () => {
    const ws = demoWorkspace();
    const cm = path.join(ws.cluster, 'control-plane', 'kube-proxy-configmap.yaml');
    const ds = path.join(ws.cluster, 'control-plane', 'kube-proxy-daemonset.yaml');
    const demoCm = fs.readFileSync(cm, 'utf8');
    const demoDs = fs.readFileSync(ds, 'utf8');
    const detect = (mode: string, extra = '') => fs.writeFileSync(cm, demoCm.replace('detectLocalMode: ""', `detectLocalMode: ${mode}${extra}`));
    const ours = async () => (await findings(ws)).filter((f) => f.code === 'kube-proxy-detect-local');
    expect(demoCm).toContain('detectLocalMode: ""');
    expect(await ours()).toEqual([]);

    // Weave's bridge: right for Weave's pods, wrong for every Calico pod (cali* veths).
    detect('BridgeInterface', '\n    detectLocal:\n      bridgeInterface: weave');
    const [bridge] = await ours();
    expect(bridge).toMatchObject({ severity: 'error', field: 'data["config.conf"].detectLocalMode', file: expect.stringMatching(/control-plane\/kube-proxy-configmap\.yaml$/) });
    expect(bridge.message).toMatch(/from the bridge "weave" \(detectLocalMode BridgeInterface\).*masquerades their Service traffic/);
    expect(bridge.fix).toMatch(/detectLocalMode: ClusterCIDR/);
    const synth = await cli(ws, 'synth');
    expect(synth.code).not.toBe(0);
    expect(synth.stderr).toContain('kube-proxy-detect-local');

    detect('InterfaceNamePrefix', '\n    detectLocal:\n      interfaceNamePrefix: veth');
    expect((await ours()).map((f) => [f.severity, /interfaces whose names start with "veth"/.test(f.message)])).toEqual([['error', true]]);
    detect('InterfaceNamePrefix', '\n    detectLocal:\n      interfaceNamePrefix: cali');
    expect(await ours()).toEqual([]);
    detect('ClusterCIDR');
    expect(await ours()).toEqual([]);

    // Set by flag when config.conf leaves it empty: NodeCIDR is what Weave had too, so a warning.
    fs.writeFileSync(cm, demoCm);
    const dsObj = YAML.parse(demoDs);
    dsObj.spec.template.spec.containers[0].command.push('--detect-local-mode=NodeCIDR');
    fs.writeFileSync(ds, YAML.stringify(dsObj));
    const [node] = await ours();
    expect(node).toMatchObject({ severity: 'warning', field: `containers[name=${dsObj.spec.template.spec.containers[0].name}] --detect-local-mode` });
    expect(node.message).toMatch(/never from Node\.spec\.podCIDR/);
  });

  it('says when Calico\'s pods get a larger MTU than Weave\'s: detected by default, set, or Weave\'s own WEAVE_MTU', async () => {
    const ws = demoWorkspace();
    const mtu = async () => (await findings(ws)).filter((f) => f.code === 'mtu-above-weave').map((f) => `${f.severity}: ${f.message.replace(/; TCP.*/, '')}`);
    // The defaults: calico-node detects 1500 - 20 = 1480, Weave runs 1376.
    expect(await mtu()).toEqual(["info: Calico pods get MTU 1480 (detected: the node MTU 1500 less IP-in-IP's 20 bytes), above Weave's 1376 (its default)"]);
    editConfig(ws, (d) => (d.spec.calico.mtu = 1376));
    expect(await mtu()).toEqual([]);
    // Jumbo frames: Weave set to 8912, Calico detecting 8980 from a 9000 node MTU.
    editConfig(ws, (d) => { d.spec.calico.mtu = 0; d.spec.calico.nodeMTU = 9000; });
    const dsFile = path.join(ws.cluster, 'weave', 'daemonset-kube-system-weave-net.yaml');
    const ds = YAML.parse(fs.readFileSync(dsFile, 'utf8'));
    const weave = ds.spec.template.spec.containers.find((c: any) => c.name === 'weave');
    weave.env = [...(weave.env ?? []), { name: 'WEAVE_MTU', value: '8912' }];
    fs.writeFileSync(dsFile, YAML.stringify(ds));
    expect(await mtu()).toEqual(["info: Calico pods get MTU 8980 (detected: the node MTU 9000 less IP-in-IP's 20 bytes), above Weave's 8912 (WEAVE_MTU on its DaemonSet)"]);
    editConfig(ws, (d) => (d.spec.calico.mtu = 8912));
    expect(await mtu()).toEqual([]);
    // Once Weave is gone there is nothing to mismatch.
    editConfig(ws, (d) => (d.spec.calico.mtu = 0));
    setStep(ws, 'weave-removed');
    expect(await mtu()).toEqual([]);
  });

  it('warns from adopt on when kube-proxy\'s configuration is not in cluster/ (a static pod, as kops runs it), naming the values to set by hand', async () => {
    const ws = demoWorkspace();
    const ours = async () => (await findings(ws)).filter((f) => f.code === 'kube-proxy-not-captured');
    expect(await ours()).toEqual([]);
    for (const f of ['kube-proxy-configmap.yaml', 'kube-proxy-daemonset.yaml']) fs.rmSync(path.join(ws.cluster, 'control-plane', f));
    const [w] = await ours();
    expect(w).toMatchObject({ severity: 'warning', file: expect.stringMatching(/control-plane$/) });
    expect(w.message).toMatch(/cannot widen kube-proxy's cluster CIDR: no kube-proxy DaemonSet or ConfigMap is in the snapshot/);
    expect(w.fix).toMatch(/to 10\.32\.0\.0\/11 in step cluster-cidr, and to 10\.32\.0\.0\/11 at finalized/);
    // A managed control plane gets its own by-hand steps in PLAN.md instead.
    editConfig(ws, (d) => (d.spec.controlPlane.mode = 'managed'));
    expect(await ours()).toEqual([]);
  });

  it('reports CNI files that sort before Calico\'s, and refuses Azure', async () => {
    const ws = demoWorkspace();
    nodes(ws, (d) => {
      d.nodes[2].cniConfigFiles = ['00-multus.conf', '10-weave.conflist', '11-crio-ipv4-bridge.conflist', '99-loopback.conf', 'calico-kubeconfig'];
      d.nodes[4].providerID = 'azure:///subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/worker-3';
    });
    const fs_ = await findings(ws);
    const first = fs_.find((f) => f.code === 'cni-file-sorts-first');
    expect(first).toMatchObject({ severity: 'error', field: 'nodes[name=worker-1].cniConfigFiles' });
    expect(first.message).toContain('00-multus.conf');
    const before = fs_.find((f) => f.code === 'cni-file-sorts-before-calico');
    expect(before.message).toContain('11-crio-ipv4-bridge.conflist');
    expect(before.message).not.toContain('99-loopback');
    expect(fs_.find((f) => f.code === 'azure-no-ipip')).toMatchObject({ severity: 'error' });
    expect((await cli(ws, 'plan')).code).toBe(1);
  });
});

// The upstream manifests in ../shared/reference are read here, never copied into the project.
const haveReference = requirePeer(fs.existsSync(path.join(REFERENCE, 'calico-v3.28.5.yaml')), `the upstream Calico manifests in ${REFERENCE}`, 'the comparisons with upstream calico.yaml');
(haveReference ? describe : describe.skip)('against upstream calico.yaml (shared/reference)', () => {
  const upstream = (v: string) => readCalicoManifest(path.join(REFERENCE, `calico-v${v}.yaml`), v);
  const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

  it('the built-in objects cover 3.28.5: same objects, RBAC rules and env', () => {
    const ours = builtinCalicoObjects({ version: 'v3.28.5' }) as any[];
    const theirs = upstream('3.28.5') as any[];
    expect(ours.map(key).sort()).toEqual(theirs.map(key).sort());
    for (const o of theirs.filter((x) => x.kind === 'ClusterRole')) {
      const mine = ours.find((x) => key(x) === key(o));
      expect([o.metadata.name, mine.rules]).toEqual([o.metadata.name, o.rules]);
    }
    for (const c of ['upgrade-ipam', 'install-cni', 'mount-bpffs', 'calico-node']) {
      expect([c, calicoNodeEnv(ours, c)]).toEqual([c, calicoNodeEnv(theirs, c)]);
    }
    const cm = (objs: any[]) => objs.find((x) => x.kind === 'ConfigMap').data;
    expect(JSON.parse(cm(ours).cni_network_config.replace('__CNI_MTU__', '0'))).toEqual(JSON.parse(cm(theirs).cni_network_config.replace('__CNI_MTU__', '0')));
    const pod = (objs: any[]) => objs.find((x) => x.kind === 'DaemonSet').spec.template.spec;
    expect(pod(ours).volumes).toEqual(pod(theirs).volumes);
    // Images differ only by the registry we pin by default.
    expect(pod(theirs).containers[0].image).toBe('docker.io/calico/node:v3.28.5');
  });

  it.each(['3.28.5', '3.32.1'])('the patches apply cleanly to upstream %s', (v) => {
    const out = calicoObjects({ kind: 'manifest', file: path.join(REFERENCE, `calico-v${v}.yaml`), configFile: path.join(REPO_ROOT, 'migration.yaml') }, SETTINGS);
    const env = calicoNodeEnv(out, 'calico-node');
    for (const [k, val] of Object.entries(NODE_ENV)) expect([k, env.get(k)]).toEqual([k, val]);
    expect(calicoNodeEnv(out, 'install-cni').get('CNI_CONF_NAME')).toBe('20-calico.conflist');
    expect(out.length).toBe(upstream(v).length);
    // Every object still parses as YAML the way it went in, apart from the patched DaemonSet and ConfigMap.
    const changed = out.filter((o, i) => JSON.stringify(o) !== JSON.stringify(upstream(v)[i])).map(key);
    expect(changed.sort()).toEqual(['ConfigMap/kube-system/calico-config', 'DaemonSet/kube-system/calico-node']);
    expect(jsYaml.dump(out).length).toBeGreaterThan(0);
  });

  it('above 50 nodes the built-in objects add Typha as upstream calico-typha.yaml 3.28.5 has it', () => {
    const ours = builtinCalicoObjects({ version: 'v3.28.5', typhaReplicas: typhaReplicasFor(5000) }) as any[];
    const theirs = readCalicoManifest(path.join(REFERENCE, 'calico-typha-v3.28.5.yaml'), 'calico-typha') as any[];
    expect(ours.map(key)).toEqual(theirs.map(key));
    const find = (objs: any[], k: string) => objs.find((o) => key(o) === k);
    for (const k of ['Service/kube-system/calico-typha', 'PodDisruptionBudget/kube-system/calico-typha']) expect([k, find(ours, k)]).toEqual([k, find(theirs, k)]);
    const deployment = find(ours, 'Deployment/kube-system/calico-typha');
    expect(deployment.spec.replicas).toBe(27);
    // Upstream ships one replica and asks for more on big clusters; everything else is the same.
    expect({ ...deployment.spec, replicas: 1 }).toEqual(find(theirs, 'Deployment/kube-system/calico-typha').spec);
    expect(find(ours, 'ConfigMap/kube-system/calico-config').data.typha_service_name).toBe('calico-typha');
    expect(calicoNodeEnv(ours, 'calico-node')).toEqual(calicoNodeEnv(theirs, 'calico-node'));
    expect(ours.find((o) => o.kind === 'DaemonSet').spec.template.spec.containers[0].env.find((e: any) => e.name === 'FELIX_TYPHAK8SSERVICENAME'))
      .toEqual({ name: 'FELIX_TYPHAK8SSERVICENAME', valueFrom: { configMapKeyRef: { name: 'calico-config', key: 'typha_service_name' } } });
  });

  it('a vendored manifest without Typha is refused above 50 nodes, naming calico-typha.yaml; one with Typha is scaled', () => {
    const manifest = (file: string) => ({ kind: 'manifest' as const, file: path.join(REFERENCE, file), configFile: path.join(REPO_ROOT, 'migration.yaml') });
    expect(() => calicoObjects(manifest('calico-v3.28.5.yaml'), { ...SETTINGS, typhaReplicas: typhaReplicasFor(51) })).toThrow(/spec\.calico\.manifest.*without Typha.*more than 50 nodes[\s\S]*calico-typha\.yaml/);
    expect(calicoObjects(manifest('calico-v3.28.5.yaml'), { ...SETTINGS, typhaReplicas: typhaReplicasFor(50) }).length).toBe(upstream('3.28.5').length);
    const scaled = calicoObjects(manifest('calico-typha-v3.28.5.yaml'), { ...SETTINGS, typhaReplicas: typhaReplicasFor(5000), images: { typha: 'mirror.example/calico/typha:v3.28.5' } }) as any[];
    const typha = scaled.find((o) => o.kind === 'Deployment' && o.metadata.name === 'calico-typha');
    expect(typha.spec.replicas).toBe(27);
    expect(typha.spec.template.spec.containers[0].image).toBe('mirror.example/calico/typha:v3.28.5');
  });
});

describe('Typha replicas', () => {
  it('none up to 50 nodes; then one per 200 nodes plus a spare, at least three (the Tigera operator\'s scale)', () => {
    expect([1, 6, 50, 51, 199, 200, 400, 1000, 3600, 5000].map(typhaReplicasFor)).toEqual([0, 0, 0, 3, 3, 3, 4, 7, 20, 27]);
  });

  it('synth of a 60-node cluster installs Typha with the built-in objects', async () => {
    const ws = demoWorkspace();
    const nodesFile = path.join(ws.cluster, 'nodes.yaml');
    const doc = YAML.parse(fs.readFileSync(nodesFile, 'utf8'));
    const worker = doc.nodes.find((n: any) => n.name === 'worker-1');
    for (let i = 0; i < 54; i++) doc.nodes.push({ ...worker, name: `extra-${i}`, internalIP: `192.168.57.${i + 1}`, podCIDRs: [`10.32.${100 + i}.0/24`] });
    expect(doc.nodes.length).toBe(60);
    fs.writeFileSync(nodesFile, YAML.stringify(doc));
    setStep(ws, 'calico');
    const r = await cli(ws, 'synth');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const typha = readManifests(ws.dist).find((m) => m.obj.kind === 'Deployment' && m.obj.metadata.name === 'calico-typha');
    expect(typha?.obj.spec.replicas).toBe(3);
  });
});

