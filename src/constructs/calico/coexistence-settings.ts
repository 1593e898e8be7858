/**
 * The coexistence settings of a plan: what migration.yaml asks for, filled in from the snapshot
 * where the operator left a value to detection.
 */
import { kubeProxyMode } from '../../cluster/control-plane-facts';
import type { MigrationPlan } from '../../plan/migration-plan';
import type { CalicoCoexistence } from './calico-patch';

/** Felix's iptables backend: configured, else NFT when kube-proxy runs in nftables mode, else Auto. */
export function iptablesBackendFor(plan: Pick<MigrationPlan, 'migration' | 'snapshot'>): 'Legacy' | 'NFT' | 'Auto' {
  const configured = plan.migration.spec.calico.iptablesBackend;
  if (configured) return configured;
  return kubeProxyMode(plan.snapshot) === 'nftables' ? 'NFT' : 'Auto';
}

export function coexistenceFor(plan: MigrationPlan): CalicoCoexistence {
  const c = plan.migration.spec.calico;
  return {
    poolCidr: plan.network.calico.toString(),
    ipipMode: c.ipipMode,
    ipAutodetectionMethod: c.ipAutodetectionMethod,
    iptablesBackend: iptablesBackendFor(plan),
    vethMtu: c.mtu,
    finalName: plan.state.calicoFinalName,
    images: c.images,
  };
}
