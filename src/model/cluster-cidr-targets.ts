/**
 * What kube-proxy, kubeadm-config and kube-controller-manager hold at each cluster-CIDR phase
 * (original, supernet, final), computed at synth from the objects in cluster/. The Jobs converge
 * the live objects to one phase and accept any of the three as the starting point.
 */
import { createHash } from 'crypto';
import * as jsYaml from 'js-yaml';
import { containerFlags, controllerManagerFacts, isKubeProxyV1alpha2, kubeProxyConfigClusterCidr } from '../kube/control-plane-facts';
import { InputError } from '../config/errors';
import type { ClusterSnapshot } from '../kube/objects';
import type { NetworkPlan } from '../network/network-plan';
import type { ClusterCidrPhase } from '../steps/steps';
import { setYamlSingletonList, setYamlValue } from './yaml-text-edit';

export const PHASES: readonly ClusterCidrPhase[] = ['original', 'supernet', 'final'];

export type KubeProxyTargets =
  | { readonly mode: 'configmap'; readonly texts: Readonly<Record<ClusterCidrPhase, string>> }
  | { readonly mode: 'flag'; readonly field: 'command' | 'args'; readonly arrays: Readonly<Record<ClusterCidrPhase, readonly string[]>> }
  | { readonly mode: 'none'; readonly why: string };

export interface KcmNodeTargets {
  readonly node: string;
  /** --cluster-cidr per phase ("" = no flag). */
  readonly cidr: Readonly<Record<ClusterCidrPhase, string>>;
  /** --allocate-node-cidrs per phase. */
  readonly allocate: Readonly<Record<ClusterCidrPhase, 'true' | 'false' | 'keep'>>;
}

export interface ClusterCidrTargets {
  readonly kubeProxy: KubeProxyTargets;
  /** ClusterConfiguration text per phase; undefined when there is nothing to change in it. */
  readonly kubeadmConfig?: Readonly<Record<ClusterCidrPhase, string>>;
  /** Per control-plane node; empty when the controller-manager has no cluster CIDR to change. */
  readonly controllerManagers: readonly KcmNodeTargets[];
  /** Why the controller-manager is left alone, when it is. */
  readonly controllerManagerSkipped?: string;
}

/** The cluster CIDR a phase sets, or undefined for "as captured". */
function phaseCidr(phase: ClusterCidrPhase, net: NetworkPlan): string | undefined {
  return phase === 'original' ? undefined : phase === 'supernet' ? net.supernet.toString() : net.finalClusterCidr.toString();
}

/**
 * Whether a phase turns --allocate-node-cidrs off: finalized with
 * spec.controlPlane.disableNodeCidrAllocation, and already the supernet phase when nodes hold
 * podCIDRs outside the supernet (kubeadm's podSubnet was not Weave's range).
 */
function allocationOff(phase: ClusterCidrPhase, net: NetworkPlan): boolean {
  return (phase === 'final' && net.disableAllocationAtFinal) || (phase === 'supernet' && net.disableAllocationAtSupernet);
}

/** `f()`, with a parse failure of captured YAML turned into an InputError naming the file and field. */
function parsing<T>(file: string, field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, field, `cannot be read: ${(e as Error).message.split('\n')[0]}`, 'the YAML the API server holds there (snapshot again)');
  }
}

export function clusterCidrTargets(snapshot: ClusterSnapshot, net: NetworkPlan, mode: 'kubeadm' | 'managed'): ClusterCidrTargets {
  const per = <T>(f: (p: ClusterCidrPhase) => T) => Object.fromEntries(PHASES.map((p) => [p, f(p)])) as Record<ClusterCidrPhase, T>;
  const kubeProxy = parsing(`${snapshot.dir}/control-plane/kube-proxy-configmap.yaml`, 'data["config.conf"]', () => kubeProxyTargets(snapshot, net, per));
  if (mode === 'managed') {
    return { kubeProxy, controllerManagers: [], controllerManagerSkipped: 'the control plane is managed by the provider' };
  }
  const kubeadmText = (snapshot.controlPlane.kubeadmConfig as { data?: Record<string, string> } | undefined)?.data?.ClusterConfiguration;
  let kubeadmConfig: Record<ClusterCidrPhase, string> | undefined;
  if (kubeadmText) {
    const texts = parsing(`${snapshot.dir}/control-plane/kubeadm-config.yaml`, 'data.ClusterConfiguration', () => per((p) => kubeadmClusterConfiguration(kubeadmText, phaseCidr(p, net), allocationOff(p, net))));
    kubeadmConfig = PHASES.some((p) => texts[p] !== kubeadmText) ? texts : undefined;
  }
  const kcm = controllerManagerFacts(snapshot);
  const nodes: KcmNodeTargets[] = [];
  for (const [node, flags] of [...kcm.byNode].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!flags.has('cluster-cidr') && !flags.has('allocate-node-cidrs')) continue;
    const originalAllocate = flags.get('allocate-node-cidrs') === 'true' ? 'true' : 'keep';
    nodes.push({
      node,
      cidr: per((p) => phaseCidr(p, net) ?? flags.get('cluster-cidr') ?? ''),
      allocate: per((p) => (allocationOff(p, net) ? 'false' : originalAllocate)),
    });
  }
  return {
    kubeProxy,
    kubeadmConfig,
    controllerManagers: nodes,
    controllerManagerSkipped: nodes.length === 0
      ? kcm.byNode.size === 0 ? 'no kube-controller-manager mirror pod is in the snapshot' : 'kube-controller-manager runs with neither --cluster-cidr nor --allocate-node-cidrs, so there is nothing to change'
      : undefined,
  };
}

/**
 * Where kube-proxy's cluster CIDR is set, as the snapshot shows it: config.conf in its ConfigMap,
 * a flag on its DaemonSet's container, or nowhere the snapshot holds (with why). Cheap: nothing
 * is parsed but the container's flags.
 */
export function kubeProxyCidrSource(snapshot: ClusterSnapshot):
  | { readonly mode: 'configmap'; readonly text: string }
  | { readonly mode: 'flag'; readonly container: { command?: string[]; args?: string[] } }
  | { readonly mode: 'none'; readonly why: string } {
  const ds = snapshot.controlPlane.kubeProxyDaemonSet;
  const cm = snapshot.controlPlane.kubeProxyConfigMap as { data?: Record<string, string> } | undefined;
  const container = (ds?.spec as { template?: { spec?: { containers?: { name?: string; command?: string[]; args?: string[] }[] } } } | undefined)?.template?.spec?.containers?.find((c) => c.name === 'kube-proxy');
  const usesConfigFile = container ? containerFlags(container).has('config') : !!cm;
  if (usesConfigFile) {
    const text = cm?.data?.['config.conf'];
    return text ? { mode: 'configmap', text } : { mode: 'none', why: 'kube-proxy reads a --config file, but no ConfigMap kube-system/kube-proxy with config.conf is in the snapshot' };
  }
  return container ? { mode: 'flag', container } : { mode: 'none', why: 'no kube-proxy DaemonSet or ConfigMap is in the snapshot' };
}

function kubeProxyTargets(snapshot: ClusterSnapshot, net: NetworkPlan, per: <T>(f: (p: ClusterCidrPhase) => T) => Record<ClusterCidrPhase, T>): KubeProxyTargets {
  const source = kubeProxyCidrSource(snapshot);
  if (source.mode === 'none') return source;
  if (source.mode === 'configmap') {
    const { text } = source;
    // v1alpha2 holds the CIDRs as detectLocal.clusterCIDRs and is decoded strictly, so an added
    // clusterCIDR would stop kube-proxy (kubernetes cmd/kube-proxy/app/options_test.go,
    // TestLoadConfigV1Alpha2 and "unknown field in v1alpha2").
    const v1alpha2 = isKubeProxyV1alpha2(text);
    const listed = v1alpha2 ? kubeProxyConfigClusterCidr(text) : undefined;
    if (listed?.includes(',')) {
      // What plan's dual-stack-cluster-cidr says of the other places: one IPv4 CIDR replaced for two would drop the IPv6 half.
      throw new InputError(`${snapshot.dir}/control-plane/kube-proxy-configmap.yaml`, 'data["config.conf"].detectLocal.clusterCIDRs', `holds ${listed}: dual-stack is not supported yet`, 'one IPv4 CIDR');
    }
    return { mode: 'configmap', texts: per((p) => (p === 'original' ? text : v1alpha2 ? setYamlSingletonList(text, ['detectLocal', 'clusterCIDRs'], phaseCidr(p, net)!) : setYamlValue(text, ['clusterCIDR'], phaseCidr(p, net)))) };
  }
  const field = source.container.args ? 'args' : 'command';
  const original = [...(source.container[field] ?? [])];
  return { mode: 'flag', field, arrays: per((p) => (p === 'original' ? original : withFlag(original, 'cluster-cidr', phaseCidr(p, net)!))) };
}

/** `words` with --name set to `value` (replacing --name=x or "--name x", else appended). */
export function withFlag(words: readonly string[], name: string, value: string): string[] {
  const out: string[] = [];
  let done = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith(`--${name}=`)) {
      out.push(`--${name}=${value}`);
      done = true;
    } else if (w === `--${name}` && i + 1 < words.length && !words[i + 1].startsWith('-')) {
      out.push(`--${name}=${value}`);
      i++;
      done = true;
    } else {
      out.push(w);
    }
  }
  if (!done) out.push(`--${name}=${value}`);
  return out;
}

/**
 * ClusterConfiguration with networking.podSubnet and a controllerManager cluster-cidr extra
 * argument (v1beta3 map or v1beta4 list) set to `cidr`, where present; with `disableAllocation`,
 * also allocate-node-cidrs: "false", so that `kubeadm upgrade` does not turn allocation back on.
 */
export function kubeadmClusterConfiguration(text: string, cidr: string | undefined, disableAllocation: boolean): string {
  if (cidr === undefined) return text;
  const doc = (jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }) ?? {}) as { networking?: { podSubnet?: unknown }; controllerManager?: { extraArgs?: unknown } };
  let out = text;
  if (doc.networking?.podSubnet !== undefined) out = setYamlValue(out, ['networking', 'podSubnet'], cidr);
  const extra = doc.controllerManager?.extraArgs;
  const setArg = (name: string, value: string, addIfMissing: boolean) => {
    const current = (jsYaml.load(out, { schema: jsYaml.CORE_SCHEMA }) as typeof doc).controllerManager?.extraArgs;
    if (Array.isArray(current)) {
      const i = current.findIndex((a: { name?: string }) => a?.name === name);
      if (i >= 0) out = setYamlValue(out, ['controllerManager', 'extraArgs', i, 'value'], value);
      else if (addIfMissing) out = appendListArg(out, current.length, name, value);
    } else if (current && typeof current === 'object') {
      if (name in current || addIfMissing) out = setYamlValue(out, ['controllerManager', 'extraArgs', name], value);
    } else if (addIfMissing) {
      // No extraArgs yet: the map form is what every kubeadm API version before v1beta4 reads.
      const apiVersion = (jsYaml.load(out, { schema: jsYaml.CORE_SCHEMA }) as { apiVersion?: string }).apiVersion ?? '';
      out = apiVersion.endsWith('v1beta4') ? appendListArg(out, 0, name, value) : setYamlValue(out, ['controllerManager', 'extraArgs', name], value);
    }
  };
  if (extra !== undefined) setArg('cluster-cidr', cidr, false);
  if (disableAllocation) setArg('allocate-node-cidrs', 'false', true);
  return out;
}

function appendListArg(text: string, index: number, name: string, value: string): string {
  return setYamlValue(setYamlValue(text, ['controllerManager', 'extraArgs', index, 'name'], name), ['controllerManager', 'extraArgs', index, 'value'], value);
}

/** Digest of a text, for the kube-proxy restart annotation. */
export function textDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
