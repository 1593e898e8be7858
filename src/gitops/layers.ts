/**
 * Layers: the folders of dist/, applied in order. The number in the folder name is the order;
 * Argo CD gets it as the sync-wave, Flux as a chain of Kustomizations.
 */

export interface Layer {
  /** Folder name under dist/, e.g. 40-nodes. */
  readonly id: string;
  /** Apply order; also the Argo CD sync-wave. */
  readonly order: number;
  /** What the layer holds, for PLAN.md. */
  readonly purpose: string;
}

export const LAYERS: readonly Layer[] = [
  { id: '00-gate', order: 0, purpose: 'checks that must pass before the rest of the step applies' },
  { id: '10-calico', order: 10, purpose: 'Calico beside Weave' },
  { id: '20-control-plane', order: 20, purpose: 'cluster CIDR of kube-controller-manager and kube-proxy' },
  { id: '30-policies', order: 30, purpose: 'the NetworkPolicies this migration owns, or the freeze on them while suspended' },
  { id: '40-nodes', order: 40, purpose: 'per-node Jobs that converge each node\'s CNI config' },
  { id: '50-weave', order: 50, purpose: 'Weave Net\'s objects, owned until removal' },
  { id: '60-probe', order: 60, purpose: 'the connectivity probe (paths, loss, the next wave\'s tunnels), after everything else of the step' },
];

export type LayerId = '00-gate' | '10-calico' | '20-control-plane' | '30-policies' | '40-nodes' | '50-weave' | '60-probe';

export function layer(id: LayerId): Layer {
  return LAYERS.find((l) => l.id === id)!;
}
