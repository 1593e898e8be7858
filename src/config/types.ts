/**
 * The shape of migration.yaml, after defaults are applied.
 *
 * The raw file is validated against `schema.ts` first; everything here is what the rest of the
 * app may rely on: every optional field has been filled in.
 */

/** GitOps engine that applies dist/. */
export type GitOpsEngine = 'argocd' | 'flux';

/** Where the control plane runs. */
export type ControlPlaneMode = 'kubeadm' | 'managed';

/** Calico IP-in-IP encapsulation mode for the pool that calico-node creates. */
export type IpipMode = 'Always' | 'CrossSubnet';

export interface GitOpsSpec {
  /** Which engine applies dist/. */
  readonly engine: GitOpsEngine;
  /** Git URL of the repository that holds dist/ (what Argo CD / Flux clone). */
  readonly repoURL: string;
  /**
   * Branch, tag or commit the engine follows.
   * @default main
   */
  readonly revision: string;
  /**
   * Path of dist/ inside that repository.
   * @default dist
   */
  readonly path: string;
  /**
   * Namespace of the engine's own objects (Application, GitRepository, Kustomizations).
   * @default argocd for argocd, flux-system for flux
   */
  readonly namespace: string;
  /**
   * Argo CD project of the Application (ignored by Flux).
   * @default default
   */
  readonly project: string;
  /**
   * Argo CD: a sync retry takes the newest commit (`syncPolicy.retry.refresh`, Argo CD 3.1 and
   * later), so a revert pushed while a failed step is retried applies at the next retry. Turn it
   * off for an older Argo CD, whose Application CRD does not know the field (ignored by Flux).
   * @default true
   */
  readonly retryRefresh: boolean;
}

export interface NetworkSpec {
  /**
   * Weave's IPALLOC_RANGE.
   * @default 10.32.0.0/12
   */
  readonly weaveCIDR: string;
  /** The cluster's service CIDR (kube-apiserver --service-cluster-ip-range). */
  readonly serviceCIDR: string;
  /**
   * Calico's IP pool.
   * @default the sibling block of weaveCIDR (10.48.0.0/12 for 10.32.0.0/12)
   */
  readonly calicoCIDR: string;
}

export interface ControlPlaneSpec {
  /** kubeadm: we edit kube-controller-manager and kube-proxy; managed: the provider owns them. */
  readonly mode: ControlPlaneMode;
  /**
   * At finalized, turn kube-controller-manager's node CIDR allocation off (Calico IPAM does not use
   * Node.spec.podCIDR), so the cluster CIDR can narrow to the Calico CIDR even where nodes hold
   * podCIDRs from the old range.
   * @default false (keep the supernet when it is needed)
   */
  readonly disableNodeCidrAllocation: boolean;
}

export interface WaveStrategySpec {
  /**
   * Nodes in the first wave.
   * @default 1
   */
  readonly canary: number;
  /**
   * Each wave is this many times the previous one.
   * @default 3
   */
  readonly growthFactor: number;
  /**
   * No wave of workers is larger than this: a number of nodes, or a share of the workers ("25%").
   * @default "25%" (a 5,000-node cluster in at most 16 waves, one commit each)
   */
  readonly maxWaveSize: number | string;
  /**
   * Control-plane nodes go last, in waves of at most this many.
   * @default 1
   */
  readonly controlPlaneWaveSize: number;
}

export interface NodesSpec {
  /**
   * Explicit waves: lists of node names, switched in this order. Exclusive with waveStrategy.
   * @default - computed from waveStrategy
   */
  readonly waves?: readonly (readonly string[])[];
  /** How waves are computed when `waves` is not given. */
  readonly waveStrategy: WaveStrategySpec;
  /**
   * Cordon and drain a node before its switch and uncordon it after, so no pod keeps a Weave IP there.
   * @default true
   */
  readonly drain: boolean;
  /**
   * How long a drain may wait for evictions (PodDisruptionBudgets) before the Job fails.
   * @default 600
   */
  readonly drainTimeoutSeconds: number;
  /**
   * How many nodes may be cordoned for draining at the same time, across the wave's Jobs: a number,
   * or a share of the inventory's nodes (rounded down, at least 1). The wave stays the unit of
   * review and revert; this is the disruption budget inside it.
   * @default '5%'
   */
  readonly maxConcurrentDrains: number | string;
  /**
   * After the switch, delete the node's DaemonSet pods that are not on the host network, so they
   * come back on Calico (needs drain, and Kubernetes 1.28+ for the spec.hostNetwork field selector).
   * @default false
   */
  readonly restartDaemonSetPods: boolean;
  /**
   * After the switch, restart the node's container runtime and kubelet (needs hostPID and a
   * privileged container, for that step only).
   * @default false
   */
  readonly restartKubelet: boolean;
}

export interface CalicoImagesSpec {
  /** @default docker.io/calico/node:<version> */
  readonly node: string;
  /** @default docker.io/calico/cni:<version> */
  readonly cni: string;
  /** @default docker.io/calico/kube-controllers:<version> */
  readonly kubeControllers: string;
  /** @default docker.io/calico/typha:<version> (installed above 50 nodes) */
  readonly typha: string;
}

export interface CalicoSpec {
  /**
   * Calico release, as a tag (vMAJOR.MINOR.PATCH). With `manifest`, it must be the release of
   * that manifest's calico-node image, when the image's tag names one.
   * @default - v3.28.5 for the built-in objects; with `manifest`, the release its images name
   */
  readonly version?: string;
  /**
   * Images of Calico's own containers, where set explicitly (for mirrors and air-gapped registries).
   * @default - built-in objects: docker.io/calico/<name>:<version>; a manifest: its own images
   */
  readonly images: Partial<CalicoImagesSpec>;
  /**
   * IP-in-IP mode of the pool.
   * @default Always
   */
  readonly ipipMode: IpipMode;
  /**
   * Veth MTU for Calico pods; 0 lets Calico detect it.
   * @default 0
   */
  readonly mtu: number;
  /**
   * Path (relative to migration.yaml) of an upstream calico.yaml to patch instead of the built-in objects.
   * @default - the built-in objects for `version`
   */
  readonly manifest?: string;
  /**
   * How calico-node picks each node's address; never a method that can pick the weave bridge.
   * @default kubernetes-internal-ip
   */
  readonly ipAutodetectionMethod: string;
  /**
   * iptables backend for Felix; must match kube-proxy's.
   * @default - detected from kube-proxy's mode in cluster/, else Auto (Felix follows kube-proxy's chains)
   */
  readonly iptablesBackend?: 'Legacy' | 'NFT';
  /**
   * MTU of the nodes' network, which the veth MTU plus 20 bytes of IP-in-IP must fit under.
   * @default 1500
   */
  readonly nodeMTU: number;
}

export interface PoliciesSpec {
  /**
   * Rewrite ipBlock CIDRs on restore, using `rewrite`.
   * @default false
   */
  readonly rewriteIPBlocks: boolean;
  /**
   * ipBlock CIDR rewrites applied on restore when rewriteIPBlocks is on.
   * @default { <weaveCIDR>: <calicoCIDR> }
   */
  readonly rewrite: Readonly<Record<string, string>>;
  /**
   * Policies (namespace/name) whose ipBlocks name Weave's pod range and are restored as they are,
   * on purpose: the operator has checked that losing what they allowed is intended.
   * @default []
   */
  readonly acknowledge: readonly string[];
}

export interface ImagesSpec {
  /**
   * Small image with a POSIX shell for the Jobs that act on node files.
   * @default docker.io/library/busybox:1.36.1
   */
  readonly shell: string;
  /**
   * Image with kubectl for the Jobs that talk to the API.
   * @default registry.k8s.io/kubectl:v1.33.1
   */
  readonly kubectl: string;
  /**
   * Image with sh, ip, iptables (legacy and nft) and ipset for the Weave cleanup Jobs.
   * @default - Calico's calico/node image, which has them and is already on every node
   */
  readonly netTools?: string;
}

export interface ProbeSpec {
  /**
   * From `calico` to `policies-restored`: check every path between the two networks after each
   * step, count lost requests while it runs, and check the next wave's IP-in-IP tunnels.
   * @default true
   */
  readonly enabled: boolean;
  /**
   * The share of the loss probers' requests that may fail during a step before it is unhealthy.
   * @default 0
   */
  readonly maxLossPercent: number;
  /**
   * How many other nodes each node of the next wave pings over IP-in-IP.
   * @default 3
   */
  readonly tunnelPeers: number;
}

export interface MigrationSpec {
  /** Where the cluster should be: the one value a commit changes. */
  readonly step: string;
  readonly gitops: GitOpsSpec;
  readonly network: NetworkSpec;
  readonly controlPlane: ControlPlaneSpec;
  readonly nodes: NodesSpec;
  readonly calico: CalicoSpec;
  readonly policies: PoliciesSpec;
  readonly images: ImagesSpec;
  readonly probe: ProbeSpec;
}

export interface Migration {
  readonly apiVersion: 'cni-migrate.io/v1alpha1';
  readonly kind: 'Migration';
  readonly metadata: { readonly name: string };
  readonly spec: MigrationSpec;
}
