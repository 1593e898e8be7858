/**
 * Flux: each layer folder has a kustomization.yaml, and the bootstrap holds a GitRepository and
 * one Kustomization per layer, chained with dependsOn and wait so a layer applies only once the
 * one before it is healthy.
 */
import type { GitOpsSpec } from '../config/types';
import type { Layer } from './layers';

/** dist/<layer>/kustomization.yaml listing the layer's files. */
export function layerKustomization(files: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...files].sort(),
  };
}

export function fluxGitRepository(name: string, gitops: GitOpsSpec): Record<string, unknown> {
  const ref = /^[0-9a-f]{40}$/.test(gitops.revision) ? { commit: gitops.revision } : { branch: gitops.revision };
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace: gitops.namespace },
    spec: { interval: '1m', url: gitops.repoURL, ref },
  };
}

/** How long a layer's Kustomization waits for its objects' health before it fails. Node switches may drain nodes: give a layer time. */
export const FLUX_LAYER_TIMEOUT = '30m';
/** How soon a Kustomization that failed tries again. */
export const FLUX_RETRY_INTERVAL = '1m';

export function fluxKustomization(name: string, source: string, layer: Layer, previous: string | undefined, gitops: GitOpsSpec): Record<string, unknown> {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: gitops.namespace },
    spec: {
      interval: '10m',
      retryInterval: FLUX_RETRY_INTERVAL,
      timeout: FLUX_LAYER_TIMEOUT,
      path: `./${gitops.path}/${layer.id}`,
      prune: true,
      // Deleting these bootstrap objects must never delete the cluster's network with them.
      deletionPolicy: 'Orphan',
      // A Kustomization is reconciled only once the ones it depends on are Ready, and with wait
      // Ready means every object it applied is healthy (Flux docs, Kustomization API,
      // "Dependencies" and "Wait"). Calico's layer does not wait: a calico-node that is not
      // healthy would otherwise hold every later layer back, a revert's switch DaemonSets (the way
      // out when Calico is what broke) included. Calico's health is the gates' to check at the
      // steps that need it (model/gate-checks.ts), and `cni-migrate status` shows it.
      wait: layer.id !== '10-calico',
      sourceRef: { kind: 'GitRepository', name: source },
      ...(previous ? { dependsOn: [{ name: previous }] } : {}),
    },
  };
}
