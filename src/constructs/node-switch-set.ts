/**
 * A DaemonSet that converges a set of nodes: the nodes of one wave (and drain lane), every Linux
 * node missing from the inventory (a node that joined after the snapshot: the cluster autoscaler,
 * a replaced machine, a rolled node pool), or every Linux node. Its pod runs the steps of a node
 * switch (nodeSwitchPod) as init containers; its one container then only holds the pod, so the
 * pod turns Ready once its node has converged and the DaemonSet is healthy (to Argo CD and to
 * Flux) when every node of the set has. A changed step (a revert too) changes the pod template,
 * and the rolling update converges the set's nodes again; a node that leaves the cluster takes its
 * pod with it, so a gone node holds nothing back; a pod that fails a step is retried by the kubelet
 * (restartPolicy Always) until it succeeds, with the reason in its log.
 *
 * How the engines read that health: Argo CD's DaemonSet health is Progressing until
 * updatedNumberScheduled and numberAvailable reach desiredNumberScheduled (gitops-engine
 * pkg/health/health_daemonset.go, getAppsv1DaemonSetHealth); Flux's kstatus is InProgress until
 * currentNumberScheduled, updatedNumberScheduled, numberAvailable and numberReady do
 * (kubernetes-sigs/cli-utils pkg/kstatus/status/core.go, daemonsetConditions; kustomize-controller
 * reads DaemonSets with kstatus as they are, and only Jobs with a reader of its own, from
 * fluxcd/kustomize-controller PR #608, which waits for their completion).
 *
 * Nodes are chosen by name with a `metadata.name In` (or `NotIn`) node affinity term. The
 * DaemonSet controller creates pods only on nodes that match the template's required node
 * affinity, and only then replaces that affinity with a `metadata.name` term naming the chosen
 * node ("the original node affinity was taken into account before selecting the target host":
 * Kubernetes docs, Concepts > Workloads > DaemonSet, "How Daemon Pods are scheduled";
 * nodeShouldRunDaemonPod in kubernetes pkg/controller/daemon/daemon_controller.go). So a set costs
 * a node's name per node, not one object per node.
 */
import { Construct } from 'constructs';
import { IntOrString, KubeDaemonSet, Quantity, type Affinity, type Container, type KubeDaemonSetProps, type PodSpec } from '../../imports/k8s';
import { NODE_SET_LABEL, POD_SPEC_LABEL } from '../kube/names';
import { contentHash } from './content-name';
import { nodeNameEnv, NON_ROOT } from './job-containers';
import { jobContent } from './job-content';
import { NODE_SWITCH_LABELS, nodeSwitchPod, type NodeSwitchProps } from './node-switch';

export { NODE_SET_LABEL, POD_SPEC_LABEL };

/** Which nodes a set converges: by name, every node but the named ones, or every node. */
export type NodeSelection = { readonly only: readonly string[] } | { readonly except: readonly string[] } | 'all';

export interface NodeSwitchSetProps extends Omit<NodeSwitchProps, 'nodeName' | 'namespace'> {
  /** Name of the DaemonSet. */
  readonly name: string;
  /** Value of the pods' cni-migrate.io/nodes label, unique to this set. */
  readonly setLabel: string;
  readonly nodes: NodeSelection;
  /**
   * How many of the set's pods a changed step replaces at once (a number or a percentage).
   * @default 1
   */
  readonly maxUnavailable?: number | string;
  /**
   * Label selector terms (key, values) a node must NOT match: nodes that cannot run the steps.
   * @default - virtual kubelets (type=virtual-kubelet)
   */
  readonly excludeLabels?: Readonly<Record<string, readonly string[]>>;
}

export class NodeSwitchSet extends Construct {
  /** Name of the DaemonSet. */
  public readonly name: string;
  /** Whether its pods call the API (and so need the node-switch ServiceAccount). */
  public readonly usesApi: boolean;

  constructor(scope: Construct, id: string, props: NodeSwitchSetProps) {
    super(scope, id);
    const pod = nodeSwitchPod(this, { ...props, namespace: 'kube-system' });
    this.name = props.name;
    this.usesApi = pod.usesApi;
    new NodeDaemonSet(this, 'Resource', {
      name: props.name,
      labels: { ...NODE_SWITCH_LABELS, [NODE_SET_LABEL]: props.setLabel },
      metadataLabels: { 'cni-migrate.io/desired': props.desired },
      pod: pod.spec,
      holdImage: props.image,
      nodes: props.nodes,
      excludeLabels: props.excludeLabels,
      maxUnavailable: props.maxUnavailable,
    });
  }
}

export interface NodeDaemonSetProps {
  readonly name: string;
  /** Labels of the DaemonSet and its pods, which also select them. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Labels of the DaemonSet's own metadata only.
   * @default - none
   */
  readonly metadataLabels?: Readonly<Record<string, string>>;
  /** The steps, in order: every container of the pod runs as an init container. */
  readonly pod: Omit<PodSpec, 'restartPolicy' | 'nodeName'>;
  /** Image of the container that holds the pod once the steps are done (needs /bin/sh, sleep). */
  readonly holdImage: string;
  readonly nodes: NodeSelection;
  /**
   * @default - virtual kubelets (type=virtual-kubelet)
   */
  readonly excludeLabels?: Readonly<Record<string, readonly string[]>>;
  /**
   * @default 1
   */
  readonly maxUnavailable?: number | string;
}

/** A DaemonSet in kube-system that runs a pod's containers as steps on the selected nodes. */
export class NodeDaemonSet extends Construct {
  constructor(scope: Construct, id: string, props: NodeDaemonSetProps) {
    super(scope, id);
    const names = props.nodes === 'all' ? undefined : 'only' in props.nodes ? [...props.nodes.only] : [...props.nodes.except];
    // In/NotIn with no values is invalid (the API server refuses it); synth never gets here.
    if (names?.length === 0) throw new Error(`DaemonSet ${props.name}: a node selection by name needs at least one name`);
    const pod = {
      ...props.pod,
      initContainers: [...(props.pod.initContainers ?? []), ...props.pod.containers],
      containers: [holdContainer(props.holdImage)],
    };
    // A set names up to every node of the inventory: thousands of plain strings, which can hold no
    // token. They are left out of everything cdk8s and the hash walk value by value, and put in
    // whole where they belong: the same bytes, at a fraction of the time per node.
    const spec = { ...pod, affinity: nodeAffinity(props.nodes, props.excludeLabels, names ? [] : undefined) };
    const content = jobContent(spec) as PodSpec;
    if (names) matchFieldsTerm(content).values = names;
    new NamedNodesDaemonSet(this, 'Resource', {
      metadata: { name: props.name, namespace: 'kube-system', labels: { ...props.labels, ...props.metadataLabels } },
      spec: {
        selector: { matchLabels: { ...props.labels } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: toIntOrString(props.maxUnavailable ?? 1) } },
        template: { metadata: { labels: { ...props.labels, [POD_SPEC_LABEL]: contentHash(content) } }, spec },
      },
    }, names);
  }
}

/** The `metadata.name` term of a pod spec that nodeAffinity made with a selection by name. */
function matchFieldsTerm(pod: { affinity?: Affinity }): { values?: string[] } {
  return pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchFields![0] as { values?: string[] };
}

/**
 * A KubeDaemonSet whose node names go into its rendered JSON. cdk8s renders an object by passing
 * each of its values through the typed converter and every resolver (cdk8s lib/api-object.ts,
 * ApiObject.toJson; the L1 classes override toJson the same way, in imports/k8s.ts), which for
 * 5,000 names costs more than the rest of the object.
 */
class NamedNodesDaemonSet extends KubeDaemonSet {
  constructor(scope: Construct, id: string, props: KubeDaemonSetProps, private readonly nodeNames?: readonly string[]) {
    super(scope, id, props);
  }

  public override toJson(): any {
    const json = super.toJson();
    if (this.nodeNames) matchFieldsTerm(json.spec.template.spec).values = [...this.nodeNames];
    return json;
  }
}

/**
 * The pod only holds its place once its init containers converged the node, so the pod is Ready
 * exactly when the node is. It needs nothing: no API, no host path, no capability.
 */
function holdContainer(image: string): Container {
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

/** Linux nodes, not virtual kubelets, chosen by name as `nodes` says; `names` replaces the names when given. */
function nodeAffinity(nodes: NodeSelection, exclude: Readonly<Record<string, readonly string[]>> = { type: ['virtual-kubelet'] }, names?: string[]): Affinity {
  const byName = nodes === 'all' ? undefined
    : 'only' in nodes ? { key: 'metadata.name', operator: 'In', values: names ?? [...nodes.only] }
      : { key: 'metadata.name', operator: 'NotIn', values: names ?? [...nodes.except] };
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{
          matchExpressions: [
            // The steps run Linux images; Windows nodes keep their own CNI.
            { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
            ...Object.entries(exclude).map(([key, values]) => ({ key, operator: 'NotIn', values: [...values] })),
          ],
          ...(byName ? { matchFields: [byName] } : {}),
        }],
      },
    },
  };
}

function toIntOrString(v: number | string): IntOrString {
  return typeof v === 'number' ? IntOrString.fromNumber(v) : IntOrString.fromString(v);
}
