/**
 * The coexistence patches: what makes Calico run beside Weave without taking over a node. One
 * function, applied to the built-in objects and to a vendored upstream calico.yaml alike; it
 * finds containers and env entries by name (never by position) and refuses a shape it does not
 * recognise, naming what is missing.
 */
import type { KubeObject } from '../../kube/objects';
import type { CalicoCoexistence } from '../../model/calico-settings';
import { COEXISTENCE_CONF_NAME, FINAL_CONF_NAME } from '../../model/conflist-names';

export type { CalicoCoexistence } from '../../model/calico-settings';

/**
 * Felix's mark bits: 0xfff00000 stays clear of kube-proxy (0x4000, 0x8000) and Weave (0x20000
 * for IPsec, 0x40000 for weave-npc), which Felix's default 0xffff0000 overlaps.
 */
export const FELIX_MARK_MASK = '0xfff00000';

/** A shape problem in the objects being patched; the caller names the source. */
export class CalicoShapeError extends Error {}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
}
interface PodSpec {
  initContainers?: Container[];
  containers?: Container[];
  tolerations?: unknown[];
  nodeSelector?: Record<string, string>;
  affinity?: { nodeAffinity?: unknown };
}

/** Return patched copies of `objects` (the input is not modified). */
export function applyCoexistence(objects: readonly KubeObject[], s: CalicoCoexistence): KubeObject[] {
  const out = objects.map((o) => structuredClone(o) as KubeObject & Record<string, any>);
  const find = (kind: string, name: string) => out.find((o) => o.kind === kind && o.metadata.name === name);

  const config = find('ConfigMap', 'calico-config');
  if (!config) throw new CalicoShapeError('no ConfigMap calico-config (the manifest install keeps the CNI template and veth_mtu there)');
  const data = (config.data ?? {}) as Record<string, string>;
  if (typeof data.cni_network_config !== 'string') throw new CalicoShapeError('ConfigMap calico-config has no cni_network_config key');
  if (data.calico_backend !== 'bird') {
    throw new CalicoShapeError(`ConfigMap calico-config sets calico_backend to ${JSON.stringify(data.calico_backend)}; IP-in-IP needs BIRD ("bird"): use the IP-in-IP calico.yaml, not the VXLAN flavour`);
  }
  config.data = { ...data, veth_mtu: String(s.vethMtu) };

  const ds = find('DaemonSet', 'calico-node');
  if (!ds) throw new CalicoShapeError('no DaemonSet calico-node');
  const pod = ds.spec?.template?.spec as PodSpec | undefined;
  if (!pod) throw new CalicoShapeError('DaemonSet calico-node has no pod template');
  const installCni = pod.initContainers?.find((c) => c.name === 'install-cni');
  if (!installCni) throw new CalicoShapeError('DaemonSet calico-node has no install-cni init container');
  const node = pod.containers?.find((c) => c.name === 'calico-node');
  if (!node) throw new CalicoShapeError('DaemonSet calico-node has no calico-node container');
  if (!installCni.env?.some((e) => e.name === 'CNI_CONF_NAME')) {
    throw new CalicoShapeError('install-cni has no CNI_CONF_NAME env (is this a manifest install of Calico 3.x?)');
  }

  // Weave must stay first until it is removed; afterwards Calico takes the stock name and
  // install-cni deletes the coexistence file itself.
  setEnv(installCni, 'CNI_CONF_NAME', s.finalName ? FINAL_CONF_NAME : COEXISTENCE_CONF_NAME);
  if (s.finalName) setEnv(installCni, 'CNI_OLD_CONF_NAME', COEXISTENCE_CONF_NAME);
  else removeEnv(installCni, 'CNI_OLD_CONF_NAME');

  // Unset, Calico would take kubeadm's podSubnet (often Weave's range) for its pool.
  setEnv(node, 'CALICO_IPV4POOL_CIDR', s.poolCidr);
  setEnv(node, 'CALICO_IPV4POOL_IPIP', s.ipipMode);
  setEnv(node, 'CALICO_IPV4POOL_VXLAN', 'Never');
  // first-found can take the weave bridge's address and peer BGP over Weave.
  setEnv(node, 'IP_AUTODETECTION_METHOD', s.ipAutodetectionMethod);
  setEnv(node, 'FELIX_IPTABLESBACKEND', s.iptablesBackend);
  setEnv(node, 'FELIX_IPTABLESMARKMASK', FELIX_MARK_MASK);
  // Insert keeps Felix's jumps above Weave's FORWARD rules (append would let Weave accept first).
  setEnv(node, 'FELIX_CHAININSERTMODE', 'Insert');

  // calico-node must run on every node for the whole migration: IP-in-IP from an unmigrated
  // node is dropped by Felix unless that node is a known Calico host.
  const extraSelectors = Object.keys(pod.nodeSelector ?? {}).filter((k) => k !== 'kubernetes.io/os');
  if (extraSelectors.length > 0 || pod.affinity?.nodeAffinity) {
    throw new CalicoShapeError(`DaemonSet calico-node is restricted to some nodes (${extraSelectors.length ? `nodeSelector ${extraSelectors.join(', ')}` : 'nodeAffinity'}); it must run on every node`);
  }
  pod.tolerations = [{ operator: 'Exists' }];

  if (s.images?.cni) for (const c of pod.initContainers ?? []) if (isCalicoImage(c.image, 'cni')) c.image = s.images.cni;
  if (s.images?.node) for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) if (isCalicoImage(c.image, 'node')) c.image = s.images.node;
  const kc = find('Deployment', 'calico-kube-controllers');
  if (s.images?.kubeControllers && kc) {
    for (const c of (kc.spec?.template?.spec?.containers ?? []) as Container[]) if (isCalicoImage(c.image, 'kube-controllers')) c.image = s.images.kubeControllers;
  }
  const typha = find('Deployment', 'calico-typha');
  if (typha) {
    if (s.images?.typha) for (const c of (typha.spec?.template?.spec?.containers ?? []) as Container[]) if (isCalicoImage(c.image, 'typha')) c.image = s.images.typha;
    // A vendored calico-typha.yaml ships one replica ("set this to a non-zero value"); a big
    // cluster needs more, and never fewer than the manifest asks for.
    if ((s.typhaReplicas ?? 0) > (typha.spec?.replicas ?? 1)) typha.spec.replicas = s.typhaReplicas;
  }
  return out;
}

/** Whether `image` is Calico's image of `component` (calico/<component>, from any registry, by tag or digest). */
export function isCalicoImage(image: string | undefined, component: string): boolean {
  return !!image && new RegExp(`(^|/)calico/${component}(:|@|$)`).test(image);
}

/** Set `name` to a literal value, in place when present (dropping any valueFrom), else appended. */
function setEnv(c: Container, name: string, value: string): void {
  c.env ??= [];
  const i = c.env.findIndex((e) => e.name === name);
  if (i >= 0) c.env[i] = { name, value };
  else c.env.push({ name, value });
}

function removeEnv(c: Container, name: string): void {
  if (c.env) c.env = c.env.filter((e) => e.name !== name);
}

/** The env of a named container (init or not) of the calico-node DaemonSet, as name → value. */
export function calicoNodeEnv(objects: readonly KubeObject[], container: string): Map<string, string | undefined> {
  const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'calico-node') as any;
  const pod = ds?.spec?.template?.spec as PodSpec | undefined;
  const c = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].find((x) => x.name === container);
  return new Map((c?.env ?? []).map((e) => [e.name, e.value]));
}
