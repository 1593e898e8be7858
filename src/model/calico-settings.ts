/**
 * The settings that let Calico run beside Weave, as the step model states them: what
 * migration.yaml asks for, filled in from the snapshot where the operator left a value to
 * detection. The Calico construct patches them into calico-node.
 */
import type { Migration } from '../config/types';
import { kubeProxyMode } from '../kube/control-plane-facts';
import type { ClusterSnapshot } from '../kube/objects';

export interface CalicoCoexistence {
  /** Calico's IP pool (CALICO_IPV4POOL_CIDR). */
  readonly poolCidr: string;
  readonly ipipMode: 'Always' | 'CrossSubnet';
  /** IP_AUTODETECTION_METHOD. */
  readonly ipAutodetectionMethod: string;
  /** FELIX_IPTABLESBACKEND. */
  readonly iptablesBackend: 'Legacy' | 'NFT' | 'Auto';
  /** Veth MTU; 0 lets Calico detect it. */
  readonly vethMtu: number;
  /**
   * Use the final conflist name (Weave removed).
   * @default false
   */
  readonly finalName?: boolean;
  /**
   * Image overrides.
   * @default - the images the objects already name
   */
  readonly images?: { readonly node?: string; readonly cni?: string; readonly kubeControllers?: string; readonly typha?: string };
  /**
   * Typha replicas: 0 for none. With Typha, calico-node watches Typha instead of the API server.
   * @default 0
   */
  readonly typhaReplicas?: number;
}

/** Calico's manifest install without Typha is meant for up to this many nodes (calico-typha.yaml: "We recommend using Typha if you have more than 50 nodes"). */
export const NO_TYPHA_MAX_NODES = 50;

/**
 * Typha replicas for a cluster of `nodes`: none up to 50 nodes, then what the Tigera operator
 * runs (tigera/operator pkg/common GetExpectedTyphaScale): one per 200 nodes plus one spare, at
 * least three. calico-typha.yaml's advice is the same ("one replica for every 100-200 nodes ...
 * at least 3 replicas").
 */
export function typhaReplicasFor(nodes: number): number {
  if (nodes <= NO_TYPHA_MAX_NODES) return 0;
  return Math.max(3, Math.floor(nodes / 200) + 2);
}

/** Felix's iptables backend: configured, else NFT when kube-proxy runs in nftables mode, else Auto. */
export function iptablesBackendFor(migration: Migration, snapshot: ClusterSnapshot): 'Legacy' | 'NFT' | 'Auto' {
  const configured = migration.spec.calico.iptablesBackend;
  if (configured) return configured;
  return kubeProxyMode(snapshot) === 'nftables' ? 'NFT' : 'Auto';
}

/** The coexistence settings at a step; `finalName` once Weave is gone. */
export function coexistenceFor(migration: Migration, snapshot: ClusterSnapshot, calicoCidr: string, finalName: boolean, nodeCount: number): CalicoCoexistence {
  const c = migration.spec.calico;
  return {
    poolCidr: calicoCidr,
    ipipMode: c.ipipMode,
    ipAutodetectionMethod: c.ipAutodetectionMethod,
    iptablesBackend: iptablesBackendFor(migration, snapshot),
    vethMtu: c.mtu,
    finalName,
    images: c.images,
    typhaReplicas: typhaReplicasFor(nodeCount),
  };
}
