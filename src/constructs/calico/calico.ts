/**
 * Calico beside Weave: the manifest install (built-in objects for the pinned release, or the
 * operator's vendored calico.yaml), with the coexistence patches applied to either.
 */
import * as path from 'path';
import { Construct } from 'constructs';
import type { KubeObject } from '../../kube/objects';
import { InputError } from '../../config/errors';
import { AdoptedObjects } from '../adopted-objects';
import { builtinCalicoObjects } from './calico-builtin';
import { readCalicoManifest } from './calico-manifest';
import { applyCoexistence, CalicoShapeError, type CalicoCoexistence } from './calico-patch';
import { NO_TYPHA_MAX_NODES } from '../../model/calico-settings';
import type { GitOpsEngine } from '../../config/types';
import { keepOnPruneAnnotations } from '../../gitops/keep-on-prune';
import { assertOneCalicoRelease } from './calico-release-check';

/** Whether a manifest installs Typha: a calico-typha Deployment that calico-node is pointed at. */
function hasTypha(objects: readonly KubeObject[]): boolean {
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'calico-config') as { data?: Record<string, string> } | undefined;
  const service = config?.data?.typha_service_name;
  return objects.some((o) => o.kind === 'Deployment' && o.metadata.name === 'calico-typha') && !!service && service !== 'none';
}

/** Where Calico's objects come from. */
export type CalicoSource =
  | { readonly kind: 'builtin'; readonly version: string; readonly configFile: string }
  | {
    readonly kind: 'manifest';
    readonly file: string;
    readonly configFile: string;
    /** spec.calico.version, when given: the release the manifest's calico-node image must be. */
    readonly version?: string;
  };

export interface CalicoProps {
  readonly source: CalicoSource;
  readonly coexistence: CalicoCoexistence;
  /**
   * The engine that applies the objects: the CRDs get its annotations that keep them when a
   * commit drops them (a revert to adopt), and with Argo CD server-side apply (some are too large
   * for client-side apply's last-applied annotation; Flux always applies server-side).
   */
  readonly engine: GitOpsEngine;
}

export class Calico extends Construct {
  /** The objects emitted, after patching. */
  public readonly objects: readonly KubeObject[];
  /** Label selector of the calico-node pods (from the DaemonSet's matchLabels). */
  public readonly nodeSelector: string;
  /** Image of the calico-node container (on every node once Calico runs). */
  public readonly nodeImage: string;

  constructor(scope: Construct, id: string, props: CalicoProps) {
    super(scope, id);
    this.objects = calicoObjects(props.source, props.coexistence);
    const ds = this.objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'calico-node') as { spec?: { selector?: { matchLabels?: Record<string, string> } } } | undefined;
    const labels = Object.entries(ds?.spec?.selector?.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    this.nodeSelector = labels.length ? labels.map(([k, v]) => `${k}=${v}`).join(',') : 'k8s-app=calico-node';
    this.nodeImage = calicoNodeImage(this.objects) ?? '';
    const adopted = new AdoptedObjects(this, 'Objects', { objects: this.objects });
    const keep = keepOnPruneAnnotations(props.engine, props.engine === 'argocd' ? ['ServerSideApply=true'] : []);
    for (const o of adopted.apiObjects) {
      if (o.kind !== 'CustomResourceDefinition') continue;
      for (const [k, v] of Object.entries(keep)) o.metadata.addAnnotation(k, v);
    }
  }
}

/** The image of the calico-node DaemonSet's calico-node container (its first container, if none has that name). */
function calicoNodeImage(objects: readonly KubeObject[]): string | undefined {
  const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'calico-node') as { spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } } } | undefined;
  const containers = ds?.spec?.template?.spec?.containers ?? [];
  return (containers.find((c) => c.name === 'calico-node') ?? containers[0])?.image;
}

/** The patched objects for `source`; shape problems become InputErrors on the config field. */
export function calicoObjects(source: CalicoSource, coexistence: CalicoCoexistence): KubeObject[] {
  const shown = path.relative(process.cwd(), source.configFile) || source.configFile;
  if (source.kind === 'builtin') {
    const objects = applyCoexistence(builtinCalicoObjects({ version: source.version, typhaReplicas: coexistence.typhaReplicas }), coexistence);
    assertOneCalicoRelease({ objects, configFile: shown, version: source.version, images: coexistence.images });
    return objects;
  }
  const file = path.resolve(path.dirname(source.configFile), source.file);
  try {
    const objects = readCalicoManifest(file, shown);
    if ((coexistence.typhaReplicas ?? 0) > 0 && !hasTypha(objects)) {
      throw new InputError(shown, 'spec.calico.manifest', `${source.file} installs Calico without Typha, and this cluster has more than ${NO_TYPHA_MAX_NODES} nodes: every calico-node would list and watch the API server itself`,
        'calico-typha.yaml of your Calico release (its Typha Deployment, Service and typha_service_name: calico-typha), or leave spec.calico.manifest unset to use the built-in objects, which add Typha');
    }
    const patched = applyCoexistence(objects, coexistence);
    assertOneCalicoRelease({ objects: patched, configFile: shown, version: source.version, manifest: source.file, images: coexistence.images });
    return patched;
  } catch (e) {
    if (e instanceof CalicoShapeError) {
      throw new InputError(shown, 'spec.calico.manifest', `${source.file} cannot be patched: ${e.message}`, "an upstream Calico manifest install (calico.yaml) with calico-node's install-cni and calico-node containers");
    }
    throw e;
  }
}
