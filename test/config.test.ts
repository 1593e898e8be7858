/**
 * Bad input: every case must exit 2 with one line on stderr naming the field (and the value), and
 * leave dist/ and gitops/ byte-identical to what a good synth wrote before.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { loadMigrationText } from '../src/config/load';
import { cli, demoWorkspace, editConfig, treeDigest, type Workspace } from './support/workspace';

interface BadCase {
  readonly name: string;
  readonly edit: (ws: Workspace) => void;
  /** Substrings the one stderr line must contain: the field path, and usually the bad value. */
  readonly expect: readonly string[];
}

const spec = (f: (s: any) => void) => (ws: Workspace) => editConfig(ws, (d) => f(d.spec));
const text = (f: (t: string) => string) => (ws: Workspace) => fs.writeFileSync(ws.config, f(fs.readFileSync(ws.config, 'utf8')));
const nodesYaml = (f: (d: any) => void) => (ws: Workspace) => {
  const file = path.join(ws.cluster, 'nodes.yaml');
  const d = YAML.parse(fs.readFileSync(file, 'utf8'));
  f(d);
  fs.writeFileSync(file, YAML.stringify(d));
};

const CASES: BadCase[] = [
  { name: 'wrong apiVersion', edit: (ws) => editConfig(ws, (d) => (d.apiVersion = 'cni-migrate.io/v1')), expect: ['apiVersion', '"cni-migrate.io/v1"', 'cni-migrate.io/v1alpha1'] },
  { name: 'wrong kind', edit: (ws) => editConfig(ws, (d) => (d.kind = 'Migrations')), expect: ['kind', '"Migrations"'] },
  { name: 'metadata.name not a DNS label', edit: (ws) => editConfig(ws, (d) => (d.metadata.name = 'Demo_1')), expect: ['metadata.name', '"Demo_1"', 'DNS label'] },
  { name: 'metadata.name too long for Flux labels', edit: (ws) => editConfig(ws, (d) => (d.metadata.name = 'a'.repeat(31))), expect: ['metadata.name', 'at most 30'] },
  { name: 'missing Calico manifest', edit: spec((s) => (s.calico.manifest = 'vendor/calico.yaml')), expect: ['spec.calico.manifest', 'vendor/calico.yaml', 'does not exist'] },
  { name: 'unknown top-level field', edit: (ws) => editConfig(ws, (d) => (d.specs = {})), expect: ['specs', 'unknown field'] },
  { name: 'spec missing', edit: (ws) => editConfig(ws, (d) => delete d.spec), expect: ['spec', 'missing'] },
  { name: 'unknown step', edit: spec((s) => (s.step = 'nodes-9')), expect: ['spec.step', '"nodes-9"', 'nodes-5'] },
  { name: 'step is a number', edit: spec((s) => (s.step = 3)), expect: ['spec.step', 'got 3'] },
  { name: 'unknown engine', edit: spec((s) => (s.gitops.engine = 'argo')), expect: ['spec.gitops.engine', '"argo"', 'argocd | flux'] },
  { name: 'repoURL not a git URL', edit: spec((s) => (s.gitops.repoURL = 'not a url')), expect: ['spec.gitops.repoURL', '"not a url"'] },
  { name: 'repoURL missing', edit: spec((s) => delete s.gitops.repoURL), expect: ['spec.gitops.repoURL', 'missing'] },
  { name: 'path escapes the repo', edit: spec((s) => (s.gitops.path = '../dist')), expect: ['spec.gitops.path', '"../dist"'] },
  { name: 'typo in gitops field', edit: spec((s) => (s.gitops.revison = 'main')), expect: ['spec.gitops.revison', 'unknown field', 'revision'] },
  { name: 'namespace with spaces', edit: spec((s) => (s.gitops.namespace = 'Argo CD')), expect: ['spec.gitops.namespace', '"Argo CD"'] },
  { name: 'prefix over 32', edit: spec((s) => (s.network.weaveCIDR = '10.32.0.0/33')), expect: ['spec.network.weaveCIDR', '10.32.0.0/33'] },
  { name: 'host bits set', edit: spec((s) => (s.network.weaveCIDR = '10.32.0.1/12')), expect: ['spec.network.weaveCIDR', '10.32.0.1/12', 'host bits'] },
  { name: 'IPv6 Weave CIDR', edit: spec((s) => (s.network.weaveCIDR = 'fd00:10::/64')), expect: ['spec.network.weaveCIDR', 'IPv6 is not supported yet'] },
  { name: 'dual-stack service CIDR', edit: spec((s) => (s.network.serviceCIDR = '10.96.0.0/12,fd00::/108')), expect: ['spec.network.serviceCIDR', 'dual-stack'] },
  { name: 'serviceCIDR missing', edit: spec((s) => delete s.network.serviceCIDR), expect: ['spec.network.serviceCIDR', 'missing'] },
  { name: 'octet over 255', edit: spec((s) => (s.network.serviceCIDR = '10.300.0.0/16')), expect: ['spec.network.serviceCIDR', '10.300.0.0/16'] },
  { name: 'Calico CIDR overlaps Weave', edit: spec((s) => (s.network.calicoCIDR = '10.40.0.0/13')), expect: ['spec.network.calicoCIDR', '10.40.0.0/13', 'overlaps the Weave CIDR'] },
  { name: 'Calico CIDR overlaps services', edit: spec((s) => (s.network.calicoCIDR = '10.96.0.0/16')), expect: ['spec.network.calicoCIDR', 'overlaps the service CIDR'] },
  { name: 'supernet swallows services', edit: spec((s) => (s.network.calicoCIDR = '10.112.0.0/12')), expect: ['spec.network.calicoCIDR', 'supernet 10.0.0.0/9', 'service CIDR'] },
  { name: 'Calico CIDR holds a node IP', edit: nodesYaml((d) => (d.nodes[3].internalIP = '10.50.0.7')), expect: ['spec.network.calicoCIDR', 'worker-2 10.50.0.7', 'inside the Calico CIDR 10.48.0.0/12'] },
  { name: 'far-away Calico CIDR', edit: spec((s) => (s.network.calicoCIDR = '192.168.0.0/16')), expect: ['spec.network.calicoCIDR', 'supernet 0.0.0.0/0', 'and 3 more error'] },
  { name: 'supernet holds a node IP', edit: (ws) => { spec((s) => (s.network.calicoCIDR = '10.16.0.0/12'))(ws); nodesYaml((d) => (d.nodes[2].internalIP = '10.5.0.5'))(ws); }, expect: ['spec.network.calicoCIDR', '10.5.0.5', 'supernet 10.0.0.0/10'] },
  { name: 'Calico pool smaller than a block', edit: spec((s) => (s.network.calicoCIDR = '10.48.0.0/27')), expect: ['spec.network.calicoCIDR', '10.48.0.0/27', '/26'] },
  { name: 'Weave CIDR too small', edit: spec((s) => (s.network.weaveCIDR = '10.32.0.0/30')), expect: ['spec.network.weaveCIDR', '/30'] },
  { name: 'Weave CIDR disagrees with the DaemonSet', edit: spec((s) => (s.network.weaveCIDR = '10.64.0.0/12')), expect: ['spec.network.weaveCIDR', 'IPALLOC_RANGE', '10.32.0.0/12'] },
  { name: 'unknown control-plane mode', edit: spec((s) => (s.controlPlane.mode = 'eks')), expect: ['spec.controlPlane.mode', '"eks"', 'kubeadm | managed'] },
  { name: 'wave names an unknown node', edit: spec((s) => { delete s.nodes.waveStrategy; s.nodes.waves = [['worker-9'], ['worker-1', 'worker-2', 'worker-3', 'worker-gpu-1', 'cp-1', 'cp-2']]; }), expect: ['spec.nodes.waves[0][0]', 'worker-9'] },
  { name: 'node in two waves', edit: spec((s) => { delete s.nodes.waveStrategy; s.nodes.waves = [['worker-1'], ['worker-1', 'worker-2', 'worker-3', 'worker-gpu-1', 'cp-1', 'cp-2']]; }), expect: ['spec.nodes.waves[1][0]', 'worker-1', 'already in spec.nodes.waves[0]'] },
  { name: 'node in no wave', edit: spec((s) => { delete s.nodes.waveStrategy; s.nodes.waves = [['worker-1', 'worker-2']]; }), expect: ['spec.nodes.waves', 'in no wave', 'cp-1'] },
  { name: 'empty wave list', edit: spec((s) => { delete s.nodes.waveStrategy; s.nodes.waves = []; }), expect: ['spec.nodes.waves', 'got []'] },
  { name: 'empty wave', edit: spec((s) => { delete s.nodes.waveStrategy; s.nodes.waves = [[]]; }), expect: ['spec.nodes.waves[0]', 'got []'] },
  { name: 'waves and waveStrategy together', edit: spec((s) => (s.nodes.waves = [['worker-1', 'worker-2', 'worker-3', 'worker-gpu-1', 'cp-1', 'cp-2']])), expect: ['spec.nodes.waveStrategy', 'not both'] },
  { name: 'canary of zero', edit: spec((s) => (s.nodes.waveStrategy.canary = 0)), expect: ['spec.nodes.waveStrategy.canary', 'got 0'] },
  { name: 'growth factor as a string', edit: spec((s) => (s.nodes.waveStrategy.growthFactor = '2')), expect: ['spec.nodes.waveStrategy.growthFactor', '"2"'] },
  { name: 'fractional wave size', edit: spec((s) => (s.nodes.waveStrategy.maxWaveSize = 2.5)), expect: ['spec.nodes.waveStrategy.maxWaveSize', '2.5'] },
  { name: 'wave share over 100%', edit: spec((s) => (s.nodes.waveStrategy.maxWaveSize = '150%')), expect: ['spec.nodes.waveStrategy.maxWaveSize', '150%', 'such as "25%"'] },
  { name: 'drain budget of zero', edit: spec((s) => (s.nodes.maxConcurrentDrains = 0)), expect: ['spec.nodes.maxConcurrentDrains', '0', 'such as "5%"'] },
  { name: 'drain budget as a word', edit: spec((s) => (s.nodes.maxConcurrentDrains = 'few')), expect: ['spec.nodes.maxConcurrentDrains', 'few', 'a whole number of nodes from 1'] },
  { name: 'restarting DaemonSet pods without a drain', edit: spec((s) => { s.nodes.drain = false; s.nodes.restartDaemonSetPods = true; }), expect: ['spec.nodes.restartDaemonSetPods', 'drain: true'] },
  { name: 'drain timeout too short', edit: spec((s) => (s.nodes.drainTimeoutSeconds = 5)), expect: ['spec.nodes.drainTimeoutSeconds', 'got 5'] },
  { name: 'drain as yes', edit: text((t) => t.replace('drain: true', 'drain: yes')), expect: ['spec.nodes.drain', '"yes"', 'true or false'] },
  { name: 'Calico older than 3.28', edit: spec((s) => (s.calico.version = 'v3.27.3')), expect: ['spec.calico.version', 'v3.27.3', 'v3.28.0 or newer'] },
  { name: 'IP-in-IP off', edit: spec((s) => (s.calico.ipipMode = 'Never')), expect: ['spec.calico.ipipMode', '"Never"', 'Always | CrossSubnet'] },
  { name: 'MTU too small', edit: spec((s) => (s.calico.mtu = 1000)), expect: ['spec.calico.mtu', '1000', '1280'] },
  { name: 'MTU not whole', edit: spec((s) => (s.calico.mtu = 1440.5)), expect: ['spec.calico.mtu', '1440.5'] },
  { name: 'unpinned Calico image', edit: spec((s) => (s.calico.images = { node: 'quay.io/calico/node' })), expect: ['spec.calico.images.node', 'quay.io/calico/node', 'pinned'] },
  { name: 'latest tag', edit: spec((s) => (s.calico.images = { cni: 'quay.io/calico/cni:latest' })), expect: ['spec.calico.images.cni', ':latest'] },
  { name: 'unknown image key', edit: spec((s) => (s.images = { busybox: 'docker.io/library/busybox:1.36.1' })), expect: ['spec.images.busybox', 'unknown field', 'shell, kubectl, netTools'] },
  { name: 'malformed digest', edit: spec((s) => (s.images = { kubectl: 'registry.k8s.io/kubectl@sha256:abc' })), expect: ['spec.images.kubectl', 'sha256:abc'] },
  { name: 'bad rewrite target', edit: spec((s) => (s.policies.rewrite = { '10.32.0.0/12': '10.48.0.0' })), expect: ['spec.policies.rewrite["10.32.0.0/12"]', '10.48.0.0'] },
  { name: 'rewriteIPBlocks as a string', edit: spec((s) => (s.policies.rewriteIPBlocks = 'true')), expect: ['spec.policies.rewriteIPBlocks', '"true"'] },
  { name: 'YAML syntax error', edit: text((t) => t.replace('  step: adopt', '  step: [adopt')), expect: ['migration.yaml', 'line', 'invalid YAML'] },
  { name: 'duplicate key', edit: text((t) => t.replace('  step: adopt', '  step: adopt\n  step: calico')), expect: ['migration.yaml', 'line', 'unique'] },
  { name: 'two documents', edit: text((t) => `${t}\n---\nkind: Other\n`), expect: ['migration.yaml', 'exactly one YAML document'] },
  { name: 'podCIDR outside the supernet', edit: nodesYaml((d) => (d.nodes[2].podCIDRs = ['10.244.2.0/24'])), expect: ['nodes.yaml', 'nodes[name=worker-1].podCIDRs', '10.244.2.0/24', 'crash-loops'] },
  { name: 'IPv6 node address', edit: nodesYaml((d) => (d.nodes[0].internalIP = 'fd00::11')), expect: ['nodes.yaml', 'nodes[name=cp-1].internalIP', 'IPv6 is not supported yet'] },
  { name: 'unknown node field', edit: nodesYaml((d) => (d.nodes[0].podCidr = '10.32.0.0/24')), expect: ['nodes.yaml', 'nodes[0].podCidr', 'unknown field'] },
  { name: 'node listed twice', edit: nodesYaml((d) => d.nodes.push({ ...d.nodes[0] })), expect: ['nodes.yaml', 'nodes[6].name', 'cp-1'] },
  { name: 'alias bomb in migration.yaml', edit: text((t) => `${t}\nx-a: &a [x, x, x, x, x, x, x, x, x]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nx-d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n`), expect: ['migration.yaml', 'resource exhaustion'] },
  {
    name: 'alias bomb in a cluster/ file',
    edit: (ws) => {
      const levels = ['x-a: &l0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 7; i++) levels.push(`x-${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
      fs.writeFileSync(path.join(ws.cluster, 'networkpolicies', 'default', 'bomb.yaml'), `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bomb, namespace: default}\n${levels.join('\n')}\nspec: {podSelector: {}}\n`);
    },
    expect: ['networkpolicies/default/bomb.yaml', 'resource-exhaustion'],
  },
  { name: 'retryRefresh as a word', edit: spec((s) => (s.gitops.retryRefresh = 'yes')), expect: ['spec.gitops.retryRefresh', 'true or false'] },
  { name: 'gitops.yaml of another kind', edit: (ws) => fs.writeFileSync(path.join(ws.cluster, 'gitops.yaml'), 'apiVersion: cni-migrate.io/v1alpha1\nkind: NetworkFacts\n'), expect: ['cluster/gitops.yaml', 'kind', 'got "NetworkFacts"'] },
  { name: 'gitops.yaml with an image that is not a string', edit: (ws) => fs.writeFileSync(path.join(ws.cluster, 'gitops.yaml'), 'apiVersion: cni-migrate.io/v1alpha1\nkind: GitOpsFacts\nflux: {namespace: flux-system, kustomizeControllerImage: [x]}\n'), expect: ['cluster/gitops.yaml', 'flux.kustomizeControllerImage', 'got ["x"]'] },
  { name: 'cluster/ missing', edit: (ws) => fs.rmSync(ws.cluster, { recursive: true }), expect: ['cluster', 'folder not found'] },
];

describe('invalid input', () => {
  it('has at least 30 distinct cases', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const ws = demoWorkspace();
    const good = await cli(ws, 'synth');
    expect(good.code).toBe(0);
    const distBefore = treeDigest(ws.dist);
    const gitopsBefore = treeDigest(ws.gitops);
    expect(distBefore.size).toBeGreaterThan(5);

    c.edit(ws);
    const bad = await cli(ws, 'synth');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    const lines = bad.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    for (const s of c.expect) expect(lines[0]).toContain(s);
    // The field is named where the format puts it ("<file>: <field>: <problem>"), not just
    // somewhere in the line: a fix text that mentions the field would match a wrong field too.
    const field = c.expect.find((e) => /^(spec|apiVersion|kind|metadata|specs|nodes\[)/.test(e));
    if (field) expect(lines[0].slice(lines[0].indexOf(': ') + 2).startsWith(`${field}: `) ? field : lines[0]).toBe(field);
    expect(treeDigest(ws.dist)).toEqual(distBefore);
    expect(treeDigest(ws.gitops)).toEqual(gitopsBefore);
    // No staging folder is left behind either.
    expect(fs.readdirSync(ws.dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('defaults', () => {
  const minimal = `apiVersion: cni-migrate.io/v1alpha1
kind: Migration
metadata: {name: m}
spec:
  step: adopt
  gitops: {engine: flux, repoURL: 'git@example.com:ops/net.git'}
  network: {serviceCIDR: 10.96.0.0/12}
`;

  it('fills every optional field', () => {
    const m = loadMigrationText(minimal, 'migration.yaml');
    expect(m.spec.network).toEqual({ weaveCIDR: '10.32.0.0/12', serviceCIDR: '10.96.0.0/12', calicoCIDR: '10.48.0.0/12' });
    expect(m.spec.gitops).toEqual({ engine: 'flux', repoURL: 'git@example.com:ops/net.git', revision: 'main', path: 'dist', namespace: 'flux-system', project: 'default', retryRefresh: true });
    expect(m.spec.controlPlane.mode).toBe('kubeadm');
    expect(m.spec.nodes).toEqual({ waves: undefined, waveStrategy: { canary: 1, growthFactor: 3, maxWaveSize: '25%', controlPlaneWaveSize: 1 }, drain: true, drainTimeoutSeconds: 600, maxConcurrentDrains: '5%', restartDaemonSetPods: false, restartKubelet: false });
    expect(m.spec.calico.images).toEqual({});
    expect(m.spec.calico.ipAutodetectionMethod).toBe('kubernetes-internal-ip');
    expect(m.spec.calico.nodeMTU).toBe(1500);
    expect(m.spec.calico.ipipMode).toBe('Always');
    expect(m.spec.policies).toEqual({ rewriteIPBlocks: false, rewrite: { '10.32.0.0/12': '10.48.0.0/12' }, acknowledge: [] });
    expect(m.spec.images.shell).toMatch(/busybox:1\.36\.1$/);
  });

  it('derives the Calico CIDR from a non-default Weave CIDR', () => {
    const m = loadMigrationText(minimal.replace('network: {', 'network: {weaveCIDR: 172.16.0.0/13, '), 'migration.yaml');
    expect(m.spec.network.calicoCIDR).toBe('172.24.0.0/13');
  });

  it('accepts images pinned by digest and by registry port', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const m = loadMigrationText(`${minimal}  images: {shell: 'registry.local:5000/mirror/busybox@${digest}', kubectl: 'registry.local:5000/k8s/kubectl:v1.33.1@${digest}'}\n`, 'migration.yaml');
    expect(m.spec.images.shell).toContain(digest);
  });
});
