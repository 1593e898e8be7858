/**
 * Removing Weave (weave-removed and later): an API Job that deletes Weave's DaemonSet and its
 * runtime ConfigMap, and one DaemonSet whose pod, on every Linux node (the inventory's and any that
 * joined while Weave ran), removes Weave's files, devices and iptables chains once Weave's pod is
 * gone from it. A node that leaves holds nothing back; a failed cleanup is retried by the kubelet.
 * (The gate that no pod is left on a Weave IP is a StepGate.)
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeJob, Quantity, type Container, type PolicyRule } from '../../../imports/k8s';
import { contentName } from '../content-name';
import { hostportCleanupContainer, nodeNameEnv, NON_ROOT, ROOT_NET_ADMIN, scriptResources, XTABLES_LOCK_MOUNT, XTABLES_LOCK_VOLUME } from '../job-containers';
import { roleBoundAccount } from '../job-account';
import { jobContent } from '../job-content';
import { useScript, type ScriptUse } from '../job-scripts';
import { NODE_SET_LABEL, NodeDaemonSet } from '../node-switch-set';

const NS = 'kube-system';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'weave-removal' } as const;
const CLEANUP_ACCOUNT = 'cni-migrate-weave-cleanup';

export interface WeaveCleanupProps {
  readonly kubectlImage: string;
  /** Image with sh, ip, iptables (legacy and nft) and ipset; calico/node has them and is on every node. */
  readonly netToolsImage: string;
  /**
   * Image of the container that holds a cleaned node's pod (any image with /bin/sh and sleep).
   * @default - kubectlImage
   */
  readonly holdImage?: string;
  /**
   * How many nodes' cleanup pods a changed step replaces at once.
   * @default 10%
   */
  readonly maxUnavailable?: number | string;
}

/** Name of the DaemonSet that cleans the nodes. */
export const WEAVE_CLEANUP_DAEMONSET = 'cni-migrate-weave-cleanup';
const CLEANUP_SET_LABELS = { ...LABELS, [NODE_SET_LABEL]: 'all' } as const;

/** Deletes Weave's DaemonSet and runtime ConfigMap, then cleans every node. */
export class WeaveCleanup extends Construct {
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
    const cleanupScript = useScript(layer, 'weave-cleanup.sh', NS);
    const hostportScript = useScript(layer, 'hostport-cleanup.sh', NS);
    // The pod cleans whichever node it runs on (NODE_NAME from the downward API).
    const cleanupPod = () => {
      const hostPath = (name: string, path: string, type: string) => ({ name, hostPath: { path, type } });
      return {
        // The devices and iptables chains to remove are the host's.
        hostNetwork: true,
        tolerations: [{ operator: 'Exists' }],
        serviceAccountName: CLEANUP_ACCOUNT,
        automountServiceAccountToken: true,
        initContainers: [
          { ...kubectlContainer('wait-for-weave-pod-gone', props.kubectlImage), command: ['/bin/sh', '-c', waitScript], env: [nodeNameEnv(undefined), { name: 'HOME', value: '/tmp' }] },
          // No pod has a Weave IP any more (the gate): every hostPort entry named after Weave is stale.
          hostportCleanupContainer(hostportScript, props.netToolsImage, [nodeNameEnv(undefined)]),
        ],
        containers: [{
          name: 'cleanup',
          image: props.netToolsImage,
          imagePullPolicy: 'IfNotPresent',
          command: cleanupScript.command,
          env: [nodeNameEnv(undefined)],
          // Root owns the files; NET_ADMIN and NET_RAW are what deleting links and iptables
          // rules take: no other capability, not privileged.
          securityContext: ROOT_NET_ADMIN,
          resources: scriptResources('128Mi'),
          volumeMounts: [
            { name: 'cni-net-d', mountPath: '/host/etc/cni/net.d' },
            { name: 'cni-bin', mountPath: '/host/opt/cni/bin' },
            { name: 'weave-data', mountPath: '/host/var/lib/weave' },
            cleanupScript.mount,
            XTABLES_LOCK_MOUNT,
          ],
        }] as Container[],
        volumes: [
          hostPath('cni-net-d', '/etc/cni/net.d', 'Directory'),
          hostPath('cni-bin', '/opt/cni/bin', 'Directory'),
          hostPath('weave-data', '/var/lib/weave', 'DirectoryOrCreate'),
          XTABLES_LOCK_VOLUME,
          tmpVolume(),
          cleanupScript.volume,
          hostportScript.volume,
        ],
      };
    };
    new NodeDaemonSet(this, 'Nodes', {
      name: WEAVE_CLEANUP_DAEMONSET,
      labels: CLEANUP_SET_LABELS,
      pod: { ...cleanupPod(), enableServiceLinks: false },
      holdImage: props.holdImage ?? props.kubectlImage,
      nodes: 'all',
      maxUnavailable: props.maxUnavailable ?? '10%',
    });
  }

  private addJob(id: string, name: string, spec: object): void {
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
