/**
 * The IP-in-IP tunnel check of the next wave: before a wave's pods move onto Calico, each of its
 * nodes pings a few other nodes' tunnel addresses (src/scripts/tunnel-peers.sh picks them,
 * src/scripts/tunnel-check.sh pings). A DaemonSet over the wave's nodes, in the probe layer: a
 * node whose tunnels do not work keeps its pod failing (the kubelet retries it), the DaemonSet
 * unavailable and so the step unhealthy, with the pairs that failed in the pod's log.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeClusterRole, KubeClusterRoleBinding, KubeServiceAccount, Quantity } from '../../imports/k8s';
import { nodeNameEnv, NON_ROOT, ROOT_NET_RAW, scriptResources } from './job-containers';
import { useScript } from './job-scripts';
import { NODE_SET_LABEL, NodeDaemonSet } from './node-switch-set';

export const TUNNEL_CHECK_NAME = 'cni-migrate-tunnel-check';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'tunnel-check' } as const;

export interface TunnelCheckProps {
  /** The nodes that check their tunnels (the next wave's). */
  readonly nodes: readonly string[];
  /** How many other nodes each one pings. */
  readonly peers: number;
  /** Reads the Nodes' tunnel addresses (needs kubectl, jq, sort, awk). */
  readonly kubectlImage: string;
  /** Pings (busybox: ping). */
  readonly pingImage: string;
  /** The step: the check runs again at every step that has it. */
  readonly step: string;
}

export class TunnelCheck extends Construct {
  constructor(scope: Construct, id: string, props: TunnelCheckProps) {
    super(scope, id);
    if (props.nodes.length === 0) throw new Error('a tunnel check needs at least one node');
    if (!Number.isInteger(props.peers) || props.peers < 1) throw new Error(`tunnel check peers: ${props.peers}; expected a whole number of at least 1`);
    const namespace = 'kube-system';
    new KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: TUNNEL_CHECK_NAME, namespace, labels: { ...LABELS } } });
    // The tunnel addresses are Node annotations; the list is paged, so list as well as get.
    new KubeClusterRole(this, 'ClusterRole', { metadata: { name: TUNNEL_CHECK_NAME, labels: { ...LABELS } }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }] });
    new KubeClusterRoleBinding(this, 'Binding', {
      metadata: { name: TUNNEL_CHECK_NAME, labels: { ...LABELS } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: TUNNEL_CHECK_NAME },
      subjects: [{ kind: 'ServiceAccount', name: TUNNEL_CHECK_NAME, namespace }],
    });
    const chart = Chart.of(this);
    const peersScript = useScript(chart, 'tunnel-peers.sh', namespace);
    const checkScript = useScript(chart, 'tunnel-check.sh', namespace);
    const env = [nodeNameEnv(undefined), { name: 'PEERS_FILE', value: '/work/peers' }];
    new NodeDaemonSet(this, 'Resource', {
      name: TUNNEL_CHECK_NAME,
      // The set label makes `cni-migrate status` report its pod on each node, as it does a switch's.
      labels: { ...LABELS, [NODE_SET_LABEL]: 'tunnel-check' },
      holdImage: props.pingImage,
      nodes: { only: props.nodes },
      // A check disrupts nothing: every node of the wave checks at once.
      maxUnavailable: '100%',
      pod: {
        serviceAccountName: TUNNEL_CHECK_NAME,
        // The pings must leave from the node's own network namespace, where Calico's tunl0 and its
        // routes to the other nodes' pod blocks are: a pod's namespace has neither.
        hostNetwork: true,
        tolerations: [{ operator: 'Exists' }],
        enableServiceLinks: false,
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: 'peers',
            image: props.kubectlImage,
            imagePullPolicy: 'IfNotPresent',
            command: peersScript.command,
            // STEP only changes the pod template, so the check runs again at every step that has it.
            env: [...env, { name: 'TUNNEL_PEERS', value: String(props.peers) }, { name: 'WORK', value: '/work' }, { name: 'STEP', value: props.step }],
            securityContext: NON_ROOT,
            resources: scriptResources('64Mi'),
            volumeMounts: [peersScript.mount, { name: 'work', mountPath: '/work' }],
          },
          {
            name: 'tunnel',
            image: props.pingImage,
            imagePullPolicy: 'IfNotPresent',
            command: checkScript.command,
            env,
            securityContext: ROOT_NET_RAW,
            resources: scriptResources('64Mi'),
            volumeMounts: [checkScript.mount, { name: 'work', mountPath: '/work', readOnly: true }],
          },
        ],
        volumes: [peersScript.volume, checkScript.volume, { name: 'work', emptyDir: { sizeLimit: Quantity.fromString('1Mi') } }],
      },
    });
  }
}
