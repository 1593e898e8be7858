/**
 * Preflight findings about the GitOps engine itself: what the bootstrap in gitops/ needs from it.
 */
import type { Migration } from '../config/types';
import type { ClusterSnapshot } from '../kube/objects';
import type { Finding } from './findings';
import { imageVersion, olderVersion } from '../util/image-ref';

/**
 * The first kustomize-controller that honours `spec.deletionPolicy` (Flux 2.5, February 2025;
 * research/facts.md, "Flux"). An older one drops the field, so deleting a bootstrap Kustomization
 * falls back to pruning what it applied: Calico and Weave.
 */
export const MIN_KUSTOMIZE_CONTROLLER: readonly [number, number, number] = [1, 5, 0];
const MIN_TEXT = `Flux 2.5 (kustomize-controller v${MIN_KUSTOMIZE_CONTROLLER.join('.')})`;

/**
 * With Flux, the kustomize-controller the snapshot found must be new enough for the bootstrap's
 * `deletionPolicy: Orphan`. An old one is an error at `adopt`, where the bootstrap is applied
 * first; later it is a warning, so that it never blocks a step (or a revert) of a migration that
 * is already under way.
 */
export function gitopsFindings(migration: Migration, snapshot: ClusterSnapshot, atAdopt: boolean): Finding[] {
  if (migration.spec.gitops.engine !== 'flux') return [];
  const file = `${snapshot.dir}/gitops.yaml`;
  const check = `kubectl -n ${migration.spec.gitops.namespace} get deployment kustomize-controller -o jsonpath='{.spec.template.spec.containers[?(@.name=="manager")].image}'`;
  const flux = snapshot.gitopsFacts?.flux;
  if (!flux) {
    return [{ severity: 'warning', code: 'flux-version-unknown', file, message: `the snapshot did not record Flux's version (no ${file}); the bootstrap needs ${MIN_TEXT} or later`, fix: `run \`cni-migrate snapshot\` again, or check by hand: ${check}` }];
  }
  const image = flux.kustomizeControllerImage;
  if (!image) {
    return [{ severity: 'warning', code: 'flux-version-unknown', file, field: 'flux.kustomizeControllerImage', message: `no Deployment ${flux.namespace}/kustomize-controller was found at the snapshot; the bootstrap needs ${MIN_TEXT} or later`, fix: `set spec.gitops.namespace to Flux's namespace and snapshot again, or check by hand: ${check}` }];
  }
  const version = imageVersion(image);
  if (!version) {
    return [{ severity: 'warning', code: 'flux-version-unknown', file, field: 'flux.kustomizeControllerImage', message: `kustomize-controller runs ${image}, whose tag names no version; the bootstrap needs ${MIN_TEXT} or later`, fix: `make sure it is ${MIN_TEXT} or later: \`flux version\` prints the version of each controller` }];
  }
  if (!olderVersion(version, MIN_KUSTOMIZE_CONTROLLER)) return [];
  return [{
    severity: atAdopt ? 'error' : 'warning', code: 'flux-too-old', file, field: 'flux.kustomizeControllerImage',
    message: `kustomize-controller is v${version.join('.')} (${image}); it ignores the bootstrap's deletionPolicy: Orphan, which needs ${MIN_TEXT}, so deleting one of the bootstrap's Kustomizations would prune what it applied, Calico and Weave included`,
    fix: atAdopt
      ? `upgrade Flux to 2.5 or later (flux install, or your Flux bootstrap), snapshot again, then synth`
      : `upgrade Flux to 2.5 or later before anything deletes a Kustomization of gitops/; until then, suspend instead of deleting (flux suspend kustomization)`,
  }];
}
