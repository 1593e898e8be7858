/**
 * One Job per node that converges the node's /etc/cni/net.d to the desired network: Calico first
 * (a copy of Calico's conflist that sorts before Weave's) or Weave first (no copy). Named after
 * its content, so a changed desired state is a new Job and a revert re-creates the earlier one.
 */
import { Construct } from 'constructs';
import { KubeJob, Quantity, type JobSpec } from '../../imports/k8s';
import { readScript, scriptDigest } from '../scripts/read-script';
import { contentName } from './content-name';

/** Which network new pods on the node get. */
export type DesiredNetwork = 'calico-first' | 'weave-first';

export interface NodeSwitchProps {
  /** Node to converge. */
  readonly nodeName: string;
  readonly desired: DesiredNetwork;
  /** Image with /bin/sh, awk, cmp, cp, mv (busybox). */
  readonly image: string;
  /**
   * Calico's own conflist, which the copy mirrors.
   * @default 20-calico.conflist
   */
  readonly calicoConfName?: string;
  /**
   * Name of the copy; must sort before 10-weave.conflist.
   * @default 05-calico.conflist
   */
  readonly priorityName?: string;
  /**
   * Namespace of the Job.
   * @default kube-system
   */
  readonly namespace?: string;
}

export class NodeSwitch extends Construct {
  /** Name of the Job (content-addressed). */
  public readonly jobName: string;

  constructor(scope: Construct, id: string, props: NodeSwitchProps) {
    super(scope, id);
    const priorityName = props.priorityName ?? '05-calico.conflist';
    if (!(priorityName < '10-weave.conflist') || !priorityName.endsWith('.conflist')) {
      throw new Error(`priorityName must end in .conflist and sort before 10-weave.conflist, got ${JSON.stringify(priorityName)}`);
    }
    const labels = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'node-switch' };
    const spec: JobSpec = {
      // A failed switch leaves the node as it was; a few retries cover a calico-node that is still starting.
      backoffLimit: 4,
      activeDeadlineSeconds: 900,
      template: {
        metadata: { labels },
        spec: {
          nodeName: props.nodeName,
          restartPolicy: 'Never',
          // Host network: the pod must start even when the node's pod network is what is broken.
          hostNetwork: true,
          // Every taint, including NoExecute: the node must be converged whatever is on it.
          tolerations: [{ operator: 'Exists' }],
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: 'switch',
              image: props.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/bin/sh', '-c', readScript('node-switch.sh')],
              env: [
                { name: 'DESIRED', value: props.desired },
                { name: 'CALICO_CONF', value: props.calicoConfName ?? '20-calico.conflist' },
                { name: 'PRIORITY_NAME', value: priorityName },
                { name: 'CNI_DIR', value: '/host/etc/cni/net.d' },
                { name: 'NODE_NAME', value: props.nodeName },
              ],
              // Root owns /etc/cni/net.d; as its owner no capability is needed to write there.
              securityContext: {
                runAsUser: 0,
                runAsNonRoot: false,
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              resources: {
                requests: { cpu: Quantity.fromString('10m'), memory: Quantity.fromString('16Mi') },
                limits: { memory: Quantity.fromString('64Mi') },
              },
              volumeMounts: [{ name: 'cni-net-d', mountPath: '/host/etc/cni/net.d' }],
            },
          ],
          // The one host path this Job changes.
          volumes: [{ name: 'cni-net-d', hostPath: { path: '/etc/cni/net.d', type: 'Directory' } }],
        },
      },
    };
    // The name hashes the whole spec, so any change to it (even one made in this file) is a new Job;
    // the script enters by its digest, which is the same content at a fraction of the cost.
    const script = spec.template.spec!.containers[0].command!;
    const hashed = { ...spec, template: { ...spec.template, spec: { ...spec.template.spec!, containers: [{ ...spec.template.spec!.containers[0], command: [script[0], script[1], scriptDigest('node-switch.sh')] }] } } };
    this.jobName = contentName(props.desired, props.nodeName, { spec: toPlain(hashed), namespace: props.namespace ?? 'kube-system' });
    new KubeJob(this, 'Resource', {
      metadata: { name: this.jobName, namespace: props.namespace ?? 'kube-system', labels: { ...labels, 'cni-migrate.io/desired': props.desired } },
      spec,
    });
  }
}

/** Quantity objects → their string values, so the hash sees what the API server sees. */
function toPlain(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Quantity ? v.value : v)));
}
