/**
 * Loading migration.yaml: strict YAML, the JSON Schema, the checks JSON Schema cannot express,
 * then defaults. The result is a fully resolved `Migration`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BUILTIN_RELEASE_LINES, releaseLine } from './calico-versions';
import { Cidr } from '../network/cidr';
import { InputError } from './errors';
import { isSymlink, isWithin, realPath, repositoryRoot } from '../util/repo-paths';
import { formatSchemaError } from './schema-errors';
import { inputValidator } from './schema-validator';
import type { Migration, MigrationSpec } from './types';
import { parseYamlDocument, readYamlFile } from './yaml-file';

export const DEFAULT_WEAVE_CIDR = '10.32.0.0/12';
export const DEFAULT_CALICO_VERSION = 'v3.28.5';
export const DEFAULT_SHELL_IMAGE = 'docker.io/library/busybox:1.36.1';
export const DEFAULT_KUBECTL_IMAGE = 'registry.k8s.io/kubectl:v1.33.1';

const validate = inputValidator('migration');

/** Read and resolve migration.yaml at `file`; errors name it as `shownAs`. */
export function loadMigrationFile(file: string, shownAs: string = file): Migration {
  const m = resolveMigration(readYamlFile(file, shownAs), shownAs);
  const manifest = m.spec.calico.manifest;
  if (manifest !== undefined) {
    const allowed = 'a path to calico.yaml, relative to migration.yaml, inside the repository';
    const abs = path.resolve(path.dirname(file), manifest);
    if (path.isAbsolute(manifest)) throw new InputError(shownAs, 'spec.calico.manifest', `${JSON.stringify(manifest)} is an absolute path`, allowed);
    if (!isWithin(realPath(abs), realPath(repositoryRoot(path.dirname(file))))) {
      throw new InputError(shownAs, 'spec.calico.manifest', `${JSON.stringify(manifest)} is outside the repository`, allowed);
    }
    if (!fs.existsSync(abs) && !isSymlink(abs)) throw new InputError(shownAs, 'spec.calico.manifest', `${JSON.stringify(manifest)} does not exist`, allowed);
  }
  return m;
}

/** Resolve migration.yaml given as text (used by `guard`, which reads it from git). */
export function loadMigrationText(text: string, shownAs: string): Migration {
  return resolveMigration(parseYamlDocument(text, shownAs), shownAs);
}

/** Validate a parsed document and fill in every default. */
export function resolveMigration(raw: unknown, file: string): Migration {
  if (!validate(raw)) {
    // A value that matches none of a oneOf's forms: the oneOf's own description names them all.
    const first = validate.errors![0];
    const alternatives = validate.errors!.find((e) => e.keyword === 'oneOf' && e.instancePath === first.instancePath);
    throw formatSchemaError(file, alternatives ?? first, raw);
  }
  const doc = raw as { metadata: { name: string }; spec: RawSpec };
  const s = doc.spec;

  const parseCidr = (field: string, value: string) => {
    try {
      return Cidr.parse(value);
    } catch (e) {
      throw new InputError(file, field, `got ${JSON.stringify(value)}: ${(e as Error).message}`, 'an IPv4 CIDR such as 10.32.0.0/12');
    }
  };
  const weave = parseCidr('spec.network.weaveCIDR', s.network.weaveCIDR ?? DEFAULT_WEAVE_CIDR);
  parseCidr('spec.network.serviceCIDR', s.network.serviceCIDR);
  if (weave.prefix < 8 || weave.prefix > 28) {
    throw new InputError(file, 'spec.network.weaveCIDR', `got ${weave}: a /${weave.prefix} is outside the supported range`, 'a prefix length from /8 to /28');
  }
  let calicoText = s.network.calicoCIDR;
  const calicoField = calicoText === undefined ? 'spec.network.calicoCIDR (default: sibling of weaveCIDR)' : 'spec.network.calicoCIDR';
  calicoText ??= weave.sibling().toString();
  const calico = parseCidr(calicoField, calicoText);
  if (calico.prefix < 8 || calico.prefix > 26) {
    throw new InputError(file, calicoField, `got ${calico}: Calico IPAM hands out /26 blocks, so the pool must be at least a /26`, 'a prefix length from /8 to /26');
  }

  const mtu = s.calico?.mtu ?? 0;
  if (mtu !== 0 && mtu < 1280) {
    throw new InputError(file, 'spec.calico.mtu', `got ${mtu}`, '0 (auto-detect) or a veth MTU from 1280 to 9000');
  }
  const nodeMTU = s.calico?.nodeMTU ?? 1500;
  if (mtu > nodeMTU - IPIP_OVERHEAD) {
    throw new InputError(file, 'spec.calico.mtu', `got ${mtu}: IP-in-IP adds ${IPIP_OVERHEAD} bytes, which does not fit under the node MTU ${nodeMTU}`, `0 (auto-detect) or at most ${nodeMTU - IPIP_OVERHEAD}`);
  }
  const autodetect = s.calico?.ipAutodetectionMethod ?? 'kubernetes-internal-ip';
  checkAutodetection(autodetect, weave, file);
  if (s.nodes?.restartDaemonSetPods && s.nodes.drain === false) {
    // Without a drain, deleting every non-host-network pod would also delete Deployment pods, past their PodDisruptionBudgets.
    throw new InputError(file, 'spec.nodes.restartDaemonSetPods', 'true while spec.nodes.drain is false', 'restartDaemonSetPods only together with drain: true');
  }
  if (s.nodes?.waves && s.nodes.waveStrategy) {
    throw new InputError(file, 'spec.nodes.waveStrategy', 'given together with spec.nodes.waves', 'either waves or waveStrategy, not both');
  }
  const rewrite = s.policies?.rewrite ?? { [weave.toString()]: calico.toString() };
  for (const [from, to] of Object.entries(rewrite)) {
    parseCidr(`spec.policies.rewrite[${JSON.stringify(from)}] (key)`, from);
    parseCidr(`spec.policies.rewrite[${JSON.stringify(from)}]`, to);
  }

  const engine = s.gitops.engine;
  // A vendored manifest says its own release (its images' tags); a default here would only be a
  // release PLAN.md names and the cluster does not run.
  const version = s.calico?.version ?? (s.calico?.manifest ? undefined : DEFAULT_CALICO_VERSION);
  if (version !== undefined && !s.calico?.manifest && !(BUILTIN_RELEASE_LINES as readonly string[]).includes(releaseLine(version))) {
    throw new InputError(file, 'spec.calico.version', `got ${JSON.stringify(version)}: the built-in Calico objects are written for ${BUILTIN_RELEASE_LINES.map((l) => `${l}.x`).join(', ')}`,
      `${BUILTIN_RELEASE_LINES.map((l) => `${l}.x`).join(', ')}, or set spec.calico.manifest to the calico.yaml of ${version}`);
  }
  const spec: MigrationSpec = {
    step: s.step,
    gitops: {
      engine,
      repoURL: s.gitops.repoURL,
      revision: s.gitops.revision ?? 'main',
      path: (s.gitops.path ?? 'dist').replace(/\/+$/, ''),
      namespace: s.gitops.namespace ?? (engine === 'argocd' ? 'argocd' : 'flux-system'),
      project: s.gitops.project ?? 'default',
      retryRefresh: s.gitops.retryRefresh ?? true,
    },
    network: {
      weaveCIDR: weave.toString(),
      serviceCIDR: s.network.serviceCIDR,
      calicoCIDR: calico.toString(),
    },
    controlPlane: { mode: s.controlPlane?.mode ?? 'kubeadm', disableNodeCidrAllocation: s.controlPlane?.disableNodeCidrAllocation ?? false },
    nodes: {
      waves: s.nodes?.waves,
      waveStrategy: {
        canary: s.nodes?.waveStrategy?.canary ?? 1,
        growthFactor: s.nodes?.waveStrategy?.growthFactor ?? 3,
        maxWaveSize: s.nodes?.waveStrategy?.maxWaveSize ?? '25%',
        controlPlaneWaveSize: s.nodes?.waveStrategy?.controlPlaneWaveSize ?? 1,
      },
      drain: s.nodes?.drain ?? true,
      drainTimeoutSeconds: s.nodes?.drainTimeoutSeconds ?? 600,
      maxConcurrentDrains: s.nodes?.maxConcurrentDrains ?? '5%',
      restartDaemonSetPods: s.nodes?.restartDaemonSetPods ?? false,
      restartKubelet: s.nodes?.restartKubelet ?? false,
    },
    calico: {
      version,
      images: { ...(s.calico?.images ?? {}) },
      ipipMode: s.calico?.ipipMode ?? 'Always',
      mtu,
      manifest: s.calico?.manifest,
      ipAutodetectionMethod: autodetect,
      iptablesBackend: s.calico?.iptablesBackend,
      nodeMTU,
    },
    policies: {
      rewriteIPBlocks: s.policies?.rewriteIPBlocks ?? false,
      rewrite: Object.fromEntries(Object.entries(rewrite).map(([k, v]) => [Cidr.parse(k).toString(), Cidr.parse(v).toString()])),
      acknowledge: [...(s.policies?.acknowledge ?? [])].sort(),
    },
    images: {
      shell: s.images?.shell ?? DEFAULT_SHELL_IMAGE,
      kubectl: s.images?.kubectl ?? DEFAULT_KUBECTL_IMAGE,
      netTools: s.images?.netTools,
    },
    probe: { enabled: s.probe?.enabled ?? true, maxLossPercent: s.probe?.maxLossPercent ?? 0, tunnelPeers: s.probe?.tunnelPeers ?? 3 },
  };
  return { apiVersion: 'cni-migrate.io/v1alpha1', kind: 'Migration', metadata: { name: doc.metadata.name }, spec };
}

/** Bytes IP-in-IP adds to every packet (an outer IPv4 header). */
export const IPIP_OVERHEAD = 20;

/** Interfaces Weave creates, which calico-node must never take its address from. */
const WEAVE_INTERFACES = ['weave', 'datapath', 'vxlan-6784'];

/**
 * Refuse autodetection methods that can pick a Weave interface: BGP would then peer on a Weave
 * address. Calico's regexes are Go RE2; the simple ones people write mean the same in JS.
 */
function checkAutodetection(method: string, weave: Cidr, file: string): void {
  const field = 'spec.calico.ipAutodetectionMethod';
  const [kind, arg] = method.includes('=') ? [method.slice(0, method.indexOf('=')), method.slice(method.indexOf('=') + 1)] : [method, ''];
  const regexes = () =>
    arg.split(',').map((r) => {
      try {
        return new RegExp(r);
      } catch {
        throw new InputError(file, field, `${JSON.stringify(r)} is not a valid regular expression`, 'interface name regexes separated by ","');
      }
    });
  if (kind === 'interface') {
    const hit = WEAVE_INTERFACES.find((i) => regexes().some((r) => r.test(i)));
    if (hit) throw new InputError(file, field, `${JSON.stringify(method)} matches Weave's interface ${hit}`, 'a pattern that matches only the node network interfaces (e.g. interface=eth0,ens.*)');
  } else if (kind === 'skip-interface') {
    const miss = WEAVE_INTERFACES.filter((i) => !regexes().some((r) => r.test(i)));
    if (miss.length > 0) throw new InputError(file, field, `${JSON.stringify(method)} does not skip Weave's interface(s) ${miss.join(', ')}`, 'skip-interface=weave,datapath,vxlan-.*,...');
  } else if (kind === 'cidr') {
    for (const c of arg.split(',')) {
      let block: Cidr;
      try {
        block = Cidr.parse(c);
      } catch (e) {
        throw new InputError(file, field, `got ${JSON.stringify(c)}: ${(e as Error).message}`, 'cidr=<IPv4 CIDR of the node network>');
      }
      if (block.overlaps(weave)) throw new InputError(file, field, `${c} overlaps the Weave CIDR ${weave}, where the weave bridge has an address`, 'the CIDR of the node network');
    }
  }
}

/** migration.yaml as validated by the schema, before defaults. */
interface RawSpec {
  step: string;
  gitops: { engine: 'argocd' | 'flux'; repoURL: string; revision?: string; path?: string; namespace?: string; project?: string; retryRefresh?: boolean };
  network: { weaveCIDR?: string; serviceCIDR: string; calicoCIDR?: string };
  controlPlane?: { mode: 'kubeadm' | 'managed'; disableNodeCidrAllocation?: boolean };
  nodes?: {
    waves?: string[][];
    waveStrategy?: { canary?: number; growthFactor?: number; maxWaveSize?: number | string; controlPlaneWaveSize?: number };
    drain?: boolean;
    drainTimeoutSeconds?: number;
    maxConcurrentDrains?: number | string;
    restartDaemonSetPods?: boolean;
    restartKubelet?: boolean;
  };
  calico?: {
    version?: string;
    images?: { node?: string; cni?: string; kubeControllers?: string };
    ipipMode?: 'Always' | 'CrossSubnet';
    mtu?: number;
    manifest?: string;
    ipAutodetectionMethod?: string;
    iptablesBackend?: 'Legacy' | 'NFT';
    nodeMTU?: number;
  };
  policies?: { rewriteIPBlocks?: boolean; rewrite?: Record<string, string>; acknowledge?: string[] };
  images?: { shell?: string; kubectl?: string; netTools?: string };
  probe?: { enabled?: boolean; maxLossPercent?: number; tunnelPeers?: number };
}
