/**
 * Reading control-plane settings out of the objects in cluster/control-plane and cluster/weave.
 */
import * as jsYaml from 'js-yaml';
import type { ClusterSnapshot, KubeObject } from './objects';
import { fileNameWithin } from '../util/file-name';

interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
}

function containers(obj: KubeObject | undefined): Container[] {
  const spec = obj?.spec as { containers?: Container[]; template?: { spec?: { containers?: Container[] } } } | undefined;
  return spec?.containers ?? spec?.template?.spec?.containers ?? [];
}

/** `--name=value` and `--name value` flags of a container's command and args. */
export function containerFlags(c: Container): Map<string, string> {
  const words = [...(c.command ?? []), ...(c.args ?? [])];
  const out = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const m = /^--?([A-Za-z0-9-]+)(?:=(.*))?$/.exec(words[i]);
    if (!m) continue;
    if (m[2] !== undefined) {
      out.set(m[1], m[2]);
    } else if (i + 1 < words.length && !words[i + 1].startsWith('-')) {
      out.set(m[1], words[++i]);
    } else {
      out.set(m[1], 'true');
    }
  }
  return out;
}

export interface ControllerManagerFacts {
  /** Node name → flags of its kube-controller-manager. */
  readonly byNode: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** True when any controller-manager runs with --allocate-node-cidrs=true. */
  readonly allocatesNodeCidrs: boolean;
  /** Distinct --cluster-cidr values seen (normally zero or one). */
  readonly clusterCidrs: readonly string[];
}

export function controllerManagerFacts(snapshot: ClusterSnapshot): ControllerManagerFacts {
  const byNode = new Map<string, Map<string, string>>();
  for (const [node, pod] of snapshot.controlPlane.controllerManagers) {
    const c = containers(pod).find((x) => x.name === 'kube-controller-manager') ?? containers(pod)[0];
    if (c) byNode.set(node, containerFlags(c));
  }
  const flags = [...byNode.values()];
  return {
    byNode,
    allocatesNodeCidrs: flags.some((f) => f.get('allocate-node-cidrs') === 'true'),
    clusterCidrs: [...new Set(flags.map((f) => f.get('cluster-cidr')).filter((x): x is string => !!x))].sort(),
  };
}

/**
 * Weave's IPALLOC_RANGE as set on the weave-net DaemonSet: its value, or `fromReference` when it
 * comes from a ConfigMap or Secret that the snapshot cannot read.
 */
export function weaveAllocRange(snapshot: ClusterSnapshot): { value?: string; daemonSetFound: boolean; fromReference?: boolean } {
  const ds = snapshot.weaveObjects.find((o) => o.kind === 'DaemonSet');
  if (!ds) return { daemonSetFound: false };
  for (const c of containers(ds)) {
    const env = c.env?.find((e) => e.name === 'IPALLOC_RANGE') as { value?: string; valueFrom?: unknown } | undefined;
    if (env?.value) return { value: env.value, daemonSetFound: true };
    if (env?.valueFrom) return { daemonSetFound: true, fromReference: true };
  }
  return { daemonSetFound: true };
}

/** Weave's MTU when WEAVE_MTU does not set it (weaveworks/weave net/bridge.go; research/facts.md). */
export const WEAVE_DEFAULT_MTU = 1376;

/** The MTU Weave gives its pods: WEAVE_MTU on its DaemonSet when a number is written there, else its default. */
export function weaveMtu(snapshot: ClusterSnapshot): { mtu: number; fromEnv: boolean } {
  const ds = snapshot.weaveObjects.find((o) => o.kind === 'DaemonSet');
  for (const c of containers(ds)) {
    const v = (c.env?.find((e) => e.name === 'WEAVE_MTU') as { value?: string } | undefined)?.value;
    if (v !== undefined && /^\d+$/.test(v.trim())) return { mtu: Number(v.trim()), fromEnv: true };
  }
  return { mtu: WEAVE_DEFAULT_MTU, fromEnv: false };
}

/**
 * kube-proxy's proxy mode from its kubeadm ConfigMap (config.conf), or from a --proxy-mode flag
 * on its DaemonSet; undefined when neither says ("" means the default, iptables).
 */
export function kubeProxyMode(snapshot: ClusterSnapshot): string | undefined {
  const data = (snapshot.controlPlane.kubeProxyConfigMap as { data?: Record<string, string> } | undefined)?.data;
  if (data?.['config.conf']) {
    try {
      const conf = jsYaml.load(data['config.conf'], { schema: jsYaml.CORE_SCHEMA }) as { mode?: unknown } | null;
      if (conf && typeof conf.mode === 'string') return conf.mode;
    } catch {
      // An unreadable config says nothing about the mode; the flags may.
    }
  }
  for (const c of containers(snapshot.controlPlane.kubeProxyDaemonSet)) {
    const mode = containerFlags(c).get('proxy-mode');
    if (mode) return mode;
  }
  return undefined;
}

/** How kube-proxy tells pod traffic from other traffic, as captured. */
export interface KubeProxyLocalDetection {
  /** detectLocalMode: ClusterCIDR (also when unset or ""), NodeCIDR, BridgeInterface or InterfaceNamePrefix. */
  readonly mode: string;
  /** The bridge (BridgeInterface) or the interface name prefix (InterfaceNamePrefix) it names. */
  readonly iface?: string;
  /** The snapshot file and field that set the mode, for a finding. */
  readonly file: string;
  readonly field: string;
}

/**
 * kube-proxy's detectLocalMode (with detectLocal.bridgeInterface / interfaceNamePrefix) from its
 * config.conf, else its --detect-local-mode (--pod-bridge-interface, --pod-interface-name-prefix)
 * flags; ClusterCIDR when neither sets one, kube-proxy's own default on Linux (kubernetes
 * cmd/kube-proxy/app/server_linux.go, platformApplyDefaults).
 */
export function kubeProxyLocalDetection(snapshot: ClusterSnapshot): KubeProxyLocalDetection {
  const data = (snapshot.controlPlane.kubeProxyConfigMap as { data?: Record<string, string> } | undefined)?.data;
  const file = 'control-plane/kube-proxy-configmap.yaml';
  if (data?.['config.conf']) {
    try {
      const conf = jsYaml.load(data['config.conf'], { schema: jsYaml.CORE_SCHEMA }) as { detectLocalMode?: unknown; detectLocal?: { bridgeInterface?: unknown; interfaceNamePrefix?: unknown } } | null;
      const mode = conf?.detectLocalMode;
      if (typeof mode === 'string' && mode !== '') {
        const iface = mode === 'BridgeInterface' ? conf?.detectLocal?.bridgeInterface : mode === 'InterfaceNamePrefix' ? conf?.detectLocal?.interfaceNamePrefix : undefined;
        return { mode, ...(typeof iface === 'string' ? { iface } : {}), file, field: 'data["config.conf"].detectLocalMode' };
      }
    } catch {
      // An unreadable config says nothing; the flags may.
    }
  }
  for (const c of containers(snapshot.controlPlane.kubeProxyDaemonSet)) {
    const flags = containerFlags(c);
    const mode = flags.get('detect-local-mode');
    if (!mode) continue;
    const iface = mode === 'BridgeInterface' ? flags.get('pod-bridge-interface') : mode === 'InterfaceNamePrefix' ? flags.get('pod-interface-name-prefix') : undefined;
    return { mode, ...(iface !== undefined ? { iface } : {}), file: 'control-plane/kube-proxy-daemonset.yaml', field: `containers[name=${c.name}] --detect-local-mode` };
  }
  return { mode: 'ClusterCIDR', file, field: 'data["config.conf"].detectLocalMode' };
}

/**
 * Whether kube-proxy's config.conf is a kubeproxy.config.k8s.io/v1alpha2 KubeProxyConfiguration,
 * which has no clusterCIDR (its CIDRs are detectLocal.clusterCIDRs) and is decoded strictly.
 */
export function isKubeProxyV1alpha2(configConf: string): boolean {
  return /^apiVersion:[ \t]*["']?kubeproxy\.config\.k8s\.io\/v1alpha2["']?[ \t]*(#.*)?$/m.test(configConf);
}

/** Where kube-proxy's config.conf holds its cluster CIDR(s). */
export function kubeProxyCidrField(configConf: string): string {
  return isKubeProxyV1alpha2(configConf) ? 'detectLocal.clusterCIDRs' : 'clusterCIDR';
}

/**
 * The cluster CIDR kube-proxy's config.conf sets (v1alpha2's list joined with ","), or undefined
 * when it sets none or does not parse.
 */
export function kubeProxyConfigClusterCidr(configConf: string): string | undefined {
  let conf: { clusterCIDR?: unknown; detectLocal?: { clusterCIDRs?: unknown } } | null;
  try {
    conf = jsYaml.load(configConf, { schema: jsYaml.CORE_SCHEMA }) as typeof conf;
  } catch {
    return undefined;
  }
  if (isKubeProxyV1alpha2(configConf)) {
    const list = conf?.detectLocal?.clusterCIDRs;
    return Array.isArray(list) && list.length > 0 ? list.map(String).join(',') : undefined;
  }
  return typeof conf?.clusterCIDR === 'string' ? conf.clusterCIDR : undefined;
}

/** One cluster CIDR value as captured, with where it is (for a finding that names the file and field). */
export interface CapturedClusterCidr {
  readonly value: string;
  /** The snapshot file, relative to the snapshot folder. */
  readonly file: string;
  readonly field: string;
  /** Whose value it is, as a message names it. */
  readonly what: string;
}

/**
 * Every cluster CIDR the control-plane objects hold: kube-proxy's config.conf clusterCIDR and its
 * --cluster-cidr flag, each kube-controller-manager's --cluster-cidr, kubeadm's podSubnet. The
 * values the cluster-CIDR steps replace, as captured; unreadable YAML says nothing here.
 */
export function capturedClusterCidrs(snapshot: ClusterSnapshot): CapturedClusterCidr[] {
  const out: CapturedClusterCidr[] = [];
  const conf = (snapshot.controlPlane.kubeProxyConfigMap as { data?: Record<string, string> } | undefined)?.data?.['config.conf'];
  const kubeadm = (snapshot.controlPlane.kubeadmConfig as { data?: Record<string, string> } | undefined)?.data?.ClusterConfiguration;
  const field = (text: string | undefined, path: readonly string[]): unknown => {
    try {
      return path.reduce<any>((v, k) => (v && typeof v === 'object' ? v[k] : undefined), text ? jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }) : undefined);
    } catch {
      return undefined;
    }
  };
  const clusterCIDR = conf ? kubeProxyConfigClusterCidr(conf) : undefined;
  if (clusterCIDR !== undefined) out.push({ value: clusterCIDR, file: 'control-plane/kube-proxy-configmap.yaml', field: `data["config.conf"].${kubeProxyCidrField(conf!)}`, what: `kube-proxy's ${kubeProxyCidrField(conf!)}` });
  for (const c of containers(snapshot.controlPlane.kubeProxyDaemonSet)) {
    const v = containerFlags(c).get('cluster-cidr');
    if (v) out.push({ value: v, file: 'control-plane/kube-proxy-daemonset.yaml', field: `containers[name=${c.name}] --cluster-cidr`, what: "kube-proxy's --cluster-cidr" });
  }
  for (const [node, flags] of controllerManagerFacts(snapshot).byNode) {
    const v = flags.get('cluster-cidr');
    if (v) out.push({ value: v, file: `control-plane/kube-controller-manager/${fileNameWithin(node)}`, field: '--cluster-cidr', what: `kube-controller-manager's --cluster-cidr on ${node}` });
  }
  const podSubnet = field(kubeadm, ['networking', 'podSubnet']);
  if (typeof podSubnet === 'string') out.push({ value: podSubnet, file: 'control-plane/kubeadm-config.yaml', field: 'data.ClusterConfiguration.networking.podSubnet', what: "kubeadm's podSubnet" });
  return out;
}

/**
 * The control plane's Kubernetes version, from the image tag of kube-controller-manager's mirror
 * pod (kubeadm tags it with the release, registry.k8s.io/kube-controller-manager:v1.30.6), else of
 * kube-proxy's DaemonSet; undefined when neither says.
 */
export function kubernetesVersion(snapshot: ClusterSnapshot): { major: number; minor: number } | undefined {
  const images = [
    ...[...snapshot.controlPlane.controllerManagers.values()].flatMap((p) => containers(p).map((c) => (c as { image?: string }).image)),
    ...containers(snapshot.controlPlane.kubeProxyDaemonSet).map((c) => (c as { image?: string }).image),
  ];
  for (const image of images) {
    const m = /:v(\d+)\.(\d+)\.\d+/.exec(image ?? '');
    if (m) return { major: Number(m[1]), minor: Number(m[2]) };
  }
  return undefined;
}
