/**
 * migration.yaml resolved in process (config.test.ts runs the same refusals through the compiled
 * CLI, where a mutation run cannot reach): every field of the schema, refused with a value of the
 * wrong shape, names itself and says what is allowed; every mapping names its fields when one is
 * unknown and its required ones when missing; bounds and patterns accept their edge and refuse one
 * past it; the checks the schema cannot express; every default, and every given value kept.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BUILTIN_RELEASE_LINES, releaseLine } from '../src/config/calico-versions';
import { InputError, pointerToPath, showValue } from '../src/config/errors';
import { DEFAULT_CALICO_VERSION, loadMigrationFile, loadMigrationText, resolveMigration } from '../src/config/load';
import { MIGRATION_SCHEMA } from '../src/config/schema';
import { refusal as inputRefusal } from './support/input-files';

const MINIMAL = {
  apiVersion: 'cni-migrate.io/v1alpha1',
  kind: 'Migration',
  metadata: { name: 'm' },
  spec: { step: 'adopt', gitops: { engine: 'flux', repoURL: 'git@example.com:ops/net.git' }, network: { serviceCIDR: '10.96.0.0/12' } },
};
/** MINIMAL with every optional mapping present (and its required fields), so a leaf can be set alone. */
const WITH_MAPPINGS = {
  ...MINIMAL,
  spec: { ...MINIMAL.spec, controlPlane: { mode: 'kubeadm' }, nodes: { waveStrategy: {} }, calico: { images: {} }, policies: { rewrite: {} }, probe: {}, images: {} },
};

type Doc = Record<string, any>;
const resolve = (edit: (d: Doc) => void, base: object = MINIMAL) => {
  const d = structuredClone(base) as Doc;
  edit(d);
  return resolveMigration(d, 'migration.yaml');
};
/** The refusal of `edit`, as its parts; fails the test when the document is accepted. */
function refusal(edit: (d: Doc) => void, base: object = MINIMAL): { field: string; problem: string; allowed?: string } {
  const [file, field, problem, allowed] = inputRefusal(() => resolve(edit, base));
  expect(file).toBe('migration.yaml');
  return { field, problem, ...(allowed !== undefined ? { allowed } : {}) };
}
const at = (keys: (string | number)[], value: unknown) => (d: Doc) => {
  let o = d;
  keys.slice(0, -1).forEach((k, i) => (o = o[k] ??= typeof keys[i + 1] === 'number' ? [] : {}));
  o[keys[keys.length - 1]] = value;
};

interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  items?: SchemaNode;
  additionalProperties?: boolean | SchemaNode;
}
/** Every node of the schema below the root with its path (array items at [0], map values at a sample key). */
function schemaNodes(node: SchemaNode, keys: (string | number)[] = []): { keys: (string | number)[]; node: SchemaNode }[] {
  const out = keys.length ? [{ keys, node }] : [];
  for (const [k, child] of Object.entries(node.properties ?? {})) out.push(...schemaNodes(child, [...keys, k]));
  if (node.items) out.push(...schemaNodes(node.items, [...keys, 0]));
  if (typeof node.additionalProperties === 'object') out.push(...schemaNodes(node.additionalProperties, [...keys, '10.32.0.0/12']));
  return out;
}
const NODES = schemaNodes(MIGRATION_SCHEMA as unknown as SchemaNode);
const fieldOf = (keys: (string | number)[]) => pointerToPath(`/${keys.map((k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`);

describe('every field of the schema', () => {
  it('has a description saying what is allowed', () => {
    expect(NODES.length).toBeGreaterThan(50);
    expect(NODES.filter((n) => !n.node.description).map((n) => fieldOf(n.keys))).toEqual([]);
  });

  it.each(NODES.map((n) => [fieldOf(n.keys), n] as const))('%s: a value of the wrong shape is refused, naming the field and what is allowed', (field, n) => {
    // A mapping is the wrong shape for every leaf; a string for every mapping and list.
    const wrong = n.node.type === 'object' || n.node.type === 'array' ? 'text' : { wrong: true };
    expect(refusal(at(n.keys, wrong), WITH_MAPPINGS)).toEqual({ field, problem: `got ${JSON.stringify(wrong)}`, allowed: n.node.description });
  });

  it.each(NODES.filter((n) => n.node.properties && n.node.additionalProperties === false).map((n) => [fieldOf(n.keys), n] as const))('%s: an unknown field is refused, naming the fields allowed', (field, n) => {
    expect(refusal(at([...n.keys, 'typo'], 1), WITH_MAPPINGS)).toEqual({ field: `${field}.typo`, problem: 'unknown field (typo?)', allowed: `the fields ${Object.keys(n.node.properties!).join(', ')}` });
  });

  it('an unknown top-level field is refused, naming the fields allowed', () => {
    expect(refusal((d) => (d.specs = {}))).toEqual({ field: 'specs', problem: 'unknown field (typo?)', allowed: 'the fields apiVersion, kind, metadata, spec' });
  });

  const required = [...NODES, { keys: [] as (string | number)[], node: MIGRATION_SCHEMA as unknown as SchemaNode }].flatMap((n) => (n.node.required ?? []).map((r) => [[...n.keys, r], n.node.properties![r].description!] as const));
  it.each(required.map(([keys, d]) => [fieldOf(keys), keys, d] as const))('%s: missing is refused, with what it must be', (field, keys, description) => {
    expect(required.length).toBeGreaterThanOrEqual(8);
    expect(refusal((d) => {
      let o = d;
      for (const k of keys.slice(0, -1)) o = o[k];
      delete o[keys[keys.length - 1]];
    }, WITH_MAPPINGS)).toEqual({ field, problem: 'missing', allowed: description });
  });

  it('a document that is not a mapping is refused as a whole', () => {
    expect(() => resolveMigration('text', 'migration.yaml')).toThrow('migration.yaml: (document): got "text"');
    expect(() => resolveMigration(null, 'migration.yaml')).toThrow('migration.yaml: (document): got null');
  });
});

describe('bounds and patterns: the edge accepted, one past it refused', () => {
  const cases: [string, (string | number)[], unknown[], unknown[]][] = [
    ['metadata.name', ['metadata', 'name'], ['a', 'a'.repeat(30), 'a-1', '0a'], ['a'.repeat(31), 'A', '-a', 'a-', 'a_b', 'a.b', '']],
    ['spec.step', ['spec', 'step'], ['adopt'], ['']],
    ['spec.gitops.engine', ['spec', 'gitops', 'engine'], ['argocd', 'flux'], ['argo', 'Flux']],
    ['spec.gitops.repoURL', ['spec', 'gitops', 'repoURL'], ['https://github.com/o/r.git', 'http://h/r', 'ssh://git@h/r.git', 'git@github.com:o/r.git', 'a.b_c-d@h-1.x:r'], ['github.com/o/r', 'https://h/r x', 'ftp://h/r', 'git@h', '@h:r', ' https://h/r', 'https://']],
    ['spec.gitops.revision', ['spec', 'gitops', 'revision'], ['main', 'release/1.2', 'v1.0_rc-1', '0', 'a'.repeat(255)], ['a'.repeat(256), '-main', '/main', 'a b', '']],
    ['spec.gitops.path', ['spec', 'gitops', 'path'], ['dist', 'deploy/dist/', 'a..b', '.hidden/x'], ['/dist', '../dist', 'a/../b', 'a/..', '..', 'a b', '']],
    ['spec.gitops.namespace', ['spec', 'gitops', 'namespace'], ['argocd', 'a', 'a'.repeat(63)], ['a'.repeat(64), 'Argo', 'a.b', '-a']],
    ['spec.gitops.project', ['spec', 'gitops', 'project'], ['default', 'team.net-ops', 'a'], ['Team', 'a..b', '.a', `${'a'.repeat(250)}.abc`, '']],
    ['spec.controlPlane.mode', ['spec', 'controlPlane', 'mode'], ['kubeadm', 'managed'], ['eks']],
    ['spec.nodes.waves[0][0]', ['spec', 'nodes', 'waves', 0, 0], ['worker-1', 'node.example.com'], ['Worker', 'a_b', '']],
    ['spec.nodes.waveStrategy.canary', ['spec', 'nodes', 'waveStrategy', 'canary'], [1, 100000], [0, 100001, 1.5, '1']],
    ['spec.nodes.waveStrategy.growthFactor', ['spec', 'nodes', 'waveStrategy', 'growthFactor'], [1, 1.5, 100], [0.99, 100.5, '2']],
    ['spec.nodes.waveStrategy.maxWaveSize', ['spec', 'nodes', 'waveStrategy', 'maxWaveSize'], [1, 100000, '1%', '9%', '10%', '99%', '100%'], [0, 100001, '0%', '101%', '05%', '25', '25 %', 2.5]],
    ['spec.nodes.waveStrategy.controlPlaneWaveSize', ['spec', 'nodes', 'waveStrategy', 'controlPlaneWaveSize'], [1, 100000], [0, 100001]],
    ['spec.nodes.drainTimeoutSeconds', ['spec', 'nodes', 'drainTimeoutSeconds'], [30, 86400], [29, 86401, 30.5]],
    ['spec.nodes.maxConcurrentDrains', ['spec', 'nodes', 'maxConcurrentDrains'], [1, 100000, '1%', '100%'], [0, 100001, '0%', '101%', 'few']],
    ['spec.calico.version', ['spec', 'calico', 'version'], ['v3.28.0', 'v3.28.5', 'v3.28.10'], ['v3.27.9', 'v3.2.0', 'v3.28', '3.28.5', 'v3.28.05', 'v4.0.0', 'v3.28.5-rc1']],
    ['spec.calico.images.node', ['spec', 'calico', 'images', 'node'], ['quay.io/calico/node:v3.28.5', 'registry.local:5000/calico/node:v3.28.5', `quay.io/calico/node@sha256:${'a'.repeat(64)}`, `quay.io/calico/node:v3.28.5@sha256:${'0'.repeat(64)}`, 'docker.io/a__b/c:1'],
      ['quay.io/calico/node', 'quay.io/calico/node:latest', `quay.io/calico/node:latest@sha256:${'a'.repeat(64)}`, 'calico-node:v3', 'quay.io/calico/node@sha256:abc', `quay.io/calico/node@sha256:${'A'.repeat(64)}`, 'Quay.io/calico/node:v1', 'quay.io/calico/node:-x', `quay.io/calico/node:${'a'.repeat(129)}`]],
    ['spec.calico.ipipMode', ['spec', 'calico', 'ipipMode'], ['Always', 'CrossSubnet'], ['Never', 'always']],
    ['spec.calico.mtu', ['spec', 'calico', 'mtu'], [0, 1280, 1480], [-1, 9001, 1440.5]],
    ['spec.calico.manifest', ['spec', 'calico', 'manifest'], ['vendor/calico.yaml'], ['']],
    ['spec.calico.ipAutodetectionMethod', ['spec', 'calico', 'ipAutodetectionMethod'], ['kubernetes-internal-ip', 'interface=eth0', 'skip-interface=weave,datapath,vxlan-.*', 'cidr=192.168.0.0/16', 'can-reach=8.8.8.8'], ['first-found', 'interface=', 'interface=eth 0', 'kubernetes-internal-ip ', 'x-interface=eth0']],
    ['spec.calico.iptablesBackend', ['spec', 'calico', 'iptablesBackend'], ['Legacy', 'NFT'], ['Auto', 'nft']],
    ['spec.calico.nodeMTU', ['spec', 'calico', 'nodeMTU'], [1300, 9216], [1279, 9217]],
    ['spec.policies.acknowledge[0]', ['spec', 'policies', 'acknowledge', 0], ['ns/p', 'a-1/b.c-2'], ['ns', 'Ns/p', 'ns/p/q', 'ns/-p', '/p']],
    ['spec.probe.maxLossPercent', ['spec', 'probe', 'maxLossPercent'], [0, 0.5, 100], [-0.1, 100.1]],
    ['spec.probe.tunnelPeers', ['spec', 'probe', 'tunnelPeers'], [1, 50], [0, 51, 2.5]],
  ];
  it.each(cases)('%s', (field, keys, good, bad) => {
    // Waves without the (empty) strategy mapping, which may not stand beside them.
    const base = keys[2] === 'waves' ? MINIMAL : WITH_MAPPINGS;
    for (const v of good) {
      try {
        resolve(at(keys, v), base);
      } catch (e) {
        throw new Error(`${field} = ${JSON.stringify(v)} refused: ${(e as Error).message}`);
      }
    }
    for (const v of bad) expect([v, refusal(at(keys, v), base).field]).toEqual([v, field]);
  });

  it('spec.policies.acknowledge must not repeat a policy', () => {
    expect(refusal((d) => (d.spec.policies = { acknowledge: ['ns/p', 'ns/p'] })).field).toBe('spec.policies.acknowledge');
  });

  it('spec.nodes.waves: the list and each wave must not be empty', () => {
    expect(refusal((d) => (d.spec.nodes = { waves: [] }))).toEqual({ field: 'spec.nodes.waves', problem: 'got []', allowed: 'a non-empty list of waves, each a non-empty list of node names' });
    expect(refusal((d) => (d.spec.nodes = { waves: [['a'], []] }))).toEqual({ field: 'spec.nodes.waves[1]', problem: 'got []', allowed: 'a non-empty list of node names' });
  });
});

describe('checks the schema cannot express', () => {
  const net = (network: object) => (d: Doc) => (d.spec.network = { serviceCIDR: '10.96.0.0/12', ...network });

  it('CIDRs must parse as IPv4, naming the field and the value', () => {
    expect(refusal(net({ weaveCIDR: '10.32.0.1/12' }))).toEqual({ field: 'spec.network.weaveCIDR', problem: expect.stringMatching(/^got "10\.32\.0\.1\/12": .*host bits/), allowed: 'an IPv4 CIDR such as 10.32.0.0/12' });
    expect(refusal(net({ serviceCIDR: '10.300.0.0/16' })).field).toBe('spec.network.serviceCIDR');
    expect(refusal(net({ calicoCIDR: 'x' })).field).toBe('spec.network.calicoCIDR');
  });

  it('the Weave CIDR is a /8 to a /28', () => {
    expect(resolve(net({ weaveCIDR: '10.0.0.0/8', calicoCIDR: '11.0.0.0/8' })).spec.network.weaveCIDR).toBe('10.0.0.0/8');
    expect(refusal(net({ weaveCIDR: '10.0.0.0/7', calicoCIDR: '12.0.0.0/8' }))).toEqual({ field: 'spec.network.weaveCIDR', problem: 'got 10.0.0.0/7: a /7 is outside the supported range', allowed: 'a prefix length from /8 to /28' });
    expect(resolve(net({ weaveCIDR: '10.32.0.0/28', calicoCIDR: '10.48.0.0/26' })).spec.network.weaveCIDR).toBe('10.32.0.0/28');
    expect(refusal(net({ weaveCIDR: '10.32.0.0/29', calicoCIDR: '10.48.0.0/26' })).problem).toBe('got 10.32.0.0/29: a /29 is outside the supported range');
  });

  it('the Calico CIDR is a /8 to a /26, and a derived one is named as derived', () => {
    expect(resolve(net({ weaveCIDR: '10.32.0.0/26' })).spec.network.calicoCIDR).toBe('10.32.0.64/26');
    expect(refusal(net({ weaveCIDR: '10.32.0.0/27' }))).toEqual({ field: 'spec.network.calicoCIDR (default: sibling of weaveCIDR)', problem: 'got 10.32.0.32/27: Calico IPAM hands out /26 blocks, so the pool must be at least a /26', allowed: 'a prefix length from /8 to /26' });
    expect(refusal(net({ calicoCIDR: '10.48.0.0/27' })).field).toBe('spec.network.calicoCIDR');
    expect(resolve(net({ weaveCIDR: '10.0.0.0/8', calicoCIDR: '11.0.0.0/8' })).spec.network.calicoCIDR).toBe('11.0.0.0/8');
    expect(refusal(net({ weaveCIDR: '10.0.0.0/8', calicoCIDR: '12.0.0.0/7' })).problem).toMatch(/^got 12\.0\.0\.0\/7: /);
  });

  it('the veth MTU fits IP-in-IP under the node MTU', () => {
    const calico = (c: object) => (d: Doc) => (d.spec.calico = c);
    expect(resolve(calico({ mtu: 1480 })).spec.calico.mtu).toBe(1480);
    expect(refusal(calico({ mtu: 1481 }))).toEqual({ field: 'spec.calico.mtu', problem: 'got 1481: IP-in-IP adds 20 bytes, which does not fit under the node MTU 1500', allowed: '0 (auto-detect) or at most 1480' });
    expect(refusal(calico({ mtu: 1279 }))).toEqual({ field: 'spec.calico.mtu', problem: 'got 1279', allowed: '0 (auto-detect) or a veth MTU from 1280 to 9000' });
    expect(resolve(calico({ mtu: 1280 })).spec.calico.mtu).toBe(1280);
    expect(resolve(calico({ mtu: 8980, nodeMTU: 9000 })).spec.calico).toMatchObject({ mtu: 8980, nodeMTU: 9000 });
    expect(refusal(calico({ mtu: 1400, nodeMTU: 1400 })).problem).toBe('got 1400: IP-in-IP adds 20 bytes, which does not fit under the node MTU 1400');
  });

  const ONLY_NODE = 'a pattern that matches only the node network interfaces (e.g. interface=eth0,ens.*)';
  const REGEXES = 'interface name regexes separated by ","';
  const SKIP = 'skip-interface=weave,datapath,vxlan-.*,...';
  it.each<[string, string | undefined, string | undefined]>([
    ['interface=eth0,ens.*', undefined, undefined],
    ['interface=eth.*|weave', '"interface=eth.*|weave" matches Weave\'s interface weave', ONLY_NODE],
    ['interface=.*', '"interface=.*" matches Weave\'s interface weave', ONLY_NODE],
    ['interface=^data', '"interface=^data" matches Weave\'s interface datapath', ONLY_NODE],
    ['interface=vxlan-678', '"interface=vxlan-678" matches Weave\'s interface vxlan-6784', ONLY_NODE],
    ['interface=eth0,(', '"(" is not a valid regular expression', REGEXES],
    ['skip-interface=weave,datapath,vxlan-.*', undefined, undefined],
    ['skip-interface=.*', undefined, undefined],
    ['skip-interface=weave', '"skip-interface=weave" does not skip Weave\'s interface(s) datapath, vxlan-6784', SKIP],
    ['skip-interface=weave,datapath', '"skip-interface=weave,datapath" does not skip Weave\'s interface(s) vxlan-6784', SKIP],
    ['skip-interface=[', '"[" is not a valid regular expression', REGEXES],
    ['cidr=192.168.0.0/16,172.16.0.0/12', undefined, undefined],
    ['cidr=192.168.0.0/16,10.0.0.0/8', '10.0.0.0/8 overlaps the Weave CIDR 10.32.0.0/12, where the weave bridge has an address', 'the CIDR of the node network'],
    ['cidr=10.33.0.0/16', '10.33.0.0/16 overlaps the Weave CIDR 10.32.0.0/12, where the weave bridge has an address', 'the CIDR of the node network'],
    ['cidr=192.168.0.0/33', 'got "192.168.0.0/33": ', 'cidr=<IPv4 CIDR of the node network>'],
    ['can-reach=10.32.0.1', undefined, undefined],
    ['kubernetes-internal-ip', undefined, undefined],
    ['can-reach=weave.example.com', undefined, undefined],
  ])('ipAutodetectionMethod %s', (method, problem, allowed) => {
    const edit = (d: Doc) => (d.spec.calico = { ipAutodetectionMethod: method });
    if (problem === undefined) expect(resolve(edit).spec.calico.ipAutodetectionMethod).toBe(method);
    else {
      const r = refusal(edit);
      expect(r.field).toBe('spec.calico.ipAutodetectionMethod');
      expect(r.problem.startsWith(problem)).toBe(true);
      expect(r.allowed).toBe(allowed);
    }
  });

  it('restarting DaemonSet pods needs the drain', () => {
    expect(refusal((d) => (d.spec.nodes = { drain: false, restartDaemonSetPods: true }))).toEqual({ field: 'spec.nodes.restartDaemonSetPods', problem: 'true while spec.nodes.drain is false', allowed: 'restartDaemonSetPods only together with drain: true' });
    expect(resolve((d) => (d.spec.nodes = { restartDaemonSetPods: true })).spec.nodes).toMatchObject({ drain: true, restartDaemonSetPods: true });
    expect(resolve((d) => (d.spec.nodes = { drain: false, restartDaemonSetPods: false })).spec.nodes).toMatchObject({ drain: false, restartDaemonSetPods: false });
  });

  it('waves or a wave strategy, not both', () => {
    expect(refusal((d) => (d.spec.nodes = { waves: [['a']], waveStrategy: {} }))).toEqual({ field: 'spec.nodes.waveStrategy', problem: 'given together with spec.nodes.waves', allowed: 'either waves or waveStrategy, not both' });
  });

  it('rewrite rules are IPv4 CIDRs, keys and values, stored in canonical form', () => {
    const pol = (rewrite: object) => (d: Doc) => (d.spec.policies = { rewrite });
    expect(refusal(pol({ '10.32.0.0/12': '10.48.0.0' })).field).toBe('spec.policies.rewrite["10.32.0.0/12"]');
    expect(refusal(pol({ 'pods': '10.48.0.0/12' })).field).toBe('spec.policies.rewrite["pods"] (key)');
    expect(resolve(pol({ '10.32.0.0/12': '10.48.0.0/12', '172.16.0.0/16': '172.17.0.0/16' })).spec.policies.rewrite).toEqual({ '10.32.0.0/12': '10.48.0.0/12', '172.16.0.0/16': '172.17.0.0/16' });
  });

  it('a Calico version outside the built-in release lines needs its own manifest', () => {
    expect(BUILTIN_RELEASE_LINES).toContain(releaseLine(DEFAULT_CALICO_VERSION));
    expect(refusal((d) => (d.spec.calico = { version: 'v3.29.1' }))).toEqual({ field: 'spec.calico.version', problem: 'got "v3.29.1": the built-in Calico objects are written for v3.28.x', allowed: 'v3.28.x, or set spec.calico.manifest to the calico.yaml of v3.29.1' });
    expect(resolve((d) => (d.spec.calico = { version: 'v3.29.1', manifest: 'vendor/calico.yaml' })).spec.calico).toMatchObject({ version: 'v3.29.1', manifest: 'vendor/calico.yaml' });
    expect(resolve((d) => (d.spec.calico = { version: 'v3.28.0' })).spec.calico.version).toBe('v3.28.0');
  });
});

describe('resolved values', () => {
  it('fills every default', () => {
    expect(resolve(() => undefined)).toEqual({
      apiVersion: 'cni-migrate.io/v1alpha1',
      kind: 'Migration',
      metadata: { name: 'm' },
      spec: {
        step: 'adopt',
        gitops: { engine: 'flux', repoURL: 'git@example.com:ops/net.git', revision: 'main', path: 'dist', namespace: 'flux-system', project: 'default', retryRefresh: true },
        network: { weaveCIDR: '10.32.0.0/12', serviceCIDR: '10.96.0.0/12', calicoCIDR: '10.48.0.0/12' },
        controlPlane: { mode: 'kubeadm', disableNodeCidrAllocation: false },
        nodes: { waves: undefined, waveStrategy: { canary: 1, growthFactor: 3, maxWaveSize: '25%', controlPlaneWaveSize: 1 }, drain: true, drainTimeoutSeconds: 600, maxConcurrentDrains: '5%', restartDaemonSetPods: false, restartKubelet: false },
        calico: { version: 'v3.28.5', images: {}, ipipMode: 'Always', mtu: 0, manifest: undefined, ipAutodetectionMethod: 'kubernetes-internal-ip', iptablesBackend: undefined, nodeMTU: 1500 },
        policies: { rewriteIPBlocks: false, rewrite: { '10.32.0.0/12': '10.48.0.0/12' }, acknowledge: [] },
        images: { shell: 'docker.io/library/busybox:1.36.1', kubectl: 'registry.k8s.io/kubectl:v1.33.1', netTools: undefined },
        probe: { enabled: true, maxLossPercent: 0, tunnelPeers: 3 },
      },
    });
    expect(resolve((d) => (d.spec.gitops.engine = 'argocd')).spec.gitops.namespace).toBe('argocd');
  });

  it('keeps every value given, in place of its default', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const m = resolve((d) => {
      d.spec.gitops = { engine: 'argocd', repoURL: 'https://git.example.com/net.git', revision: 'release', path: 'deploy/dist//', namespace: 'gitops', project: 'network', retryRefresh: false };
      d.spec.network = { weaveCIDR: '172.16.0.0/13', serviceCIDR: '10.96.0.0/16', calicoCIDR: '172.28.0.0/14' };
      d.spec.controlPlane = { mode: 'managed', disableNodeCidrAllocation: true };
      d.spec.nodes = { waves: [['a'], ['b', 'c']], drain: false, drainTimeoutSeconds: 120, maxConcurrentDrains: 2, restartKubelet: true };
      d.spec.calico = { version: 'v3.28.1', images: { node: `r.io/calico/node@${digest}` }, ipipMode: 'CrossSubnet', mtu: 1400, manifest: 'vendor/c.yaml', ipAutodetectionMethod: 'can-reach=10.0.0.1', iptablesBackend: 'NFT', nodeMTU: 1450 };
      d.spec.policies = { rewriteIPBlocks: true, rewrite: { '172.16.0.0/13': '172.28.0.0/14' }, acknowledge: ['z/b', 'a/c'] };
      d.spec.images = { shell: 'r.io/busybox:1.37.0', kubectl: 'r.io/kubectl:v1.31.0', netTools: 'r.io/net:1' };
      d.spec.probe = { enabled: false, maxLossPercent: 2.5, tunnelPeers: 7 };
    });
    expect(m.spec).toEqual({
      step: 'adopt',
      gitops: { engine: 'argocd', repoURL: 'https://git.example.com/net.git', revision: 'release', path: 'deploy/dist', namespace: 'gitops', project: 'network', retryRefresh: false },
      network: { weaveCIDR: '172.16.0.0/13', serviceCIDR: '10.96.0.0/16', calicoCIDR: '172.28.0.0/14' },
      controlPlane: { mode: 'managed', disableNodeCidrAllocation: true },
      nodes: { waves: [['a'], ['b', 'c']], waveStrategy: { canary: 1, growthFactor: 3, maxWaveSize: '25%', controlPlaneWaveSize: 1 }, drain: false, drainTimeoutSeconds: 120, maxConcurrentDrains: 2, restartDaemonSetPods: false, restartKubelet: true },
      calico: { version: 'v3.28.1', images: { node: `r.io/calico/node@${digest}` }, ipipMode: 'CrossSubnet', mtu: 1400, manifest: 'vendor/c.yaml', ipAutodetectionMethod: 'can-reach=10.0.0.1', iptablesBackend: 'NFT', nodeMTU: 1450 },
      policies: { rewriteIPBlocks: true, rewrite: { '172.16.0.0/13': '172.28.0.0/14' }, acknowledge: ['a/c', 'z/b'] },
      images: { shell: 'r.io/busybox:1.37.0', kubectl: 'r.io/kubectl:v1.31.0', netTools: 'r.io/net:1' },
      probe: { enabled: false, maxLossPercent: 2.5, tunnelPeers: 7 },
    });
    const strategy = resolve((d) => (d.spec.nodes = { waveStrategy: { canary: 2, growthFactor: 1.5, maxWaveSize: 40, controlPlaneWaveSize: 3 } })).spec.nodes.waveStrategy;
    expect(strategy).toEqual({ canary: 2, growthFactor: 1.5, maxWaveSize: 40, controlPlaneWaveSize: 3 });
  });

  it('does not share the given images mapping with the document', () => {
    const doc = structuredClone(MINIMAL) as Doc;
    doc.spec.calico = { images: { node: 'quay.io/calico/node:v3.28.5' } };
    const m = resolveMigration(doc, 'migration.yaml');
    doc.spec.calico.images.node = 'changed';
    expect(m.spec.calico.images.node).toBe('quay.io/calico/node:v3.28.5');
  });
});

describe('loading migration.yaml', () => {
  const repo = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-config-'));
    fs.mkdirSync(path.join(dir, '.git'));
    fs.mkdirSync(path.join(dir, 'clusters', 'prod'), { recursive: true });
    const file = path.join(dir, 'clusters', 'prod', 'migration.yaml');
    const write = (manifest?: string) => fs.writeFileSync(file, JSON.stringify({ ...MINIMAL, spec: { ...MINIMAL.spec, ...(manifest !== undefined ? { calico: { manifest } } : {}) } }));
    return { dir, file, write };
  };

  it('reads a file and a text alike', () => {
    const { file, write } = repo();
    write();
    expect(loadMigrationFile(file)).toEqual(loadMigrationText(fs.readFileSync(file, 'utf8'), 'x'));
  });

  it('takes a Calico manifest inside the repository, relative to migration.yaml', () => {
    const { dir, file, write } = repo();
    fs.mkdirSync(path.join(dir, 'vendor'));
    fs.writeFileSync(path.join(dir, 'vendor', 'calico.yaml'), '');
    write('../../vendor/calico.yaml');
    expect(loadMigrationFile(file).spec.calico.manifest).toBe('../../vendor/calico.yaml');
  });

  it.each([
    ['/etc/calico.yaml', 'is an absolute path'],
    ['../../../calico.yaml', 'is outside the repository'],
    ['vendor/missing.yaml', 'does not exist'],
    // Under a file: lstat fails with ENOTDIR, not ENOENT, and that is still "does not exist".
    ['migration.yaml/calico.yaml', 'does not exist'],
  ])('refuses the manifest %s, naming it as the user named the file', (manifest, problem) => {
    const { file, write } = repo();
    write(manifest);
    expect(inputRefusal(() => loadMigrationFile(file, 'clusters/prod/migration.yaml'))).toEqual(['clusters/prod/migration.yaml', 'spec.calico.manifest', `${JSON.stringify(manifest)} ${problem}`, 'a path to calico.yaml, relative to migration.yaml, inside the repository']);
  });

  it('refuses a manifest that is a link out of the repository, and lets a dangling link inside it through to the reader', () => {
    const { dir, file, write } = repo();
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-outside-'));
    fs.writeFileSync(path.join(outside, 'calico.yaml'), '');
    fs.symlinkSync(path.join(outside, 'calico.yaml'), path.join(dir, 'clusters', 'prod', 'calico.yaml'));
    write('calico.yaml');
    expect(() => loadMigrationFile(file)).toThrow('"calico.yaml" is outside the repository');
    fs.symlinkSync(path.join(dir, 'gone.yaml'), path.join(dir, 'clusters', 'prod', 'dangling.yaml'));
    write('dangling.yaml');
    expect(loadMigrationFile(file).spec.calico.manifest).toBe('dangling.yaml');
  });
});

describe('error lines', () => {
  it('name the file, the field and the problem, then what is allowed, on one line', () => {
    expect(new InputError('m.yaml', 'spec.x', 'got 1', 'a string').message).toBe('m.yaml: spec.x: got 1; allowed: a string');
    expect(new InputError('m.yaml', '', 'got 1').message).toBe('m.yaml: (document): got 1');
    expect(new InputError('m.yaml', 'spec.x', 'got "a\n  b"', 'one\nline').message).toBe('m.yaml: spec.x: got "a b"; allowed: one line');
    expect(new InputError('m.yaml', 'f', 'p').name).toBe('InputError');
    expect(InputError.EXIT_CODE).toBe(2);
    expect([InputError.isInputError(new InputError('a', 'b', 'c')), InputError.isInputError(new Error('x'))]).toEqual([true, false]);
  });

  it('show a value bounded to 80 characters, and what cannot be serialised as text', () => {
    expect(showValue(undefined)).toBe('nothing');
    expect(showValue('x')).toBe('"x"');
    expect(showValue('a'.repeat(78))).toBe(`"${'a'.repeat(78)}"`);
    expect(showValue('a'.repeat(79))).toBe(`"${'a'.repeat(76)}...`);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(showValue(loop)).toBe('[object Object]');
    expect(showValue(() => 1)).toBe('() => 1');
  });

  it('turn a JSON pointer into the path a user writes', () => {
    expect(pointerToPath('')).toBe('');
    expect(pointerToPath('/spec/nodes/waves/0/12')).toBe('spec.nodes.waves[0][12]');
    expect(pointerToPath('/spec/policies/rewrite/10.32.0.0~112')).toBe('spec.policies.rewrite["10.32.0.0/12"]');
    expect(pointerToPath('/a~0b/c_d-e/_x')).toBe('["a~b"].c_d-e._x');
    expect(pointerToPath('/0')).toBe('[0]');
  });

  it('release lines of Calico tags', () => {
    expect(releaseLine('v3.28.5')).toBe('v3.28');
    expect(releaseLine('v10.100.0')).toBe('v10.100');
    for (const bad of ['v3.28', '3.28.5', 'v3.28.5-rc1', 'xv3.28.5']) expect(() => releaseLine(bad)).toThrow(`not a Calico release tag: ${JSON.stringify(bad)}`);
  });
});
