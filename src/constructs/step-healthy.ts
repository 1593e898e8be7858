/**
 * Argo CD only: a PostSync hook that does nothing but say the step is healthy. Argo CD runs
 * PostSync hooks "after all Sync hooks completed and were successful, a successful application,
 * and all resources in a Healthy state" (Argo CD docs, user-guide/sync-waves.md, the hook table),
 * so with it the sync operation ends only once every object the step changed is healthy, the
 * last sync wave included (Argo CD does not wait for the last wave's health otherwise: the
 * operation would show Succeeded while, say, the Weave cleanup's pods still run). With
 * ApplyOutOfSyncOnly (gitops/argocd.ts) an object the step left as it was is not waited for: a
 * revert is not held back by the health of what it leaves.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeJob, Quantity } from '../../imports/k8s';
import { contentName } from './content-name';
import { NON_ROOT } from './job-containers';
import { jobContent } from './job-content';

export interface StepHealthyProps {
  /** Any image with /bin/sh (busybox). */
  readonly image: string;
}

export class StepHealthy extends Construct {
  public readonly jobName: string;

  constructor(scope: Construct, id: string, props: StepHealthyProps) {
    super(scope, id);
    const spec = {
      backoffLimit: 2,
      activeDeadlineSeconds: 300,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'step-healthy' } },
        spec: {
          restartPolicy: 'Never',
          // Nothing to read or change: no API token, no host access, no privilege.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{
            name: 'healthy',
            image: props.image,
            imagePullPolicy: 'IfNotPresent',
            // The same at every step (Argo CD re-creates a hook on every sync anyway), so that
            // advancing a wave changes no file of it.
            command: ['/bin/sh', '-c', 'echo "every object of this step is applied and healthy"'],
            securityContext: NON_ROOT,
            resources: { requests: { cpu: Quantity.fromString('1m'), memory: Quantity.fromString('4Mi') }, limits: { memory: Quantity.fromString('16Mi') } },
          }],
        },
      },
    };
    this.jobName = contentName('step', 'healthy', jobContent(spec));
    const job = new KubeJob(this, 'Job', { metadata: { name: this.jobName, namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'step-healthy' } }, spec: spec as never });
    ApiObject.of(job).metadata.addAnnotation('argocd.argoproj.io/hook', 'PostSync');
    ApiObject.of(job).metadata.addAnnotation('argocd.argoproj.io/hook-delete-policy', 'BeforeHookCreation');
  }
}
