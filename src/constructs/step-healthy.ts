/**
 * Argo CD only: a PostSync hook that ends the sync operation only once every DaemonSet and Job of
 * cni-migrate is healthy (scripts/step-healthy.sh). Argo CD runs PostSync hooks after every wave
 * of the Sync phase has applied and the objects it applied are healthy (Argo CD docs,
 * user-guide/sync-waves.md, the hook table; gitops-engine pkg/sync/sync_context.go), so without
 * the hook the operation would show Succeeded while the last wave's pods (the Weave cleanup's,
 * the probe's) still run. With ApplyOutOfSyncOnly (gitops/argocd.ts) an object the operation left
 * as it was is not waited for at all, which keeps a revert from being held back by what it leaves,
 * but also lets a retry, or a sync started again after a terminated one, end Succeeded over a
 * switch DaemonSet still stuck on a node or a failed Job; the hook reads them all, and fails the
 * operation naming them. It runs after everything of the step is applied, so it never stops a
 * revert from taking effect: it only keeps the operation from saying the step is done.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeJob, KubeRole, KubeRoleBinding, KubeServiceAccount } from '../../imports/k8s';
import { contentName } from './content-name';
import { jobContent } from './job-content';
import { useScript } from './job-scripts';
import { kubectlContainer, tmpVolume } from './weave/weave-removal';

const NS = 'kube-system';
const ACCOUNT = 'cni-migrate-step-healthy';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'step-healthy' } as const;

export interface StepHealthyProps {
  /** An image with kubectl and jq (registry.k8s.io/kubectl). */
  readonly kubectlImage: string;
  /** The namespaces that hold the step's DaemonSets and Jobs (each gets a read-only Role). */
  readonly namespaces: readonly string[];
  /**
   * How long a DaemonSet or Job the operation did not apply may stay Progressing before the hook
   * fails the operation (a drain in flight must fit: spec.nodes.drainTimeoutSeconds and a margin).
   * @default 540
   */
  readonly timeoutSeconds?: number;
}

export class StepHealthy extends Construct {
  public readonly jobName: string;

  constructor(scope: Construct, id: string, props: StepHealthyProps) {
    super(scope, id);
    if (props.namespaces.length === 0) throw new Error('StepHealthy needs at least one namespace to check');
    const timeout = props.timeoutSeconds ?? 540;
    if (!Number.isInteger(timeout) || timeout < 1) throw new Error(`StepHealthy timeoutSeconds must be a positive whole number of seconds, got ${timeout}`);
    // Under this construct, not the chart: the script's ConfigMap is a PostSync hook like the Job.
    const script = useScript(this, 'step-healthy.sh', NS);
    new KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: ACCOUNT, namespace: NS, labels: { ...LABELS } } });
    const namespaces = [...new Set(props.namespaces)].sort();
    for (const namespace of namespaces) {
      // Read-only, one namespace at a time: the hook lists our DaemonSets and Jobs there by label
      // (list, not get by name, so that the hook stays the same file from wave to wave).
      new KubeRole(this, `Role-${namespace}`, { metadata: { name: ACCOUNT, namespace, labels: { ...LABELS } }, rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['list'] }, { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] }] });
      new KubeRoleBinding(this, `Binding-${namespace}`, { metadata: { name: ACCOUNT, namespace, labels: { ...LABELS } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ACCOUNT }, subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: NS }] });
    }
    const spec = {
      // One attempt: Argo CD's retry of the operation creates the hook again (BeforeHookCreation).
      backoffLimit: 0,
      activeDeadlineSeconds: timeout + 120,
      template: {
        metadata: { labels: { ...LABELS } },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: ACCOUNT,
          // The token is what lists the DaemonSets and Jobs; no host access, no privilege.
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          containers: [{
            ...kubectlContainer('healthy', props.kubectlImage, script),
            env: [
              { name: 'NAMESPACES', value: namespaces.join(' ') },
              { name: 'TIMEOUT_SECONDS', value: String(timeout) },
              { name: 'WORK_DIR', value: '/tmp' },
              { name: 'HOME', value: '/tmp' },
            ],
          }],
          volumes: [tmpVolume(), script.volume],
        },
      },
    };
    this.jobName = contentName('step', 'healthy', jobContent(spec));
    new KubeJob(this, 'Job', { metadata: { name: this.jobName, namespace: NS, labels: { ...LABELS } }, spec: spec as never });
    // All hooks of PostSync, so the account and its roles exist when the Job runs (Argo CD orders
    // a phase's hooks by kind), and a namespace the step creates exists before its Role.
    for (const c of this.node.findAll()) {
      if (!ApiObject.isApiObject(c)) continue;
      c.metadata.addAnnotation('argocd.argoproj.io/hook', 'PostSync');
      c.metadata.addAnnotation('argocd.argoproj.io/hook-delete-policy', 'BeforeHookCreation');
    }
  }
}
