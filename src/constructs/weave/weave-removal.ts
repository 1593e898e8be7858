/**
 * Removing Weave (weave-removed and later): an API Job that deletes Weave's DaemonSet and its
 * runtime ConfigMap, and one cleanup Job per node that removes Weave's files, devices and iptables
 * chains once its pod is gone. (The gate that no pod is left on a Weave IP is a StepGate.)
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeDaemonSet, KubeJob, Quantity, type Container, type PolicyRule } from '../../../imports/k8s';
import { holdContainer, newcomerAffinity } from '../newcomer-switch';
import { contentName } from '../content-name';
import { hostportCleanupContainer, nodeNameEnv, NON_ROOT, ROOT_NET_ADMIN, scriptResources, XTABLES_LOCK_MOUNT, XTABLES_LOCK_VOLUME } from '../job-containers';
import { roleBoundAccount } from '../job-account';
import { jobContent } from '../job-content';
import { useScript, type ScriptUse } from '../job-scripts';

const NS = 'kube-system';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'weave-removal' } as const;
const CLEANUP_ACCOUNT = 'cni-migrate-weave-cleanup';

export interface WeaveCleanupProps {
  readonly nodes: readonly string[];
  readonly kubectlImage: string;
  /** Image with sh, ip, iptables (legacy and nft) and ipset; calico/node has them and is on every node. */
  readonly netToolsImage: string;
  /**
   * The inventory: a DaemonSet cleans every other Linux node (one that joined while Weave ran).
   * @default - no DaemonSet: inventory nodes only
   */
  readonly newcomersExcept?: readonly string[];
  /**
   * Image of the container that holds a cleaned newcomer's pod (any image with /bin/sh and sleep).
   * @default - kubectlImage
   */
  readonly holdImage?: string;
}

const NEWCOMER_CLEANUP_LABELS = { ...LABELS, 'cni-migrate.io/nodes': 'newcomers' } as const;

/** Deletes Weave's DaemonSet and runtime ConfigMap, then cleans every node. */
export class WeaveCleanup extends Construct {
  public readonly jobNames: string[] = [];

  constructor(scope: Construct, id: string, props: WeaveCleanupProps) {
    super(scope, id);
    account(this, CLEANUP_ACCOUNT, [
      // The DaemonSet goes now rather than at the engine's prune, which comes only after this step's Jobs.
      { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['weave-net'], verbs: ['delete', 'get'] },
      // Weave creates this ConfigMap (its peer list) at runtime; GitOps never owned it.
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['weave-net'], verbs: ['delete', 'get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);

    const deleteScript = [
      'set -eu',
      'kubectl delete daemonset --namespace=kube-system weave-net --ignore-not-found --wait=false',
      'kubectl delete configmap --namespace=kube-system weave-net --ignore-not-found',
      'echo "weave-removal: DaemonSet and ConfigMap weave-net deleted (or already gone)"',
    ].join('\n');
    const apiSpec = jobSpec({
      serviceAccountName: CLEANUP_ACCOUNT,
      automountServiceAccountToken: true,
      containers: [{ ...kubectlContainer('delete-weave', props.kubectlImage), command: ['/bin/sh', '-c', deleteScript], env: [{ name: 'HOME', value: '/tmp' }] }],
      volumes: [tmpVolume()],
    }, 0);
    this.addJob('api', contentName('weave-delete', 'daemonset', jobContent(apiSpec)), apiSpec);

    const waitScript = [
      'set -eu',
      'for i in $(seq 1 120); do',
      '  left=$(kubectl get pods --namespace=kube-system --selector=name=weave-net --field-selector="spec.nodeName=$NODE_NAME" -o name)',
      '  [ -z "$left" ] && { echo "no weave-net pod left on $NODE_NAME"; exit 0; }',
      '  sleep 5',
      'done',
      'echo "weave-net pod still running on $NODE_NAME after 600s: $left" >&2; exit 1',
    ].join('\n');
    const layer = Chart.of(this);
    const newcomers = props.newcomersExcept && props.newcomersExcept.length > 0 ? props.newcomersExcept : undefined;
    const cleansNodes = props.nodes.length > 0 || !!newcomers;
    const cleanupScript = cleansNodes ? useScript(layer, 'weave-cleanup.sh', NS) : undefined;
    const hostportScript = cleansNodes ? useScript(layer, 'hostport-cleanup.sh', NS) : undefined;
    // The pod that cleans `node`, or (undefined) whichever node a DaemonSet's pod runs on.
    const cleanupPod = (node: string | undefined) => {
      const hostPath = (name: string, path: string, type: string) => ({ name, hostPath: { path, type } });
      return {
        // The devices and iptables chains to remove are the host's.
        hostNetwork: true,
        tolerations: [{ operator: 'Exists' }],
        serviceAccountName: CLEANUP_ACCOUNT,
        automountServiceAccountToken: true,
        initContainers: [
          { ...kubectlContainer('wait-for-weave-pod-gone', props.kubectlImage), command: ['/bin/sh', '-c', waitScript], env: [nodeNameEnv(node), { name: 'HOME', value: '/tmp' }] },
          // No pod has a Weave IP any more (the gate): every hostPort entry named after Weave is stale.
          hostportCleanupContainer(hostportScript!, props.netToolsImage, [nodeNameEnv(node)]),
        ],
        containers: [{
          name: 'cleanup',
          image: props.netToolsImage,
          imagePullPolicy: 'IfNotPresent',
          command: cleanupScript!.command,
          env: [nodeNameEnv(node)],
          // Root owns the files; NET_ADMIN and NET_RAW are what deleting links and iptables
          // rules take: no other capability, not privileged.
          securityContext: ROOT_NET_ADMIN,
          resources: scriptResources('128Mi'),
          volumeMounts: [
            { name: 'cni-net-d', mountPath: '/host/etc/cni/net.d' },
            { name: 'cni-bin', mountPath: '/host/opt/cni/bin' },
            { name: 'weave-data', mountPath: '/host/var/lib/weave' },
            cleanupScript!.mount,
            XTABLES_LOCK_MOUNT,
          ],
        }] as Container[],
        volumes: [
          hostPath('cni-net-d', '/etc/cni/net.d', 'Directory'),
          hostPath('cni-bin', '/opt/cni/bin', 'Directory'),
          hostPath('weave-data', '/var/lib/weave', 'DirectoryOrCreate'),
          XTABLES_LOCK_VOLUME,
          tmpVolume(),
          cleanupScript!.volume,
          hostportScript!.volume,
        ],
      };
    };
    for (const node of props.nodes) {
      const spec = jobSpec({ nodeName: node, ...cleanupPod(node) }, 900);
      this.addJob(node, contentName('weave-cleanup', node, jobContent(spec)), spec);
    }
    if (newcomers) {
      // Nodes that joined while Weave ran (the node phase) carry its leftovers too: one DaemonSet
      // cleans every node missing from the inventory, the way NewcomerSwitch converges them.
      const pod = cleanupPod(undefined);
      new KubeDaemonSet(this, 'newcomers', {
        metadata: { name: 'cni-migrate-newcomer-weave-cleanup', namespace: NS, labels: { ...NEWCOMER_CLEANUP_LABELS } },
        spec: {
          selector: { matchLabels: { ...NEWCOMER_CLEANUP_LABELS } },
          template: {
            metadata: { labels: { ...NEWCOMER_CLEANUP_LABELS } },
            spec: {
              ...pod,
              enableServiceLinks: false,
              initContainers: [...pod.initContainers, ...pod.containers],
              containers: [holdContainer(props.holdImage ?? props.kubectlImage)],
              affinity: newcomerAffinity(newcomers),
            },
          },
        },
      });
    }
  }

  private addJob(id: string, name: string, spec: object): void {
    this.jobNames.push(name);
    new KubeJob(this, `job-${id}`, { metadata: { name, namespace: NS, labels: { ...LABELS } }, spec: spec as never });
  }
}

export function kubectlContainer(name: string, image: string, script?: ScriptUse): Container {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ...(script ? { command: script.command } : {}),
    securityContext: NON_ROOT,
    resources: scriptResources('128Mi'),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(script ? [script.mount] : [])],
  };
}

export function tmpVolume() {
  return { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('16Mi') } };
}

export function jobSpec(pod: Record<string, unknown>, extraDeadline: number): object {
  return {
    backoffLimit: 4,
    activeDeadlineSeconds: 600 + extraDeadline,
    template: { metadata: { labels: { ...LABELS } }, spec: { restartPolicy: 'Never', enableServiceLinks: false, ...pod } },
  };
}

function account(scope: Construct, name: string, rules: PolicyRule[]): void {
  roleBoundAccount(scope, '', name, NS, rules, { ...LABELS });
}
