/**
 * Whether a step's output fits what Argo CD's repo server accepts from one directory Application.
 *
 * reposerver.max.combined.directory.manifests.size (argocd-cmd-params-cm) caps the total size of
 * the .yaml, .yml and .json files of a directory-type Application; its default is "10M", a
 * Kubernetes quantity, so 10,000,000 bytes (Argo CD advisory GHSA-jhqp-vf4w-rpwq; docs
 * operator-manual/argocd-cmd-params-cm.yaml). Above it the repo server refuses to generate the
 * manifests and the Application cannot sync at all. Flux has no such cap: kustomize-controller
 * builds and applies each layer in memory, so the cost there is the controller's memory and the
 * apply's duration.
 */
import type { Finding } from './findings';

export const ARGO_CD_DIRECTORY_LIMIT_BYTES = 10_000_000;

/**
 * Total bytes of the files Argo CD counts (.yaml, .yml, .json) among `files` (path → text of
 * dist/), less step.json, which the Application's directory.exclude leaves out (gitops/argocd.ts).
 */
export function countedManifestBytes(files: ReadonlyMap<string, string>): number {
  let n = 0;
  for (const [f, text] of files) if (/\.(ya?ml|json)$/.test(f) && f !== 'step.json') n += Buffer.byteLength(text);
  return n;
}

/** A warning when an Argo CD step is over the repo server's default limit; undefined otherwise. */
export function manifestSizeFinding(engine: 'argocd' | 'flux', bytes: number): Finding | undefined {
  if (engine !== 'argocd' || bytes <= ARGO_CD_DIRECTORY_LIMIT_BYTES) return undefined;
  const mb = Math.ceil(bytes / 1_000_000);
  return {
    severity: 'warning', code: 'argocd-manifest-size', field: 'spec.gitops.engine',
    message: `this step's manifests are ${bytes.toLocaleString('en-US')} bytes, over the ${ARGO_CD_DIRECTORY_LIMIT_BYTES.toLocaleString('en-US')} that Argo CD's repo server accepts from one directory Application by default: the Application would fail to generate manifests and not sync`,
    fix: `before committing this step, set reposerver.max.combined.directory.manifests.size: "${Math.max(mb + 5, 20)}M" in the argocd-cmd-params-cm ConfigMap and restart argocd-repo-server (see the README's Argo CD section)`,
  };
}
