/**
 * The labels and annotations by which Argo CD and Flux mark the objects they apply. Once `adopt`
 * has run, this migration's own Application or Kustomizations have marked Weave's objects and the
 * NetworkPolicies; a later snapshot must neither take those marks for another owner nor copy them
 * into git, where every re-snapshot would churn them.
 */
import { LAYERS } from './layers';
import { layerKustomizationName } from './recovery';

/**
 * Argo CD's annotation tracking (the default from 3.0): `<app>:<group>/<kind>:<namespace>/<name>`,
 * (docs user-guide/resource_tracking), where <app> is `<namespace>_<name>` for an Application
 * outside Argo CD's own namespace (pkg/apis/application/v1alpha1/types.go, Application.InstanceName).
 */
export const ARGO_TRACKING_ID = 'argocd.argoproj.io/tracking-id';
/** Argo CD's label tracking (the default before 3.0; docs user-guide/resource_tracking): the Application's name. */
export const ARGO_INSTANCE_LABEL = 'app.kubernetes.io/instance';
/** The custom tracking label Argo CD's documentation suggests. */
export const ARGO_CUSTOM_INSTANCE_LABEL = 'argocd.argoproj.io/instance';
/** kustomize-controller labels what it applies with its Kustomization's name and namespace. */
export const FLUX_NAME_LABEL = 'kustomize.toolkit.fluxcd.io/name';
export const FLUX_NAMESPACE_LABEL = 'kustomize.toolkit.fluxcd.io/namespace';

/** True when an Argo CD tracking id names the Application `base` (in any namespace). */
export function argoTrackingIsOurs(trackingId: string, base: string): boolean {
  const app = trackingId.split(':')[0];
  return app === base || app.endsWith(`_${base}`);
}

/** True when a Flux Kustomization name is one of the layer Kustomizations of `base`. */
export function fluxKustomizationIsOurs(name: string, base: string): boolean {
  return LAYERS.some((l) => layerKustomizationName(base, l.id) === name);
}

/** The metadata keys on `meta` that are tracking marks of the GitOps objects of `base`. */
export function ownTrackingKeys(meta: { labels?: Record<string, string>; annotations?: Record<string, string> }, base: string): { labels: string[]; annotations: string[] } {
  const labels: string[] = [];
  const annotations: string[] = [];
  const l = meta.labels ?? {};
  const a = meta.annotations ?? {};
  if (typeof a[ARGO_TRACKING_ID] === 'string' && argoTrackingIsOurs(a[ARGO_TRACKING_ID], base)) annotations.push(ARGO_TRACKING_ID);
  for (const k of [ARGO_INSTANCE_LABEL, ARGO_CUSTOM_INSTANCE_LABEL]) if (l[k] === base) labels.push(k);
  if (typeof l[FLUX_NAME_LABEL] === 'string' && fluxKustomizationIsOurs(l[FLUX_NAME_LABEL], base)) {
    labels.push(FLUX_NAME_LABEL);
    if (FLUX_NAMESPACE_LABEL in l) labels.push(FLUX_NAMESPACE_LABEL);
  }
  return { labels, annotations };
}
