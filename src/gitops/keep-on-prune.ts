/**
 * Objects the engine must never delete, even when a commit drops them: Calico's CRDs. Deleting a
 * CRD deletes every object of its kind, and Calico keeps its IP pools and IPAM blocks (which pod
 * owns which address) as such objects, so a revert that pruned them would pull the addresses out
 * from under every pod still running with a Calico IP. Tearing Calico down is an explicit act
 * (README, "Taking Calico out again").
 */
import type { GitOpsEngine } from '../config/types';

/** Argo CD's per-object sync options (user-guide/sync-options.md; several join with commas). */
export const ARGO_SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';

/**
 * The annotations that keep an object when a later commit drops it, for `engine`.
 * - Argo CD: `Prune=false` (a resource's Prune option overrides the Application's prune policy)
 *   and `Delete=false` (kept when the Application is deleted), with `compare-options:
 *   IgnoreExtraneous` so that a kept object left out of git does not hold the Application
 *   OutOfSync for ever (user-guide/sync-options.md "No Prune Resources", compare-options.md).
 * - Flux: `kustomize.toolkit.fluxcd.io/prune: disabled` (kustomize-controller
 *   docs/spec/v1/kustomizations.md, "Prune": objects so annotated are skipped by garbage collection).
 * `syncOptions` are other Argo CD sync options the object carries (ServerSideApply=true).
 */
export function keepOnPruneAnnotations(engine: GitOpsEngine, syncOptions: readonly string[] = []): Record<string, string> {
  if (engine === 'flux') return { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' };
  return { [ARGO_SYNC_OPTIONS]: [...syncOptions, 'Prune=false', 'Delete=false'].join(','), 'argocd.argoproj.io/compare-options': 'IgnoreExtraneous' };
}
