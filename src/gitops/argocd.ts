/**
 * Argo CD: every object carries its layer's sync-wave, and one Application (bootstrap, applied once
 * by hand) syncs dist/ as a recursive directory app.
 */
import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import type { GitOpsSpec } from '../config/types';
import type { Layer } from './layers';

export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

/** Stamp the layer's sync-wave on every API object under `scope`. */
export function annotateSyncWave(scope: Construct, layer: Layer): void {
  for (const c of scope.node.findAll()) {
    if (ApiObject.isApiObject(c)) c.metadata.addAnnotation(SYNC_WAVE, String(layer.order));
  }
}

/** The Application that points Argo CD at dist/. */
export function argoApplication(name: string, gitops: GitOpsSpec): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name,
      namespace: gitops.namespace,
      // No resources-finalizer on purpose, and Delete=false below: deleting this Application must
      // never delete the cluster's network (Calico, Weave) along with it.
    },
    spec: {
      project: gitops.project,
      source: {
        repoURL: gitops.repoURL,
        targetRevision: gitops.revision,
        path: gitops.path,
        // Layers are sub-folders; step.json is for machines, not a manifest.
        directory: { recurse: true, exclude: 'step.json' },
      },
      destination: { server: 'https://kubernetes.default.svc' },
      syncPolicy: {
        // prune: a step that drops an object (a suspended policy, Weave) must delete it.
        // selfHeal: a deleted switch Job is re-created; its script is idempotent.
        automated: { prune: true, selfHeal: true },
        // Delete=false: deleting the Application, even with `argocd app delete`, which cascades by
        // default and adds the resources finalizer itself, leaves every object in place (Argo CD
        // docs, user-guide/sync-options.md, "No Resource Deletion"). Pruning a step's dropped
        // objects is the Prune option, which this does not touch.
        //
        // ApplyOutOfSyncOnly=true: a sync applies only what the commit changed, and waits per sync
        // wave for the health of only those objects. gitops-engine builds a task for every object
        // and, with this option, drops those not modified (pkg/sync/sync_context.go, Sync() and
        // filterOutOfSyncTasks); only a task that ran is waited for before the next wave. Without
        // it every object is re-applied and waited for, so a calico-node DaemonSet that is not
        // healthy (wave 10) would hold a revert's switch DaemonSets (wave 40), the way out when
        // Calico is what broke, behind it for ever. Calico's health is the gates' to check at the
        // steps that need it (model/gate-checks.ts); the Application's health still shows it.
        syncOptions: ['Delete=false', 'ApplyOutOfSyncOnly=true'],
        // refresh: a retry takes the newest commit instead of the one that failed (RetryStrategy
        // .refresh, argoproj/argo-cd#23038, Argo CD 3.1), so a revert pushed while a failed step
        // is retried applies at the next retry rather than after the retries end (5, at most
        // ~30 min). An older Argo CD's CRD does not know the field: spec.gitops.retryRefresh: false.
        retry: { limit: 5, backoff: { duration: '30s', factor: 2, maxDuration: '10m' }, ...(gitops.retryRefresh ? { refresh: true } : {}) },
      },
    },
  };
}
