/**
 * The pod that converges a node's /etc/cni/net.d to the desired network: Calico first (a copy of
 * Calico's conflist that sorts before Weave's) or Weave first (no copy). A NodeSwitchSet runs it
 * on each node of a set (a wave, the newcomers, every node); its steps are safe to run again on a
 * converged node (node-switch.sh inspects first), as a DaemonSet's pod restarted does.
 *
 * A switch to Calico runs as a sequence of init containers: wait until calico-node is Ready on the
 * node; optionally cordon and drain it (Eviction API, so PodDisruptionBudgets hold); switch;
 * optionally restart the runtime and kubelet, and the node's DaemonSet pods; then uncordon.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Quantity, type Container, type EnvVar, type PodSpec, type Volume } from '../../imports/k8s';
import type { NodeCniState } from '../model/node-states';
import { hostportCleanupContainer, nodeNameEnv, NON_ROOT, ROOT_NO_CAPABILITIES, scriptResources, XTABLES_LOCK_VOLUME } from './job-containers';
import { useScript } from './job-scripts';

/** Which network new pods on the node get (the model's NodeCniState). */
export type DesiredNetwork = NodeCniState;

/** Labels of every node-switch pod; the drain skips pods that carry the component label. */
export const NODE_SWITCH_LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'node-switch' } as const;

/** ServiceAccount of the switch pods that call the API (see NodeSwitchRbac). */
export const NODE_SWITCH_SERVICE_ACCOUNT = 'cni-migrate-node-switch';

export interface NodeSwitchDrain {
  /** Seconds the drain waits for evictions before it fails (the kubelet then runs it again). */
  readonly timeoutSeconds: number;
  /**
   * Delete the node's non-host-network DaemonSet pods after the switch, so they come back on Calico.
   * @default false
   */
  readonly restartDaemonSetPods?: boolean;
}

export interface NodeSwitchProps {
  /** Node to converge. */
  readonly nodeName: string;
  readonly desired: DesiredNetwork;
  /** Image with /bin/sh, awk, cmp, cp, mv (busybox). */
  readonly image: string;
  /**
   * Image with kubectl, for the steps that call the API (only calico-first switches have them).
   * @default - required when desired is calico-first
   */
  readonly kubectlImage?: string;
  /**
   * Label selector of the calico-node pods, for the readiness wait.
   * @default k8s-app=calico-node
   */
  readonly calicoNodeSelector?: string;
  /**
   * Cordon and drain around the switch (calico-first only).
   * @default - no drain
   */
  readonly drain?: NodeSwitchDrain;
  /**
   * Image with bash, grep, sed and iptables (calico/node), for removing the hostPort entries the
   * restarted DaemonSet pods left behind.
   * @default - required when drain.restartDaemonSetPods is on
   */
  readonly netToolsImage?: string;
  /**
   * Restart the runtime (containerd or crio) and the kubelet after the switch (calico-first only).
   * @default - no restart
   */
  readonly restartRuntime?: 'containerd' | 'crio';
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
   * Uncordon the node after the switch if this tool cordoned it (a drain that failed, or the
   * drain of the state being reverted); for switches that do not drain themselves.
   * @default false
   */
  readonly releaseCordon?: boolean;
  /**
   * Lanes of the disruption budget (Leases cni-migrate-drain-lane-0..N-1): the drain waits for any
   * free one, and whichever step uncordons the node gives it back.
   * @default - required with drain; no lane to give back otherwise
   */
  readonly drainLanes?: number;
  /**
   * With drains on: put (add) or take off (remove) the taint cni-migrate.io/on-weave:PreferNoSchedule,
   * so pods evicted from a wave prefer nodes already switched.
   * @default remove
   */
  readonly weaveTaint?: 'add' | 'remove';
  /**
   * Namespace of the pod and its script ConfigMaps.
   * @default kube-system
   */
  readonly namespace?: string;
}

/** Where the inspect step writes whether the switch changes the node (node-switch.sh VERDICT_FILE). */
const VERDICT_FILE = '/tmp/verdict';

/** Seconds to wait for calico-node to be Ready before giving up (the kubelet then runs the step again). */
const CALICO_READY_TIMEOUT_SECONDS = 600;

/**
 * Seconds a lane's Lease lasts after a drain takes it, beyond the drain's own timeout: the switch,
 * the restarts (the DaemonSet pods' deletion waits up to 300 s) and the uncordon that gives it back.
 */
const LANE_MARGIN_SECONDS = 900;

/** The pod of a node switch, without its restart policy and binding (a DaemonSet's). */
export interface NodeSwitchPod {
  /** The steps in order: every container but the last is an init container. */
  readonly spec: Omit<PodSpec, 'restartPolicy' | 'nodeName'>;
  /** Whether a step calls the API (and so needs the ServiceAccount). */
  readonly usesApi: boolean;
}

/**
 * The pod that converges one node. With `nodeName` undefined it converges whichever node it runs
 * on (NODE_NAME from the pod's spec.nodeName): the pod of a DaemonSet.
 */
export function nodeSwitchPod(scope: Construct, props: Omit<NodeSwitchProps, 'nodeName'> & { readonly nodeName?: string }): NodeSwitchPod {
  const nodeLabel = props.nodeName ?? 'the node it runs on';
  const priorityName = props.priorityName ?? '05-calico.conflist';
  if (!(priorityName < '10-weave.conflist') || !priorityName.endsWith('.conflist')) {
    throw new Error(`priorityName must end in .conflist and sort before 10-weave.conflist, got ${JSON.stringify(priorityName)}`);
  }
  const calicoFirst = props.desired === 'calico-first';
  if (!calicoFirst && (props.drain || props.restartRuntime)) {
    throw new Error(`drain and restartRuntime apply to calico-first switches only, not to ${props.desired} on ${nodeLabel}`);
  }
  if (props.drain && !(props.drainLanes && props.drainLanes >= 1)) {
    throw new Error(`a drain waits for a lane of the disruption budget: drainLanes must be at least 1, got ${props.drainLanes} (node ${nodeLabel})`);
  }
  if (calicoFirst && !props.kubectlImage) {
    throw new Error(`a calico-first switch waits for calico-node through the API: kubectlImage is required (node ${nodeLabel})`);
  }
  const usesApi = calicoFirst || !!props.releaseCordon;
  if (!calicoFirst && props.releaseCordon && !props.kubectlImage) {
    throw new Error(`releasing a cordon goes through the API: kubectlImage is required (node ${nodeLabel})`);
  }
  const namespace = props.namespace ?? 'kube-system';
  const nodeEnv = nodeNameEnv(props.nodeName);

  const kubectl = (name: string, args: string[]): Container => ({
    name,
    image: props.kubectlImage!,
    imagePullPolicy: 'IfNotPresent',
    command: ['kubectl', ...args],
    // kubectl keeps its discovery cache under $HOME; the root filesystem stays read-only.
    env: [nodeEnv, { name: 'HOME', value: '/tmp' }],
    securityContext: NON_ROOT,
    resources: scriptResources('128Mi'),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  });
  const layer = Chart.of(scope);
  const switchScript = useScript(layer, 'node-switch.sh', namespace);
  const volumes: Volume[] = [{ name: 'cni-net-d', hostPath: { path: '/etc/cni/net.d', type: 'Directory' } }, switchScript.volume];
  const switchContainer: Container = {
    name: 'switch',
    image: props.image,
    imagePullPolicy: 'IfNotPresent',
    command: switchScript.command,
    env: [
      { name: 'DESIRED', value: props.desired },
      { name: 'CALICO_CONF', value: props.calicoConfName ?? '20-calico.conflist' },
      { name: 'PRIORITY_NAME', value: priorityName },
      { name: 'CNI_DIR', value: '/host/etc/cni/net.d' },
      nodeEnv,
    ],
    securityContext: ROOT_NO_CAPABILITIES,
    resources: scriptResources('64Mi'),
    volumeMounts: [{ name: 'cni-net-d', mountPath: '/host/etc/cni/net.d' }, switchScript.mount],
  };

  const steps: Container[] = [];
  const tmpMount = { name: 'tmp', mountPath: '/tmp' };
  // Anything that disrupts the node (drain, restarts) first asks whether the switch changes it.
  const disruptive = !!(props.drain || props.restartRuntime);
  const drainScript = props.drain || props.releaseCordon ? useScript(layer, 'node-drain.sh', namespace) : undefined;
  const laneEnv: EnvVar[] = props.drainLanes ? [{ name: 'DRAIN_LANES', value: String(props.drainLanes) }] : [];
  const laneLeaseSeconds = (props.drain?.timeoutSeconds ?? 0) + LANE_MARGIN_SECONDS;
  // The rolling update starts no more drains than there are lanes, so a drain waits only for a
  // holder from elsewhere (a stuck drain of an earlier wave, a newcomer): at most until that
  // holder's Lease expires; then the kubelet runs the step again.
  const laneWaitSeconds = props.drain ? laneLeaseSeconds + 60 : 0;
  if (drainScript) volumes.push(drainScript.volume);
  const drainStep = (name: string, env: EnvVar[]): Container => {
    const c = kubectl(name, []);
    return { ...c, command: drainScript!.command, env: [...c.env!, ...env], volumeMounts: [...c.volumeMounts!, drainScript!.mount] };
  };
  if (calicoFirst) {
    // Calico's CNI plugin needs /var/lib/calico/nodename, written once calico-node runs there.
    steps.push(kubectl('wait-for-calico-node', ['wait', 'pod', '--namespace=kube-system', `--selector=${props.calicoNodeSelector ?? 'k8s-app=calico-node'}`,
      '--field-selector=spec.nodeName=$(NODE_NAME)', '--for=condition=Ready', `--timeout=${CALICO_READY_TIMEOUT_SECONDS}s`]));
  }
  if (disruptive) {
    // node-switch.sh in inspect mode: read-only (the folder is mounted read-only), so it is root
    // only to read files that may be root's alone.
    steps.push({
      ...switchContainer,
      name: 'inspect',
      env: [...switchContainer.env!, { name: 'VERDICT_FILE', value: VERDICT_FILE }],
      volumeMounts: [{ name: 'cni-net-d', mountPath: '/host/etc/cni/net.d', readOnly: true }, switchScript.mount, tmpMount],
    });
  }
  if (props.drain) {
    // Cordon (marked as ours) and drain only when the switch changes the node; kubectl drain
    // evicts through the Eviction API, retrying while a PodDisruptionBudget forbids it, and
    // fails with the blocking pod at the timeout.
    steps.push(drainStep('drain', [
      { name: 'PHASE', value: 'drain' }, { name: 'VERDICT_FILE', value: VERDICT_FILE }, { name: 'DRAIN_TIMEOUT', value: String(props.drain.timeoutSeconds) },
      ...laneEnv, { name: 'LANE_LEASE_SECONDS', value: String(laneLeaseSeconds) }, { name: 'LANE_WAIT_SECONDS', value: String(laneWaitSeconds) },
    ]));
  }
  steps.push(switchContainer);
  if (props.restartRuntime) {
    const restart = useScript(layer, 'restart-runtime.sh', namespace);
    volumes.push(restart.volume);
    steps.push({
      name: 'restart-runtime',
      image: props.image,
      imagePullPolicy: 'IfNotPresent',
      command: restart.command,
      volumeMounts: [restart.mount, tmpMount],
      env: [{ name: 'RUNTIME', value: props.restartRuntime }, { name: 'VERDICT_FILE', value: VERDICT_FILE }, nodeEnv],
      // systemctl in the host's namespaces (nsenter on PID 1): the one step that needs privilege.
      securityContext: { privileged: true, runAsUser: 0, runAsNonRoot: false },
      resources: scriptResources('64Mi'),
    });
  }
  if (props.drain?.restartDaemonSetPods) {
    if (!props.netToolsImage) throw new Error(`restartDaemonSetPods needs netToolsImage (node ${nodeLabel})`);
    // After the drain only DaemonSet and static pods are left; host-network ones need no restart.
    // Waiting until they are gone means their teardown (under Calico's network name) is over. A
    // pod stuck terminating (a finalizer) must not fail the switch and leave the node cordoned: its
    // IP then counts as live below, and the Weave cleanup removes its entry at weave-removed.
    steps.push({
      ...kubectl('restart-daemonset-pods', []),
      command: ['/bin/sh', '-c', `[ "$(cat ${VERDICT_FILE})" = converged ] && { echo "restart-daemonset-pods[$NODE_NAME]: the switch changed nothing: no restart"; exit 0; }; ` + 'kubectl delete pods --all-namespaces --field-selector="spec.nodeName=$NODE_NAME,spec.hostNetwork=false" --wait=true --timeout=300s || echo "restart-daemonset-pods[$NODE_NAME]: some pods are still terminating after 300s; their hostPort entries stay until weave-removed"'],
    });
    // The pods still on the node: their hostPort entries are live and must stay.
    steps.push({ ...kubectl('live-pod-ips', []), command: ['/bin/sh', '-c', 'kubectl get pods --all-namespaces --field-selector="spec.nodeName=$NODE_NAME" -o jsonpath=\'{range .items[*]}{.status.podIP}{"\\n"}{end}\' > /tmp/live-ips'] });
    const hostport = useScript(layer, 'hostport-cleanup.sh', namespace);
    volumes.push(hostport.volume);
    steps.push(hostportCleanupContainer(hostport, props.netToolsImage, [{ name: 'LIVE_IPS_FILE', value: '/tmp/live-ips' }, nodeEnv], [{ name: 'tmp', mountPath: '/tmp' }]));
  }
  if (drainScript) {
    steps.push(drainStep('uncordon', [
      { name: 'PHASE', value: 'uncordon' }, { name: 'WEAVE_TAINT', value: props.weaveTaint ?? 'remove' }, ...laneEnv,
      { name: 'NETWORK', value: props.desired === 'weave-first' ? 'weave' : 'calico' },
    ]));
  }

  if (props.drain?.restartDaemonSetPods) volumes.push(XTABLES_LOCK_VOLUME);
  if (usesApi) volumes.push({ name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('16Mi') } });

  return {
    spec: {
      // Host network: the pod must start even when the node's pod network is what is broken.
      hostNetwork: true,
      // Host PID only to reach systemd for the optional runtime restart.
      ...(props.restartRuntime ? { hostPid: true } : {}),
      // Every taint, including NoExecute: the node must be converged whatever is on it.
      tolerations: [{ operator: 'Exists' }],
      ...(usesApi ? { serviceAccountName: NODE_SWITCH_SERVICE_ACCOUNT, automountServiceAccountToken: true } : { automountServiceAccountToken: false }),
      enableServiceLinks: false,
      initContainers: steps.length > 1 ? steps.slice(0, -1) : undefined,
      containers: [steps[steps.length - 1]],
      volumes,
    },
    usesApi,
  };
}
