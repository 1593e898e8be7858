/**
 * Loading migration.yaml: strict YAML, the JSON Schema, the checks JSON Schema cannot express,
 * then defaults. The result is a fully resolved `Migration`.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { Cidr } from '../network/cidr';
import { InputError } from './errors';
import { MIGRATION_SCHEMA } from './schema';
import { formatSchemaError } from './schema-errors';
import type { Migration, MigrationSpec } from './types';
import { parseYamlDocument, readYamlFile } from './yaml-file';

export const DEFAULT_WEAVE_CIDR = '10.32.0.0/12';
export const DEFAULT_CALICO_VERSION = 'v3.28.5';
export const DEFAULT_SHELL_IMAGE = 'docker.io/library/busybox:1.36.1';
export const DEFAULT_KUBECTL_IMAGE = 'registry.k8s.io/kubectl:v1.33.1';

const ajv = new Ajv({ allErrors: false, verbose: true, strict: true });
const validate = ajv.compile(MIGRATION_SCHEMA);

/** Read and resolve migration.yaml at `file`; errors name it as `shownAs`. */
export function loadMigrationFile(file: string, shownAs: string = file): Migration {
  const m = resolveMigration(readYamlFile(file, shownAs), shownAs);
  const manifest = m.spec.calico.manifest;
  if (manifest !== undefined && !fs.existsSync(path.resolve(path.dirname(file), manifest))) {
    throw new InputError(shownAs, 'spec.calico.manifest', `${JSON.stringify(manifest)} does not exist`, 'a path to calico.yaml, relative to migration.yaml');
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
    throw formatSchemaError(file, validate.errors![0], raw);
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
  if (s.nodes?.waves && s.nodes.waveStrategy) {
    throw new InputError(file, 'spec.nodes.waveStrategy', 'given together with spec.nodes.waves', 'either waves or waveStrategy, not both');
  }
  const rewrite = s.policies?.rewrite ?? { [weave.toString()]: calico.toString() };
  for (const [from, to] of Object.entries(rewrite)) {
    parseCidr(`spec.policies.rewrite[${JSON.stringify(from)}] (key)`, from);
    parseCidr(`spec.policies.rewrite[${JSON.stringify(from)}]`, to);
  }

  const engine = s.gitops.engine;
  const version = s.calico?.version ?? DEFAULT_CALICO_VERSION;
  const spec: MigrationSpec = {
    step: s.step,
    gitops: {
      engine,
      repoURL: s.gitops.repoURL,
      revision: s.gitops.revision ?? 'main',
      path: (s.gitops.path ?? 'dist').replace(/\/+$/, ''),
      namespace: s.gitops.namespace ?? (engine === 'argocd' ? 'argocd' : 'flux-system'),
      project: s.gitops.project ?? 'default',
    },
    network: {
      weaveCIDR: weave.toString(),
      serviceCIDR: s.network.serviceCIDR,
      calicoCIDR: calico.toString(),
    },
    controlPlane: { mode: s.controlPlane?.mode ?? 'kubeadm' },
    nodes: {
      waves: s.nodes?.waves,
      waveStrategy: {
        canary: s.nodes?.waveStrategy?.canary ?? 1,
        growthFactor: s.nodes?.waveStrategy?.growthFactor ?? 2,
        maxWaveSize: s.nodes?.waveStrategy?.maxWaveSize ?? 10,
        controlPlaneWaveSize: s.nodes?.waveStrategy?.controlPlaneWaveSize ?? 1,
      },
      drain: s.nodes?.drain ?? true,
    },
    calico: {
      version,
      images: {
        node: s.calico?.images?.node ?? `quay.io/calico/node:${version}`,
        cni: s.calico?.images?.cni ?? `quay.io/calico/cni:${version}`,
        kubeControllers: s.calico?.images?.kubeControllers ?? `quay.io/calico/kube-controllers:${version}`,
      },
      ipipMode: s.calico?.ipipMode ?? 'Always',
      mtu,
      manifest: s.calico?.manifest,
    },
    policies: {
      rewriteIPBlocks: s.policies?.rewriteIPBlocks ?? false,
      rewrite: Object.fromEntries(Object.entries(rewrite).map(([k, v]) => [Cidr.parse(k).toString(), Cidr.parse(v).toString()])),
    },
    images: {
      shell: s.images?.shell ?? DEFAULT_SHELL_IMAGE,
      kubectl: s.images?.kubectl ?? DEFAULT_KUBECTL_IMAGE,
    },
  };
  return { apiVersion: 'cni-migrate.io/v1alpha1', kind: 'Migration', metadata: { name: doc.metadata.name }, spec };
}

/** migration.yaml as validated by the schema, before defaults. */
interface RawSpec {
  step: string;
  gitops: { engine: 'argocd' | 'flux'; repoURL: string; revision?: string; path?: string; namespace?: string; project?: string };
  network: { weaveCIDR?: string; serviceCIDR: string; calicoCIDR?: string };
  controlPlane?: { mode: 'kubeadm' | 'managed' };
  nodes?: {
    waves?: string[][];
    waveStrategy?: { canary?: number; growthFactor?: number; maxWaveSize?: number; controlPlaneWaveSize?: number };
    drain?: boolean;
  };
  calico?: {
    version?: string;
    images?: { node?: string; cni?: string; kubeControllers?: string };
    ipipMode?: 'Always' | 'CrossSubnet';
    mtu?: number;
    manifest?: string;
  };
  policies?: { rewriteIPBlocks?: boolean; rewrite?: Record<string, string> };
  images?: { shell?: string; kubectl?: string };
}
