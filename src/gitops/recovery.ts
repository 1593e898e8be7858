/**
 * What to do when a step is stuck, for each engine: PLAN.md's "If this step is stuck" and the
 * commands `cni-migrate status` prints next to a failed Job. Neither engine runs a failed Job
 * again by itself:
 * - Argo CD re-applies the same object, and its automated sync does not try a commit whose sync
 *   failed again ("Automatic sync will not reattempt a sync if the previous sync attempt against
 *   the same commit-SHA and parameters had failed", docs user-guide/auto_sync.md), so a manual
 *   sync is what runs a deleted Job anew. `argocd app terminate-op` ends an operation that waits.
 * - Flux re-applies a Failed Job unchanged (its Job status reader reads Failed as final,
 *   fluxcd/pkg runtime/statusreaders/job.go); a deleted one is applied again at the next
 *   reconciliation, which `flux reconcile kustomization --with-source` starts at once.
 */
import type { GitOpsSpec } from '../config/types';
import { FLUX_LAYER_TIMEOUT, FLUX_RETRY_INTERVAL } from './flux';
import type { LayerId } from './layers';

/** The name of the Argo CD Application, and the prefix of the Flux objects, of a migration. */
export function gitopsBaseName(migrationName: string): string {
  return `cni-migrate-${migrationName}`;
}

/** The Flux Kustomization that applies `layer`. */
export function layerKustomizationName(base: string, layer: string): string {
  return `${base}-${layer}`;
}

/** `--app-namespace`, which the argocd CLI needs only for an Application outside Argo CD's own namespace. */
function appNamespaceFlag(gitops: GitOpsSpec): string {
  return gitops.namespace === 'argocd' ? '' : ` --app-namespace ${gitops.namespace}`;
}

/** The command that makes the engine create a deleted Job of `layer` again and run it. */
export function rerunCommand(gitops: GitOpsSpec, base: string, layer: LayerId | string): string {
  return gitops.engine === 'argocd'
    ? `argocd app sync ${base}${appNamespaceFlag(gitops)}`
    : `flux reconcile kustomization ${layerKustomizationName(base, layer)} --namespace ${gitops.namespace} --with-source`;
}

/** The commands that retry a failed Job once its cause is fixed. */
export function retryJobCommands(gitops: GitOpsSpec, base: string, job: { readonly name: string; readonly namespace: string; readonly layer: string }): string {
  return `\`kubectl delete job --namespace=${job.namespace} ${job.name}\`, then \`${rerunCommand(gitops, base, job.layer)}\``;
}

/** The same for both engines: the kubelet, not the engine, retries a DaemonSet's pod. */
const SWITCH_POD_FAILS = '**A pod of a switch DaemonSet fails**: the kubelet retries it by itself; `cni-migrate status` gives its log command. Fix the cause (a PodDisruptionBudget that blocks the drain, a node that is not Ready) and it goes on.';

/** PLAN.md's "If this step is stuck": one line per situation. */
export function stuckSteps(gitops: GitOpsSpec, base: string, gateJob?: { readonly name: string; readonly namespace: string }): string[] {
  const out: string[] = [];
  if (gitops.engine === 'argocd') {
    out.push(`**A Job failed** (\`cni-migrate status\` names it, with its log command): fix the cause, then \`kubectl delete job --namespace=<namespace> <job>\` and \`argocd app sync ${base}${appNamespaceFlag(gitops)}\`. Argo CD re-applies a failed Job as it is, and its automated sync does not try a commit whose sync failed again.`);
    if (gateJob) out.push(`**The gate refused** (the PreSync hook \`${gateJob.name}\` failed; nothing else of the step was applied): its log says what must change. Once it holds, \`argocd app sync ${base}${appNamespaceFlag(gitops)}\` runs the gate again; or revert the step commit.`);
    out.push(SWITCH_POD_FAILS);
    out.push(`**The PostSync hook \`step-healthy\` failed** (everything of the step was applied; the operation is Failed): its log names each DaemonSet or Job of the step that is not healthy, also those this sync left as they were. Fix each as above, then \`argocd app sync ${base}${appNamespaceFlag(gitops)}\` runs the hook again.`);
    out.push(`**The sync waits for health that does not come**: \`argocd app terminate-op ${base}${appNamespaceFlag(gitops)}\` ends the operation; then \`git revert\` the step commit and push. The revert applies only what it changes, so what is unhealthy does not hold it back.`);
  } else {
    const ks = (layer: string) => layerKustomizationName(base, layer);
    out.push(`**A Job failed** (\`cni-migrate status\` names it, with its log command and the Kustomization to reconcile): fix the cause, then \`kubectl delete job --namespace=<namespace> <job>\` and \`flux reconcile kustomization <kustomization> --namespace ${gitops.namespace} --with-source\`. Flux re-applies a failed Job as it is; a deleted one it creates again.`);
    if (gateJob) out.push(`**The gate refused** (Job \`${gateJob.name}\` failed, so \`${ks('00-gate')}\` is not Ready and no later layer applies): its log says what must change. Once it holds, \`kubectl delete job --namespace=${gateJob.namespace} ${gateJob.name}\` and \`flux reconcile kustomization ${ks('00-gate')} --namespace ${gitops.namespace} --with-source\`; or revert the step commit.`);
    out.push(SWITCH_POD_FAILS);
    out.push(`**A layer waits for health that does not come**: its Kustomization gives up after its timeout (${FLUX_LAYER_TIMEOUT}) and tries again every ${FLUX_RETRY_INTERVAL}, and the layers after it wait (dependsOn). Push the revert of the step commit: each Kustomization applies it at its next reconciliation; \`flux reconcile kustomization <kustomization> --namespace ${gitops.namespace} --with-source\` starts one at once. \`flux get kustomizations --namespace ${gitops.namespace}\` shows which layer waits.`);
  }
  return out;
}
