/**
 * cni-migrate snapshot: read the live cluster and write cluster/ (the layout snapshot.ts reads),
 * with server-set fields stripped and every file sorted and stable, so that a second snapshot of
 * an unchanged cluster gives no diff. cluster/ is replaced whole, only once everything was read.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { writeTreesAtomically } from '../synth/atomic-write';
import { InputError } from '../config/errors';
import { CAPTURED_MARKER, loadClusterSnapshot } from './snapshot';
import { ApiError, type ApiClient } from './api-client';
import { containerFlags } from '../kube/control-plane-facts';
import { DNS_LABEL as DNS_LABEL_PATTERN, DNS_SUBDOMAIN as DNS_SUBDOMAIN_PATTERN } from '../kube/names';
import { cmp, type KubeObject, type NodeInfo } from '../kube/objects';
import { fileNameWithin } from '../util/file-name';
import { ownTrackingKeys } from '../gitops/tracking-marks';

const NS = 'kube-system';
const WEAVE_DEFAULT_CIDR = '10.32.0.0/12';

/** Metadata the API server sets; a restored object must not carry them. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'];
/** Annotations written by tools as bookkeeping, not by the object's author. */
const BOOKKEEPING_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'deprecated.daemonset.template.generation'];

export interface SnapshotResult {
  readonly files: number;
  readonly nodes: number;
  readonly networkPolicies: number;
  readonly weaveCIDR: string;
  readonly serviceCIDR?: string;
  readonly warnings: readonly string[];
}

export interface SnapshotOptions {
  /**
   * Sub-folders of the existing cluster/ to carry over instead of reading them again: the backups
   * of what the current step has removed from the cluster (networkpolicies/, weave/).
   * @default - none
   */
  readonly keep?: readonly string[];
  /**
   * Namespace of Flux's controllers: the image of its kustomize-controller is recorded in
   * gitops.yaml, for plan to check the minimum version (deletionPolicy needs v1.5.0).
   * @default - Flux is not looked for (another engine)
   */
  readonly fluxNamespace?: string;
  /**
   * The base name of this migration's GitOps objects (`cni-migrate-<metadata.name>`): the tracking
   * marks its Application or Kustomizations put on Weave's objects and the NetworkPolicies after
   * `adopt` are left out, so they neither reach git nor read as another owner.
   * @default - every tracking mark is kept
   */
  readonly ownGitOpsBase?: string;
  /**
   * Where the write lock and the switch journal live.
   * @default the parent folder of outDir
   */
  readonly stateDir?: string;
}

/** Read the cluster through `api` and replace the folder `outDir` with what was read. */
export async function takeSnapshot(api: ApiClient, outDir: string, opts: SnapshotOptions = {}): Promise<SnapshotResult> {
  const files = new Map<string, string>();
  const warnings: string[] = [];
  const keep = new Set(opts.keep ?? []);
  const put = (rel: string, obj: unknown) => files.set(rel, toYaml(obj));

  const nodes = (await api.list<any>('/api/v1/nodes', 'nodes')).map(nodeInfo).sort((a, b) => cmp(a.name, b.name));
  if (nodes.length === 0) {
    throw new InputError('snapshot', 'nodes', 'the API server listed no nodes; nothing was written', 'a cluster with nodes (is the kubeconfig pointing at the right cluster?)');
  }
  put('nodes.yaml', { apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NodeInventory', nodes });

  const namespaces = (await api.list<any>('/api/v1/namespaces', 'namespaces')).map((n) => n.metadata.name as string).sort(cmp);
  put('namespaces.yaml', { apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NamespaceList', namespaces });

  let policies: unknown[] = [];
  if (keep.has('networkpolicies')) {
    policies = carryOver(outDir, 'networkpolicies', files);
    warnings.push(`kept the ${policies.length} backed-up NetworkPolicies in networkpolicies/: the current step has them suspended, so the cluster no longer holds them`);
  } else {
    const live = await api.list<any>('/apis/networking.k8s.io/v1/networkpolicies', 'networkpolicies');
    for (const p of live) put(`networkpolicies/${apiName('NetworkPolicy namespace', p.metadata?.namespace, DNS_LABEL)}/${fileNameWithin(apiName('NetworkPolicy', p.metadata?.name, DNS_SUBDOMAIN))}`, strip({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...p }, opts.ownGitOpsBase));
    policies = live;
  }
  // The folder exists even without policies, so that a missing folder means a lost backup.
  files.set(`networkpolicies/${CAPTURED_MARKER}`, `NetworkPolicies captured by cni-migrate snapshot: ${policies.length}\n`);

  const weaveDs = await api.get<any>(`/apis/apps/v1/namespaces/${NS}/daemonsets/weave-net`);
  const weaveRefs: [string, string, string][] = [
    ['ServiceAccount', 'v1', `/api/v1/namespaces/${NS}/serviceaccounts/weave-net`],
    ['ClusterRole', 'rbac.authorization.k8s.io/v1', '/apis/rbac.authorization.k8s.io/v1/clusterroles/weave-net'],
    ['ClusterRoleBinding', 'rbac.authorization.k8s.io/v1', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/weave-net'],
    ['Role', 'rbac.authorization.k8s.io/v1', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/weave-net`],
    ['RoleBinding', 'rbac.authorization.k8s.io/v1', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/weave-net`],
    ['ConfigMap', 'v1', `/api/v1/namespaces/${NS}/configmaps/weave-net`],
  ];
  const weave: KubeObject[] = [];
  if (keep.has('weave')) {
    const kept = carryOver(outDir, 'weave', files);
    warnings.push(`kept the ${kept.length} adopted Weave objects in weave/: the current step has removed Weave, and a revert needs them`);
  } else {
    if (!weaveDs) {
      throw new InputError('snapshot', `DaemonSet ${NS}/weave-net`, `not found; ${path.basename(outDir)}/ was left as it was, since a snapshot without Weave would make synth prune Weave`, 'a cluster running Weave Net as DaemonSet kube-system/weave-net');
    }
    weave.push(strip({ apiVersion: 'apps/v1', kind: 'DaemonSet', ...weaveDs }, opts.ownGitOpsBase));
    for (const [kind, apiVersion, path] of weaveRefs) {
      const o = await api.get<any>(path);
      if (o) weave.push(strip({ apiVersion, kind, ...o }, opts.ownGitOpsBase));
    }
    for (const o of weave) put(`weave/${fileName(o)}`, o);
  }

  const kubeProxyCm = await api.get<any>(`/api/v1/namespaces/${NS}/configmaps/kube-proxy`);
  if (kubeProxyCm) put('control-plane/kube-proxy-configmap.yaml', strip({ apiVersion: 'v1', kind: 'ConfigMap', ...kubeProxyCm }));
  const kubeProxyDs = await api.get<any>(`/apis/apps/v1/namespaces/${NS}/daemonsets/kube-proxy`);
  if (kubeProxyDs) put('control-plane/kube-proxy-daemonset.yaml', strip({ apiVersion: 'apps/v1', kind: 'DaemonSet', ...kubeProxyDs }));
  const kubeadm = await api.get<any>(`/api/v1/namespaces/${NS}/configmaps/kubeadm-config`);
  if (kubeadm) put('control-plane/kubeadm-config.yaml', strip({ apiVersion: 'v1', kind: 'ConfigMap', ...kubeadm }));
  for (const pod of await api.list<any>(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent('component=kube-controller-manager')}`, 'kube-controller-manager pods')) {
    const node = apiName('kube-controller-manager node', pod.spec?.nodeName ?? pod.metadata?.name, DNS_SUBDOMAIN);
    put(`control-plane/kube-controller-manager/${fileNameWithin(node)}`, strip({ apiVersion: 'v1', kind: 'Pod', ...pod }));
  }

  const weaveCIDR = weaveDs ? weaveRange(weaveDs) : WEAVE_DEFAULT_CIDR;
  const service = await serviceCidr(api);
  if (!service.cidr) warnings.push(`service CIDR not found: ${service.source}; set spec.network.serviceCIDR by hand`);
  put('network.yaml', {
    apiVersion: 'cni-migrate.io/v1alpha1',
    kind: 'NetworkFacts',
    weaveCIDR,
    weaveCIDRSource: weaveDs ? (weaveCIDR === WEAVE_DEFAULT_CIDR && !hasIpalloc(weaveDs) ? 'Weave default (IPALLOC_RANGE unset)' : 'IPALLOC_RANGE of DaemonSet kube-system/weave-net') : 'Weave default (no weave-net DaemonSet found)',
    ...(service.cidr ? { serviceCIDR: service.cidr } : {}),
    serviceCIDRSource: service.source,
  });

  if (opts.fluxNamespace !== undefined) {
    const ns = apiName('Flux namespace', opts.fluxNamespace, DNS_LABEL);
    let deployment: unknown;
    let unreadable: string | undefined;
    try {
      deployment = await api.get<any>(`/apis/apps/v1/namespaces/${ns}/deployments/kustomize-controller`);
    } catch (e) {
      // Only a fact for plan's version check: a snapshot taken without read access to Flux's
      // namespace still captures everything synth needs, and plan warns that it cannot check.
      if (!(e instanceof ApiError) || (e.status !== 403 && e.status !== 401)) throw e;
      unreadable = e.message;
    }
    const image = kustomizeControllerImage(deployment);
    if (unreadable) warnings.push(`cannot read Deployment ${ns}/kustomize-controller (${unreadable}); plan cannot check that Flux is 2.5 (kustomize-controller v1.5.0) or later`);
    else if (!image) warnings.push(`no Deployment ${ns}/kustomize-controller found: Flux 2.5 (kustomize-controller v1.5.0) or later is needed; plan cannot check it`);
    put('gitops.yaml', { apiVersion: 'cni-migrate.io/v1alpha1', kind: 'GitOpsFacts', flux: { namespace: ns, ...(image ? { kustomizeControllerImage: image } : {}) } });
  }

  // What synth will read, checked with synth's own reader before it replaces anything.
  writeTreesAtomically([{ dir: outDir, files }], { stateDir: opts.stateDir, validate: ([staged]) => loadClusterSnapshot(staged, path.basename(outDir)) });
  return { files: files.size, nodes: nodes.length, networkPolicies: policies.length, weaveCIDR, serviceCIDR: service.cidr, warnings };
}

/**
 * The image of kustomize-controller's Deployment: its container `manager` (the name in Flux's own
 * manifests, fluxcd/kustomize-controller config/manager/deployment.yaml), else its only container.
 */
function kustomizeControllerImage(deployment: any): string | undefined {
  const containers: any[] = deployment?.spec?.template?.spec?.containers ?? [];
  const manager = containers.find((c) => c?.name === 'manager') ?? (containers.length === 1 ? containers[0] : undefined);
  return typeof manager?.image === 'string' ? manager.image : undefined;
}

/** The service CIDR: kube-apiserver's flag, else what a server-side dry-run create reveals. */
async function serviceCidr(api: ApiClient): Promise<{ cidr?: string; source: string }> {
  const pods = await api.list<any>(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent('component=kube-apiserver')}`, 'kube-apiserver pods');
  for (const pod of pods) {
    for (const c of pod.spec?.containers ?? []) {
      const range = containerFlags(c).get('service-cluster-ip-range');
      if (range) return { cidr: range, source: `--service-cluster-ip-range of ${pod.metadata.name}` };
    }
  }
  // An address no service range holds: the API server refuses it and names its range. Dry run: nothing is created.
  const probe = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cni-migrate-service-cidr-probe' }, spec: { clusterIP: '0.0.0.1', ports: [{ port: 1 }] } };
  const r = await api.dryRunCreate('/api/v1/namespaces/default/services', probe);
  const m = /valid IPs is ([0-9a-fA-F.:/,]+)/.exec(String(r.body?.message ?? ''));
  if (m) return { cidr: m[1].replace(/[.,]+$/, ''), source: 'a server-side dry-run create of a Service with an out-of-range clusterIP' };
  return { source: `no kube-apiserver pod with --service-cluster-ip-range, and the dry-run probe answered HTTP ${r.status}` };
}

/** Copy `outDir/sub/**` into `files` unchanged; returns the files copied. */
function carryOver(outDir: string, sub: string, files: Map<string, string>): string[] {
  const root = path.join(outDir, sub);
  const copied: string[] = [];
  const walk = (rel: string) => {
    if (!fs.existsSync(path.join(root, rel))) return;
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => cmp(a.name, b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.name !== CAPTURED_MARKER) {
        files.set(`${sub}/${r}`, fs.readFileSync(path.join(root, r), 'utf8'));
        copied.push(r);
      }
    }
  };
  walk('');
  return copied;
}

const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);
const DNS_SUBDOMAIN = new RegExp(DNS_SUBDOMAIN_PATTERN);

/**
 * A name from the API that becomes part of a file path: it must be what Kubernetes allows, so
 * that it can never climb out of cluster/ (the API server enforces this; a proxy or a fake may not).
 */
function apiName(what: string, name: unknown, pattern: RegExp): string {
  if (typeof name === 'string' && pattern.test(name)) return name;
  const shown = typeof name === 'string' ? `${JSON.stringify(name.slice(0, 60))}${name.length > 60 ? `… (${name.length} characters)` : ''}` : String(name);
  throw new ApiError(`the API server returned a ${what} named ${shown}, which is not a valid Kubernetes name; nothing was written`, 0, '');
}

function hasIpalloc(ds: any): boolean {
  return (ds.spec?.template?.spec?.containers ?? []).some((c: any) => (c.env ?? []).some((e: any) => e.name === 'IPALLOC_RANGE' && e.value));
}

function weaveRange(ds: any): string {
  for (const c of ds.spec?.template?.spec?.containers ?? []) {
    const e = (c.env ?? []).find((x: any) => x.name === 'IPALLOC_RANGE' && x.value);
    if (e) return e.value;
  }
  return WEAVE_DEFAULT_CIDR;
}

export function nodeInfo(n: any): NodeInfo {
  const labels: Record<string, string> = n.metadata.labels ?? {};
  const roles = Object.keys(labels).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)).filter(Boolean);
  if (labels['kubernetes.io/role']) roles.push(labels['kubernetes.io/role']);
  const addresses: { type: string; address: string }[] = n.status?.addresses ?? [];
  const internal = addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
  // Dual-stack nodes list both families; the migration plans IPv4.
  const internalIP = internal.find((a) => !a.includes(':')) ?? internal[0] ?? '';
  const podCIDRs: string[] = n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []);
  const taints = (n.spec?.taints ?? []).map((t: any) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect }));
  return {
    name: n.metadata.name,
    roles: [...new Set(roles)].sort(cmp),
    internalIP,
    podCIDRs,
    containerRuntime: n.status?.nodeInfo?.containerRuntimeVersion ?? 'unknown://',
    ...(taints.length ? { taints } : { taints: [] }),
    ...(n.spec?.providerID ? { providerID: n.spec.providerID } : {}),
    // Older clusters carry only the beta label.
    ...((labels['kubernetes.io/os'] ?? labels['beta.kubernetes.io/os'] ?? 'linux') !== 'linux' ? { os: labels['kubernetes.io/os'] ?? labels['beta.kubernetes.io/os'] } : {}),
    ...(labels.type === 'virtual-kubelet' ? { virtualKubelet: true } : {}),
  };
}

/**
 * A copy without server-set metadata, status and tool bookkeeping; with `ownGitOpsBase`, also
 * without the tracking marks this migration's own Application or Kustomizations put on what they
 * adopted (gitops/tracking-marks.ts).
 */
export function strip(obj: any, ownGitOpsBase?: string): KubeObject {
  const { status: _status, ...rest } = obj;
  const metadata = { ...(obj.metadata ?? {}) };
  for (const k of SERVER_METADATA) delete metadata[k];
  const own = ownGitOpsBase === undefined ? { labels: [], annotations: [] } : ownTrackingKeys(metadata, ownGitOpsBase);
  for (const [field, drop] of [['annotations', [...BOOKKEEPING_ANNOTATIONS, ...own.annotations]], ['labels', own.labels]] as const) {
    if (!metadata[field] || drop.length === 0) continue;
    const kept = { ...metadata[field] };
    for (const k of drop) delete kept[k];
    if (Object.keys(kept).length) metadata[field] = kept;
    else delete metadata[field];
  }
  return { ...rest, metadata } as KubeObject;
}

function fileName(o: KubeObject): string {
  return `${[o.kind, o.metadata.namespace, o.metadata.name].filter(Boolean).join('-').toLowerCase()}.yaml`;
}

/** Stable YAML: keys sorted, no line folding. */
export function toYaml(obj: unknown): string {
  return YAML.stringify(obj, { sortMapEntries: true, lineWidth: 0, minContentWidth: 0 });
}
