/**
 * The cluster CIDR of kube-proxy, kubeadm-config and kube-controller-manager at one phase:
 * an API Job (kube-proxy's ConfigMap or flag, kubeadm's podSubnet, a kube-proxy restart) and one
 * Job per control-plane node (the static pod manifest). Each Job converges to the phase from any
 * phase, so the previous step's Jobs reverse the next step's.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeClusterRole, KubeClusterRoleBinding, KubeConfigMap, KubeJob, Quantity, type Container, type PolicyRule } from '../../../imports/k8s';
import type { ClusterCidrPhase } from '../../steps/steps';
import { contentName } from '../content-name';
import { NON_ROOT, ROOT_NO_CAPABILITIES, scriptResources } from '../job-containers';
import { roleBoundAccount } from '../job-account';
import { jobContent } from '../job-content';
import { useScript } from '../job-scripts';
import { PHASES, textDigest, type ClusterCidrTargets } from '../../model/cluster-cidr-targets';

const NS = 'kube-system';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'cluster-cidr' } as const;
const API_ACCOUNT = 'cni-migrate-cluster-cidr';
const KCM_ACCOUNT = 'cni-migrate-kcm-cluster-cidr';

export interface ClusterCidrProps {
  readonly targets: ClusterCidrTargets;
  /** The phase this step converges to. */
  readonly phase: ClusterCidrPhase;
  /** Image with kubectl, jq and a POSIX shell (registry.k8s.io/kubectl has them since 1.28). */
  readonly kubectlImage: string;
  /**
   * Nodes in the cluster, to size the wait for kube-proxy's rollout.
   * @default 0 (the minimum wait, 600 s)
   */
  readonly nodeCount?: number;
}

/**
 * Seconds to wait for kube-proxy's restart to roll out. Its DaemonSet replaces one pod at a time
 * (kubeadm's kube-proxy DaemonSet is RollingUpdate with the default maxUnavailable of 1; see
 * kubernetes/kubernetes cmd/kubeadm/app/phases/addons/proxy/manifests.go), and each replacement
 * takes seconds, so 5,000 nodes take hours, not the 10 minutes that suit a small cluster.
 */
export function kubeProxyRolloutSeconds(nodeCount: number): number {
  return Math.max(600, 10 * nodeCount);
}

export class ClusterCidr extends Construct {
  /** Names of the Jobs, for PLAN.md and tests. */
  public readonly jobNames: string[] = [];

  constructor(scope: Construct, id: string, props: ClusterCidrProps) {
    super(scope, id);
    const { targets, phase } = props;
    const files: Record<string, string> = {};
    const kp = targets.kubeProxy;
    files['kube-proxy.mode'] = kp.mode;
    if (kp.mode === 'configmap') {
      addTexts(files, 'kube-proxy', kp.texts[phase], PHASES.map((p) => kp.texts[p]));
      files['kube-proxy.original-hash'] = textDigest(kp.texts.original);
    }
    if (kp.mode === 'flag') {
      addTexts(files, 'kube-proxy', JSON.stringify(kp.arrays[phase]), PHASES.map((p) => JSON.stringify(kp.arrays[p])));
      files['kube-proxy.field'] = kp.field;
    }
    if (kp.mode !== 'none') files['kube-proxy.hash'] = textDigest(files['kube-proxy.target']);
    if (targets.kubeadmConfig) addTexts(files, 'kubeadm', targets.kubeadmConfig[phase], PHASES.map((p) => targets.kubeadmConfig![p]));

    if (kp.mode !== 'none' || targets.kubeadmConfig) this.apiJob(props, files);
    if (targets.controllerManagers.length > 0) this.kcmJobs(props);
  }

  private apiJob(props: ClusterCidrProps, files: Record<string, string>): void {
    const cmName = contentName('cni-migrate-cidr', props.phase, files);
    new KubeConfigMap(this, 'Targets', { metadata: { name: cmName, namespace: NS, labels: { ...LABELS } }, data: files });
    const rules: PolicyRule[] = [];
    const configMaps = [props.targets.kubeProxy.mode === 'configmap' ? 'kube-proxy' : undefined, props.targets.kubeadmConfig ? 'kubeadm-config' : undefined].filter((x): x is string => !!x);
    if (configMaps.length) rules.push({ apiGroups: [''], resources: ['configmaps'], resourceNames: configMaps, verbs: ['get', 'patch'] });
    if (props.targets.kubeProxy.mode !== 'none') {
      // get/patch to change and restart it; list/watch (by name) for `kubectl rollout status`.
      rules.push({ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['kube-proxy'], verbs: ['get', 'list', 'patch', 'watch'] });
    }
    this.account(API_ACCOUNT, rules);
    const rollout = kubeProxyRolloutSeconds(props.nodeCount ?? 0);
    const script = useScript(Chart.of(this), 'cluster-cidr-api.sh', NS);
    const container: Container = {
      name: 'cluster-cidr',
      image: props.kubectlImage,
      imagePullPolicy: 'IfNotPresent',
      command: script.command,
      env: [{ name: 'TARGETS', value: '/targets' }, { name: 'ROLLOUT_SECONDS', value: String(rollout) }, { name: 'WORK_DIR', value: '/tmp' }, { name: 'HOME', value: '/tmp' }],
      securityContext: NON_ROOT,
      resources: scriptResources('128Mi'),
      volumeMounts: [{ name: 'targets', mountPath: '/targets', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }, script.mount],
    };
    this.job('api', `cluster-cidr-${props.phase}`, {
      serviceAccountName: API_ACCOUNT,
      automountServiceAccountToken: true,
      containers: [container],
      volumes: [{ name: 'targets', configMap: { name: cmName } }, { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('16Mi') } }, script.volume],
    }, 600 + rollout);
  }

  private kcmJobs(props: ClusterCidrProps): void {
    const nodes = props.targets.controllerManagers;
    this.account(KCM_ACCOUNT, [
      { apiGroups: [''], resources: ['pods'], resourceNames: nodes.map((n) => `kube-controller-manager-${n.node}`), verbs: ['get'] },
      // The leader-election Lease: renewed after the restart means a working leader again.
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['kube-controller-manager'], verbs: ['get'] },
    ]);
    if (nodes.some((n) => n.allocate[props.phase] === 'true' && n.cidr[props.phase] !== '')) {
      // kcm-cluster-cidr.sh reads every node's podCIDRs before it changes --cluster-cidr with
      // allocation on (one out of range crashes the range allocator): list nodes, nothing else.
      const name = `${KCM_ACCOUNT}-nodes`;
      new KubeClusterRole(this, 'KcmNodesRole', { metadata: { name, labels: { ...LABELS } }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] });
      new KubeClusterRoleBinding(this, 'KcmNodesBinding', {
        metadata: { name, labels: { ...LABELS } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name: KCM_ACCOUNT, namespace: NS }],
      });
    }
    const script = useScript(Chart.of(this), 'kcm-cluster-cidr.sh', NS);
    nodes.forEach((n, i) => {
      // One node at a time: each edit waits until the previous node's controller-manager is
      // healthy with its new flags, so a value it cannot run with stops at the first node.
      const after = i > 0 ? [{ name: 'AFTER_NODE', value: nodes[i - 1].node }, { name: 'AFTER_CIDR', value: nodes[i - 1].cidr[props.phase] }] : [];
      const container: Container = {
        name: 'kcm-cluster-cidr',
        image: props.kubectlImage,
        imagePullPolicy: 'IfNotPresent',
        command: script.command,
        env: [
          { name: 'CLUSTER_CIDR', value: n.cidr[props.phase] },
          { name: 'ALLOCATE', value: n.allocate[props.phase] },
          { name: 'MANIFEST_DIR', value: '/host/etc/kubernetes/manifests' },
          { name: 'WORK_DIR', value: '/work' },
          { name: 'NODE_NAME', value: n.node },
          ...after,
          { name: 'HOME', value: '/work' },
        ],
        securityContext: ROOT_NO_CAPABILITIES,
        resources: scriptResources('128Mi'),
        volumeMounts: [{ name: 'manifests', mountPath: '/host/etc/kubernetes/manifests' }, { name: 'work', mountPath: '/work' }, script.mount],
      };
      this.job(n.node, `kcm-${props.phase}-${n.node}`, {
        nodeName: n.node,
        // Host network: the control plane must be reachable whatever state the pod network is in.
        hostNetwork: true,
        tolerations: [{ operator: 'Exists' }],
        serviceAccountName: KCM_ACCOUNT,
        automountServiceAccountToken: true,
        containers: [container],
        // The one host path this Job changes.
        volumes: [{ name: 'manifests', hostPath: { path: '/etc/kubernetes/manifests', type: 'Directory' } }, { name: 'work', emptyDir: { sizeLimit: Quantity.fromString('16Mi') } }, script.volume],
      // Each node waits for the ones before it (up to 300 s for the pod and 60 s of stability each).
      }, 1200 + 600 * i);
    });
  }

  private account(name: string, rules: PolicyRule[]): void {
    roleBoundAccount(this, `${name}-`, name, NS, rules, { ...LABELS });
  }

  private job(id: string, namePart: string, pod: Record<string, unknown> & { containers: Container[] }, deadlineSeconds = 1200): void {
    const spec = {
      backoffLimit: 4,
      activeDeadlineSeconds: deadlineSeconds,
      template: { metadata: { labels: { ...LABELS } }, spec: { restartPolicy: 'Never', enableServiceLinks: false, ...pod } },
    };
    const name = contentName('cidr', namePart.replace(/^cluster-cidr-/, ''), jobContent(spec));
    this.jobNames.push(name);
    new KubeJob(this, `job-${id}`, { metadata: { name, namespace: NS, labels: { ...LABELS } }, spec: spec as never });
  }
}

/** target + the deduplicated accepted values as NAME.target / NAME.accept.N. */
function addTexts(files: Record<string, string>, name: string, target: string, accepted: readonly string[]): void {
  files[`${name}.target`] = target;
  [...new Set(accepted)].forEach((t, i) => (files[`${name}.accept.${i}`] = t));
}
