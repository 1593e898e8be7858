/**
 * The shared types of what cni-migrate knows about a cluster: a Kubernetes object, a node, the
 * control-plane facts and the whole snapshot. Types only, so that the snapshot reader
 * (src/cluster/), the step model (src/model/) and the constructs can all use them without one
 * importing another's machinery.
 */

/** A Kubernetes object as found in cluster/. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeInfo {
  readonly name: string;
  /** From node-role.kubernetes.io/<role> labels. */
  readonly roles: readonly string[];
  readonly internalIP: string;
  /** Node.spec.podCIDRs (empty when the controller-manager does not allocate them). */
  readonly podCIDRs: readonly string[];
  /** Node.status.nodeInfo.containerRuntimeVersion, e.g. containerd://1.7.24. */
  readonly containerRuntime: string;
  readonly taints: readonly NodeTaint[];
  /** Files known to be in /etc/cni/net.d, when the snapshot could tell. */
  readonly cniConfigFiles?: readonly string[];
  /** Node.spec.providerID, e.g. azure:///subscriptions/... (tells the cloud). */
  readonly providerID?: string;
  /**
   * The label kubernetes.io/os.
   * @default linux
   */
  readonly os?: string;
  /**
   * A virtual kubelet (label type=virtual-kubelet, as Virtual Kubelet's providers and AKS virtual
   * nodes set it): no host, no /etc/cni/net.d, no calico-node.
   * @default false
   */
  readonly virtualKubelet?: boolean;
}

/**
 * Why a node cannot take part in the migration (its Jobs could not run there, nor calico-node),
 * or undefined when it can.
 */
export function notMigratable(n: NodeInfo): string | undefined {
  if (n.virtualKubelet) return 'a virtual kubelet';
  // A loop, not some(): this runs for every node of the inventory, often more than once.
  for (const t of n.taints) if (t.key === 'virtual-kubelet.io/provider') return 'a virtual kubelet';
  if ((n.os ?? 'linux') !== 'linux') return `a ${n.os} node`;
  return undefined;
}

export interface ControlPlaneFacts {
  readonly kubeProxyConfigMap?: KubeObject;
  readonly kubeProxyDaemonSet?: KubeObject;
  readonly kubeadmConfig?: KubeObject;
  /** Mirror pods of kube-controller-manager, by node name. */
  readonly controllerManagers: ReadonlyMap<string, KubeObject>;
}

/** What the snapshot found out about the cluster's CIDRs (network.yaml). */
export interface NetworkFacts {
  readonly weaveCIDR?: string;
  readonly weaveCIDRSource?: string;
  readonly serviceCIDR?: string;
  readonly serviceCIDRSource?: string;
}

/** What the snapshot found out about the GitOps engine (gitops.yaml). */
export interface GitOpsFacts {
  /**
   * Flux's kustomize-controller, looked for when the engine is Flux.
   * @default - not looked for
   */
  readonly flux?: {
    /** The namespace it was looked for in. */
    readonly namespace: string;
    /**
     * The image of its Deployment's manager container.
     * @default - no Deployment kustomize-controller in that namespace
     */
    readonly kustomizeControllerImage?: string;
  };
}

export interface ClusterSnapshot {
  /** The folder it was read from, as the user named it. */
  readonly dir: string;
  /** Namespaces that existed at the snapshot (namespaces.yaml), when recorded. */
  readonly namespaces?: readonly string[];
  /** network.yaml, when recorded. */
  readonly networkFacts?: NetworkFacts;
  /**
   * gitops.yaml, when recorded.
   * @default - not recorded (a snapshot from an earlier version)
   */
  readonly gitopsFacts?: GitOpsFacts;
  /** The nodes that migrate: Linux nodes with a kubelet of their own. */
  readonly nodes: readonly NodeInfo[];
  /**
   * Nodes of the inventory that cannot run the Jobs or calico-node (Windows, virtual kubelets):
   * left out of the waves and the gates.
   * @default - none
   */
  readonly otherNodes?: readonly NodeInfo[];
  readonly weaveObjects: readonly KubeObject[];
  readonly networkPolicies: readonly KubeObject[];
  readonly controlPlane: ControlPlaneFacts;
  /**
   * Which backups the folder holds: networkpolicies/ exists (a snapshot writes it even for a
   * cluster without policies), weave/ holds Weave's DaemonSet. Undefined for a snapshot that
   * knows only the nodes (`guard`, which checks the folders in git itself).
   */
  readonly captured?: { readonly networkPolicies: boolean; readonly weave: boolean };
  /**
   * The last inventory commit (`snapshot --nodes-only`), as recorded in nodes.yaml.
   * @default - the inventory is as the full snapshot wrote it
   */
  readonly inventoryReconciled?: InventoryReconciliation;
}

/** What an inventory commit changed, as written into nodes.yaml and shown in PLAN.md. */
export interface InventoryReconciliation {
  /** The step the migration was at. */
  readonly atStep: string;
  /** Inventory nodes no longer in the cluster, removed from the inventory and their waves. */
  readonly removed: readonly string[];
  /** Live nodes added to the inventory (before the first wave, or nodes that run no Jobs). */
  readonly added: readonly string[];
  /** Live Linux nodes left out of the inventory: the newcomers' DaemonSet converges them. */
  readonly leftToNewcomers: readonly string[];
}

/** Byte-wise string order, the same on every machine and locale. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
