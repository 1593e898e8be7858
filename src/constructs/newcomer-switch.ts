/**
 * One DaemonSet that converges every Linux node missing from the inventory (a node that joined
 * after the snapshot: the cluster autoscaler, a replaced machine, a rolled node pool) to what its
 * peers get at this step. It runs the same steps as a node's switch Job, as init containers; its
 * one container then only holds the pod, so the pod turns Ready once the node has converged and
 * the DaemonSet is healthy (to Argo CD and to Flux) when every newcomer has. With no newcomer it
 * schedules nothing and is healthy at once; a node that leaves takes its pod with it, and a
 * changed step (a revert too) rolls the pods, which converge the nodes again.
 *
 * Inventory nodes are kept out by name (a `metadata.name NotIn` node affinity term). The DaemonSet
 * controller creates pods only on nodes that match the template's required node affinity, and only
 * then replaces that affinity with a `metadata.name` term naming the chosen node ("the original
 * node affinity was taken into account before selecting the target host": Kubernetes docs,
 * Concepts > Workloads > DaemonSet, "How Daemon Pods are scheduled"; nodeShouldRunDaemonPod in
 * kubernetes pkg/controller/daemon/daemon_controller.go). So the list costs bytes once per step,
 * not one object per node.
 */
import { Construct } from 'constructs';
import { IntOrString, KubeDaemonSet, Quantity, type Affinity, type Container } from '../../imports/k8s';
import { nodeNameEnv, NON_ROOT } from './job-containers';
import { NODE_SWITCH_LABELS, nodeSwitchPod, type NodeSwitchProps } from './node-switch';

/** Labels of the newcomers' pods (the drain skips them by their component, like the Jobs' pods). */
export const NEWCOMER_LABELS = { ...NODE_SWITCH_LABELS, 'cni-migrate.io/nodes': 'newcomers' } as const;

export interface NewcomerSwitchProps extends Omit<NodeSwitchProps, 'nodeName' | 'namespace'> {
  /** The inventory's nodes: their own Jobs converge them, so the DaemonSet stays off them. */
  readonly inventoryNodes: readonly string[];
  /**
   * How many newcomers' pods a changed step replaces at once (a number or a percentage).
   * @default 1
   */
  readonly maxUnavailable?: number | string;
  /**
   * Label selector terms (key, values) a node must NOT match: nodes that cannot run the steps.
   * @default - virtual kubelets (type=virtual-kubelet)
   */
  readonly excludeLabels?: Readonly<Record<string, readonly string[]>>;
}

export class NewcomerSwitch extends Construct {
  /** Name of the DaemonSet. */
  public readonly name = 'cni-migrate-newcomer-switch';
  /** Whether its pods call the API (and so need the node-switch ServiceAccount). */
  public readonly usesApi: boolean;

  constructor(scope: Construct, id: string, props: NewcomerSwitchProps) {
    super(scope, id);
    if (props.inventoryNodes.length === 0) {
      // NotIn with no values is invalid (the API server refuses it), and synth never gets here.
      throw new Error('NewcomerSwitch needs the inventory nodes to stay off; got none');
    }
    const pod = nodeSwitchPod(this, { ...props, namespace: 'kube-system' });
    this.usesApi = pod.usesApi;
    const steps = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    new KubeDaemonSet(this, 'Resource', {
      metadata: { name: this.name, namespace: 'kube-system', labels: { ...NEWCOMER_LABELS, 'cni-migrate.io/desired': props.desired } },
      spec: {
        selector: { matchLabels: { ...NEWCOMER_LABELS } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: toIntOrString(props.maxUnavailable ?? 1) } },
        template: {
          metadata: { labels: { ...NEWCOMER_LABELS } },
          spec: {
            ...pod.spec,
            initContainers: steps,
            containers: [holdContainer(props.image)],
            affinity: newcomerAffinity(props.inventoryNodes, props.excludeLabels),
          },
        },
      },
    });
  }
}

/**
 * The pod only holds its place once its init containers converged the node, so the pod is Ready
 * exactly when the node is. It needs nothing: no API, no host path, no capability.
 */
export function holdContainer(image: string): Container {
  return {
    name: 'converged',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['/bin/sh', '-c', 'echo "converged: $NODE_NAME"; trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'],
    env: [nodeNameEnv(undefined)],
    securityContext: NON_ROOT,
    resources: { requests: { cpu: Quantity.fromString('1m'), memory: Quantity.fromString('4Mi') }, limits: { memory: Quantity.fromString('16Mi') } },
  };
}

/** Linux nodes, not virtual kubelets, not named in `inventory`. */
export function newcomerAffinity(inventory: readonly string[], exclude: Readonly<Record<string, readonly string[]>> = { type: ['virtual-kubelet'] }): Affinity {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{
          matchExpressions: [
            // The steps run Linux images; Windows nodes keep their own CNI.
            { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
            ...Object.entries(exclude).map(([key, values]) => ({ key, operator: 'NotIn', values: [...values] })),
          ],
          matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: [...inventory] }],
        }],
      },
    },
  };
}

function toIntOrString(v: number | string): IntOrString {
  return typeof v === 'number' ? IntOrString.fromNumber(v) : IntOrString.fromString(v);
}
