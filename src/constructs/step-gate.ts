/**
 * The gate of a step: a read-only Job that checks the step's preconditions before anything else
 * of it applies. Argo CD: a PreSync hook (with its RBAC, so they exist when it runs); Flux: layer
 * 00-gate, which every other layer's Kustomization depends on.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeClusterRole, KubeClusterRoleBinding, KubeConfigMap, KubeJob, KubeRole, KubeRoleBinding, KubeServiceAccount, type Container } from '../../imports/k8s';
import { GATE_WAVE_CONFIGMAP_PREFIX } from '../kube/names';
import type { GateChecks } from '../model/gate-checks';
import { contentName } from './content-name';
import { jobContent } from './job-content';
import { useScript } from './job-scripts';
import { jobSpec, kubectlContainer, tmpVolume } from './weave/weave-removal';

const NS = 'kube-system';
const ACCOUNT = 'cni-migrate-gate';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'gate' } as const;

export interface StepGateProps {
  readonly kubectlImage: string;
  /** What to check (model/gate-checks.ts). */
  readonly checks: GateChecks;
  /**
   * Label selector of the calico-node pods.
   * @default k8s-app=calico-node
   */
  readonly calicoSelector?: string;
  /** Argo CD: run as a PreSync hook. */
  readonly argoHook: boolean;
  /**
   * The step, named in the Job's name when it is not a hook, so that every step runs its gate
   * again (Flux re-applies a Job it finds Complete unchanged, and so never re-runs it).
   * @default - named after the checks only
   */
  readonly step?: string;
}

export class StepGate extends Construct {
  public readonly jobName: string;

  constructor(scope: Construct, id: string, props: StepGateProps) {
    super(scope, id);
    const containers: Container[] = [];
    const volumes: object[] = [tmpVolume()];
    // Under this construct, not the chart: with Argo CD they are PreSync hooks like the Job.
    const script = (name: string) => {
      const s = useScript(this, name, NS);
      volumes.push(s.volume);
      return s;
    };
    const env = [{ name: 'WORK_DIR', value: '/tmp' }, { name: 'HOME', value: '/tmp' }];
    if (props.checks.calicoReadyEverywhere) {
      containers.push({
        ...kubectlContainer('calico-ready', props.kubectlImage, script('gate-calico-ready.sh')),
        env: [...env, { name: 'NODES', value: '*' }, { name: 'SELECTOR', value: props.calicoSelector ?? 'k8s-app=calico-node' }, { name: 'WEAVE_FIRST_SETS', value: (props.checks.weaveFirstSets ?? []).join(' ') }],
      });
    }
    const capacity = props.checks.drainCapacity;
    if (capacity) {
      // The wave's names in a file, not an env var: a wave of thousands of nodes would pass the
      // kernel's limit on one environment string (MAX_ARG_STRLEN, 128 KiB).
      const text = `${capacity.waveNodes.join('\n')}\n`;
      const name = contentName(GATE_WAVE_CONFIGMAP_PREFIX, String(capacity.wave), text);
      new KubeConfigMap(this, 'WaveNodes', { metadata: { name, namespace: NS, labels: { ...LABELS } }, data: { nodes: text } });
      volumes.push({ name: 'wave-nodes', configMap: { name } });
      const c = kubectlContainer('drain-capacity', props.kubectlImage, script('gate-drain-capacity.sh'));
      containers.push({
        ...c,
        env: [...env, { name: 'WAVE_NODES_FILE', value: '/cni-migrate/wave/nodes' }, { name: 'LANES', value: String(capacity.concurrent) }],
        volumeMounts: [...c.volumeMounts!, { name: 'wave-nodes', mountPath: '/cni-migrate/wave', readOnly: true }],
      });
    }
    for (const [kind, network, cidr] of [['no-weave-pods', 'weave', props.checks.noPodsInWeaveCidr], ['no-calico-pods', 'calico', props.checks.noPodsInCalicoCidr]] as const) {
      if (!cidr) continue;
      containers.push({ ...kubectlContainer(kind, props.kubectlImage, script('gate-no-pods-in-cidr.sh')), env: [...env, { name: 'NETWORK', value: network }, { name: 'POD_CIDR', value: cidr }] });
    }
    if (containers.length === 0) throw new Error('a gate needs at least one check');
    new KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: ACCOUNT, namespace: NS, labels: { ...LABELS } } });
    // Read-only: the checks list pods (and nodes, to know them all).
    new KubeClusterRole(this, 'Role', { metadata: { name: ACCOUNT, labels: { ...LABELS } }, rules: [{ apiGroups: [''], resources: props.checks.calicoReadyEverywhere || capacity ? ['nodes', 'pods'] : ['pods'], verbs: ['list'] }] });
    if (props.checks.calicoReadyEverywhere) {
      // To tell a revert, the calico check reads the switch DaemonSets: get, in kube-system only.
      // Not narrowed to their names, so the role stays the same from wave to wave.
      const name = `${ACCOUNT}-sets`;
      new KubeRole(this, 'SetsRole', { metadata: { name, namespace: NS, labels: { ...LABELS } }, rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] }] });
      new KubeRoleBinding(this, 'SetsBinding', { metadata: { name, namespace: NS, labels: { ...LABELS } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: NS }] });
    }
    new KubeClusterRoleBinding(this, 'Binding', { metadata: { name: ACCOUNT, labels: { ...LABELS } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ACCOUNT }, subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: NS }] });
    const spec = jobSpec({ serviceAccountName: ACCOUNT, automountServiceAccountToken: true, containers, volumes }, 0);
    // An Argo CD hook is re-created on every sync (BeforeHookCreation), so it is named after what
    // it checks and steps that check the same thing share it. Flux applies the Job as an object:
    // one it finds Complete is Ready to its Job status reader (kustomize-controller PR #608) and is
    // never run again, so without the hook the step goes into the name, and each step checks anew.
    this.jobName = contentName('gate', containers.map((c) => c.name).join('-'), props.argoHook || !props.step ? jobContent(spec) : { step: props.step, spec: jobContent(spec) });
    new KubeJob(this, 'Job', { metadata: { name: this.jobName, namespace: NS, labels: { ...LABELS } }, spec: spec as never });
    if (props.argoHook) {
      // PreSync: nothing else of the step is applied unless the gate passes. Its ServiceAccount
      // and role are hooks too, so they exist before it runs (Argo CD orders hooks by kind).
      for (const c of this.node.findAll()) {
        if (!ApiObject.isApiObject(c)) continue;
        c.metadata.addAnnotation('argocd.argoproj.io/hook', 'PreSync');
        c.metadata.addAnnotation('argocd.argoproj.io/hook-delete-policy', 'BeforeHookCreation');
      }
    }
  }
}
