/**
 * What a reviewer needs to know about the current step: what applying it changes, what must hold
 * before and after, the next commit, and how to roll back. PLAN.md and step.json render this.
 */
import { capturedClusterCidrs, kubeProxyCidrField } from '../kube/control-plane-facts';
import type { ClusterCidrTargets } from '../model/cluster-cidr-targets';
import { gateCheckList } from '../model/gate-checks';
import type { ClusterCidrPhase, Step } from '../steps/steps';
import { commitMessage } from '../steps/transitions';
import type { MigrationPlan } from './migration-plan';
import { someOf } from '../util/name-list';

/** ipBlock rewrites listed one by one in PLAN.md; the rest are counted (step.json has them all). */
const MAX_REWRITES_LISTED = 40;

/** Up to this many nodes, a wave is named node by node wherever the report mentions it. */
export const NAMED_WAVE_MAX_NODES = 10;

export interface StepReport {
  readonly step: string;
  readonly index: number;
  readonly total: number;
  readonly previous?: string;
  readonly next?: string;
  /** What applying this step changes in the cluster, compared with the previous step. */
  readonly changes: readonly string[];
  /** What must hold before the step applies, and what shows it is done. */
  readonly checks: { readonly before: readonly string[]; readonly after: readonly string[] };
  /** Parts of this step that this version of cni-migrate does not generate yet. */
  readonly notYetGenerated: readonly string[];
  readonly nextCommit?: { readonly command: string; readonly message: string };
  readonly rollback: { readonly command: string; readonly effect: readonly string[] };
  /** kube-controller-manager / kube-proxy cluster CIDR at this step ("unchanged" before cluster-cidr). */
  readonly clusterCIDR: string;
}

/** What the cluster-CIDR Jobs of a step do, or what the operator must do by hand. */
function controlPlaneChanges(plan: MigrationPlan, t: ClusterCidrTargets, cidr: string, phase: ClusterCidrPhase): string[] {
  const out: string[] = [];
  // kube-proxy without a cluster CIDR tells no traffic apart (a no-op local detector): setting one
  // turns that on, which both networks need, and is worth a reviewer's notice.
  const hadNone = phase === 'supernet' && !capturedClusterCidrs(plan.snapshot).some((c) => c.file.startsWith('control-plane/kube-proxy') && c.value !== '');
  const detection = hadNone ? ' (it had none, so kube-proxy starts telling pod traffic from other traffic by it: Service traffic from outside it is masqueraded; a revert of this step removes it again)' : '';
  if (t.kubeProxy.mode === 'configmap') out.push(`kube-proxy: ${kubeProxyCidrField(t.kubeProxy.texts.original)} in ConfigMap kube-system/kube-proxy (config.conf) becomes ${cidr}${detection}, and kube-proxy is restarted (a ConfigMap change alone does not restart it)`);
  else if (t.kubeProxy.mode === 'flag') out.push(`kube-proxy: --cluster-cidr on DaemonSet kube-system/kube-proxy becomes ${cidr}${detection} (which rolls it)`);
  else out.push(`kube-proxy: not changed: ${t.kubeProxy.why}`);
  if (t.kubeadmConfig) out.push(`kubeadm-config: ClusterConfiguration networking.podSubnet (and controllerManager extraArgs) becomes ${cidr}, so \`kubeadm upgrade\` does not put the old value back`);
  if (t.controllerManagers.length > 0) {
    // Off at this phase and not already at the one before (finalized follows the supernet phase).
    const before: ClusterCidrPhase = phase === 'final' ? 'supernet' : 'original';
    const off = t.controllerManagers.some((n) => n.allocate[phase] === 'false' && n.allocate[before] !== 'false');
    out.push(`kube-controller-manager: on ${t.controllerManagers.map((n) => n.node).join(', ')}, a Job edits --cluster-cidr to ${cidr}${off ? ' and --allocate-node-cidrs to false (a node that joins from now on gets no podCIDR, which neither Weave nor Calico reads)' : ''} in /etc/kubernetes/manifests/kube-controller-manager.yaml (every other byte kept, atomic rename) and waits for the new pod to be Ready`);
  } else {
    out.push(`kube-controller-manager: not changed: ${t.controllerManagerSkipped}`);
  }
  if (plan.migration.spec.controlPlane.mode === 'managed') {
    out.push(`managed control plane, by hand: the provider owns kube-controller-manager (no change is needed: Calico IPAM does not use node podCIDRs). kube-proxy is a provider add-on: on EKS edit the kube-proxy-config ConfigMap (or the add-on configuration) so clusterCIDR is ${cidr}; on AKS and GKE the provider manages kube-proxy: set its cluster CIDR through the provider's kube-proxy configuration where it offers one, and otherwise expect traffic from pods outside kube-proxy's cluster CIDR to Services to be SNATed (source IP lost) until the migration ends`);
  }
  return out;
}

export function stepReport(plan: MigrationPlan): StepReport {
  const { step, steps, network: net, snapshot, model } = plan;
  const prev: Step | undefined = steps[step.index - 1];
  const next: Step | undefined = steps[step.index + 1];
  const policies = snapshot.networkPolicies.length;
  const weaveObjs = model.weave.owned.length;
  const nodes = snapshot.nodes.length;
  // A wave's nodes by name while the list is short; past that, PLAN.md lists the wave being
  // switched once, in full, in its own section (and dist/waves.md lists every wave).
  const wave = (w: number, where = '') => (plan.waves[w - 1].length <= NAMED_WAVE_MAX_NODES ? plan.waves[w - 1].join(', ') : `the ${plan.waves[w - 1].length} nodes of wave ${w}${where}`);
  const changes: string[] = [];
  const before: string[] = [];
  const after: string[] = [];
  const pending: string[] = [];
  const rollback: string[] = [];

  switch (step.kind) {
    case 'adopt':
      changes.push(`the GitOps engine takes ownership of Weave Net's objects (${weaveObjs}) and the cluster's NetworkPolicies (${policies}), exactly as captured in ${snapshot.dir}/; nothing in the cluster changes`);
      before.push(`${snapshot.dir}/ is a fresh snapshot: \`cni-migrate snapshot\` shows no diff`);
      after.push('the engine reports every adopted object in sync, with no diff against the live object');
      rollback.push('Argo CD refuses to prune every resource of an app (allowEmpty is off) and the Flux Kustomizations orphan their objects when deleted, so reverting this first commit leaves the cluster as it is; remove the bootstrap objects in gitops/ to stop managing it');
      break;
    case 'calico':
      changes.push(`Calico ${[plan.migration.spec.calico.version, `(${plan.migration.spec.calico.manifest ? `from ${plan.migration.spec.calico.manifest}` : 'built-in objects'})`].filter(Boolean).join(' ')} runs beside Weave on every node, its conflist named 20-calico.conflist so Weave's 10-weave.conflist stays first; its IP pool is ${net.calico} (${plan.migration.spec.calico.ipipMode} IP-in-IP), node addresses by ${plan.migration.spec.calico.ipAutodetectionMethod}, iptables backend ${model.calico.coexistence.iptablesBackend}, veth MTU ${plan.migration.spec.calico.mtu || 'auto'}`);
      changes.push(`each of the ${nodes} nodes gets the pod of its wave\'s DaemonSet (kube-system/cni-migrate-switch-wave-N…), which keeps Weave first (removes any leftover 05-calico.conflist) and then only holds its place, Ready`);
      before.push('the nodes allow IP protocol 4 (IP-in-IP) and TCP 179 (BGP) between them');
      before.push(`no IP pool exists yet, or the existing one is ${net.calico} (calico-node creates its pool once and ignores CALICO_IPV4POOL_CIDR afterwards)`);
      after.push('calico-node is Ready on every node and every switch DaemonSet\'s pod is Ready (its steps are done)');
      rollback.push('Calico\'s objects are pruned but for its CRDs, which hold the IP pools and IPAM blocks and which no engine prunes (README, "Taking Calico out again"); pods are still all on Weave, so nothing loses its network');
      break;
    case 'cluster-cidr':
      changes.push(...controlPlaneChanges(plan, model.clusterCidr.targets!, model.clusterCidr.value!, model.clusterCidr.phase));
      before.push('calico-node is Ready on every node');
      before.push(`${snapshot.dir}/control-plane is fresh: the Jobs refuse to overwrite a kube-proxy or kubeadm-config that changed since the snapshot`);
      after.push(`the cluster-CIDR Jobs in 20-control-plane have completed: kube-proxy has rolled out with cluster CIDR ${net.supernet}`);
      rollback.push(`the previous step's Jobs set kube-proxy, kubeadm-config and kube-controller-manager back to their values as captured${net.disableAllocationAtSupernet ? ' (node CIDR allocation on again)' : ''}; no pod has a Calico IP yet`);
      break;
    case 'policies-suspended':
      changes.push(`the ${policies} NetworkPolicies are pruned (traffic between Weave and Calico is NATed, so neither can enforce them); their backup is ${snapshot.dir}/networkpolicies/ in git`);
      changes.push(model.policies.freeze
        ? 'a ValidatingAdmissionPolicy freezes NetworkPolicies until policies-restored: creating or changing one is denied with a message that says why (this tool\'s service accounts, and a policy labelled cni-migrate.io/allow-during-migration=true, pass); the revert removes it'
        : 'NetworkPolicies are not frozen (the control plane is older than Kubernetes 1.30, or its version is unknown): ask teams not to create any until policies-restored');
      before.push('every NetworkPolicy is owned by this migration alone (none is also applied by another Argo CD app, Flux or Helm, which would bring it back)');
      after.push('no NetworkPolicy is left in the cluster');
      rollback.push('the policies come back unchanged; Weave enforces them again');
      break;
    case 'nodes': {
      const n = plan.migration.spec.nodes;
      changes.push(`wave ${step.wave} (${wave(step.wave!, `, listed in full under "Wave ${step.wave}" below`)}) switches to Calico: on each node, once calico-node is Ready there, a copy of Calico's conflist, 05-calico.conflist, is renamed into place and sorts first, so new pods there get Calico IPs from ${net.calico}`);
      if (n.drain) changes.push(`each node of the wave is cordoned and drained through the Eviction API before its switch (PodDisruptionBudgets are honoured; the drain fails after ${n.drainTimeoutSeconds} s, leaves the node cordoned and is retried by the kubelet, with cni-migrate status naming the step and its log), so no pod keeps a Weave IP there, then it is uncordoned; evicted pods are rescheduled, with Calico IPs on switched nodes and Weave IPs on the others until their wave`);
      if (n.drain) {
        const lanes = plan.model.nodes.find((x) => x.wave === step.wave)!.drainLanes!;
        changes.push(`at most ${lanes} node(s) of the wave are cordoned for draining at once (spec.nodes.maxConcurrentDrains: ${n.maxConcurrentDrains}): the wave's DaemonSet replaces ${lanes} pod(s) at a time, and each drain holds one of the Leases kube-system/cni-migrate-drain-lane-0..${lanes - 1} (shared with every other drain); the others wait for a lane`);
      }
      else changes.push('pods already running on the wave keep their Weave IPs until they are restarted (spec.nodes.drain is off)');
      if (n.restartDaemonSetPods) changes.push('after the switch, the DaemonSet pods of each node that are not on the host network are deleted, so they come back on Calico');
      if (n.restartKubelet) changes.push('after the switch, each node\'s container runtime and kubelet are restarted (spec.nodes.restartKubelet): only for this, the wave\'s pod runs with hostPID and one privileged container, which enters the host\'s namespaces to run systemctl');
      before.push(`calico-node is Ready on ${wave(step.wave!)} (each node's pod also waits for it)`);
      if (n.drain) before.push('the rest of the cluster has room for the pods of the wave, and no PodDisruptionBudget of theirs is at zero allowed disruptions');
      after.push(`the pods of wave ${step.wave}'s DaemonSet are Ready on ${wave(step.wave!)} (a rolling update: only this wave's nodes run the switch)${n.drain ? ' and the nodes are schedulable again' : ''}`);
      rollback.push(`wave ${step.wave}'s DaemonSet goes back to Weave first (no drain; every pod of it replaced at once): new pods there get Weave IPs again; pods already started on Calico keep their Calico IPs until they are restarted, and keep working (calico-node still runs everywhere)`);
      break;
    }
    case 'weave-removed':
      changes.push(`gate (${plan.migration.spec.gitops.engine === 'argocd' ? 'an Argo CD PreSync hook' : 'layer 00-gate, which every other layer depends on'}): a Job lists the pods that still have an IP in ${net.weave} (Weave's own, host-network and finished pods aside) and fails, naming them, if there is any; nothing else of the step applies until it passes`);
      changes.push('Weave\'s objects are pruned; a Job deletes the weave-net DaemonSet at once (so the cleanup need not wait for the prune) and the weave-net ConfigMap Weave created at runtime');
      changes.push('on every node, once its weave-net pod is gone, the pod of the DaemonSet kube-system/cni-migrate-weave-cleanup removes 10-weave.conflist, Weave\'s plugin binaries in /opt/cni/bin, /var/lib/weave, the weave, datapath, vxlan-6784 and vethwe-* links, the WEAVE* iptables chains and the rules that use them (legacy and nft), and the weave ipsets; its log lists what it removed');
      changes.push('calico-node rolls to 10-calico.conflist (install-cni deletes 20-calico.conflist); on every node the 05-calico.conflist copy is refreshed from it and stays first; one DaemonSet, kube-system/cni-migrate-switch-all, does it on every Linux node (newcomers too) in place of the waves\' (a revert brings those back; their pods inspect first, so a converged node is not drained again)');
      before.push(`no pod other than Weave's own has an IP in ${net.weave} (the gate checks; \`cni-migrate status\` shows the same list)`);
      after.push('no weave-net pod is left; every pod of the cleanup DaemonSet is Ready (its cleanup done); every node has Calico first');
      rollback.push('Weave\'s objects come back from the adopted copies, Weave starts again on every node (re-creating its conflist, binaries and chains), and nodes keep Calico first (05-calico.conflist sorts before 10-weave.conflist)');
      rollback.push('not restored once the cleanup ran: Weave\'s IPAM data in /var/lib/weave (Weave starts with a fresh allocation; no pod uses it any more) and its peer list in the weave-net ConfigMap; `cni-migrate guard` refuses this revert unless run with --allow-weave-revert');
      break;
    case 'policies-restored':
      changes.push(`the ${policies} NetworkPolicies come back${plan.migration.spec.policies.rewriteIPBlocks ? `, with ipBlock CIDRs rewritten (${Object.entries(plan.migration.spec.policies.rewrite).map(([a, b]) => `${a} → ${b}`).join(', ')})` : ' exactly as backed up'}; Calico enforces them; the freeze on NetworkPolicies is lifted`);
      const rw = model.policies.asRestored.rewrites;
      for (const r of rw.slice(0, MAX_REWRITES_LISTED)) changes.push(`ipBlock rewrite in ${r.policy}, ${r.field}: \`${r.before}\` → \`${r.after}\``);
      if (rw.length > MAX_REWRITES_LISTED) changes.push(`and ${rw.length - MAX_REWRITES_LISTED} more ipBlock rewrites (every one is in step.json, ipBlockRewrites)`);
      if (plan.migration.spec.policies.acknowledge.length) changes.push(`restored as backed up on purpose (spec.policies.acknowledge): ${plan.migration.spec.policies.acknowledge.join(', ')}`);
      before.push('every pod is on Calico');
      after.push('every backed-up NetworkPolicy is present and unchanged (apart from configured rewrites)');
      rollback.push('the policies are pruned again');
      break;
    case 'finalized':
      changes.push(`the cluster CIDR becomes ${net.finalClusterCidr}: ${net.finalReason}`);
      changes.push(...controlPlaneChanges(plan, model.clusterCidr.targets!, model.clusterCidr.value!, model.clusterCidr.phase));
      changes.push('every node drops the 05-calico.conflist copy once Calico\'s own 10-calico.conflist is valid and first without it, so later Calico upgrades take effect');
      before.push(`every pod is on Calico (${net.calico})`);
      after.push(`the cluster-CIDR Jobs in 20-control-plane have completed with cluster CIDR ${net.finalClusterCidr}`);
      rollback.push(`the cluster CIDR goes back to the supernet ${net.supernet}${net.disableAllocationAtFinal && !net.disableAllocationAtSupernet ? ', and node CIDR allocation is turned back on' : ''}`);
      break;
  }

  const newcomer = model.newcomers.convergence;
  if (newcomer) {
    const to = newcomer.desired === 'weave-first' ? 'Weave first, as every node is before its wave' : newcomer.desired === 'calico-native' ? 'Calico\'s own conflist first' : `Calico first${newcomer.drain ? ', drained as a wave\'s node is' : ''}`;
    changes.push(`a Linux node that is not in ${snapshot.dir}/nodes.yaml (one that joined since the snapshot) is converged by the DaemonSet kube-system/${model.newcomers.daemonSet}: ${to}; one object for every such node, whatever their number`);
  }
  if (!model.weave.present) changes.push(`Weave's leftovers are removed from such nodes too (the DaemonSet kube-system/cni-migrate-weave-cleanup cleans every node)`);
  const rec = snapshot.inventoryReconciled;
  if (rec) {
    const parts = [rec.removed.length ? `removed ${rec.removed.length} node(s) gone from the cluster (${someOf(rec.removed, NAMED_WAVE_MAX_NODES)})` : '', rec.added.length ? `added ${someOf(rec.added, NAMED_WAVE_MAX_NODES)}` : '', rec.leftToNewcomers.length ? `left ${someOf(rec.leftToNewcomers, NAMED_WAVE_MAX_NODES)} to the newcomers' DaemonSet` : ''].filter(Boolean);
    changes.push(`inventory commit at ${rec.atStep} (\`cni-migrate snapshot --nodes-only\`): ${snapshot.dir}/nodes.yaml was reconciled with the live cluster: ${parts.join('; ') || 'no change'}; removed nodes leave their wave's DaemonSet (which had no pod on them: they held nothing back)`);
  }

  after.push(...probeChecks(model, plan.migration.spec.probe.maxLossPercent));
  after.push('`npm run --silent cni-migrate -- status` exits 0: the cluster has converged to this step');
  if (model.gate) {
    const what = gateCheckList(model.gate).map((c) => c.text).join(' and ');
    const how = plan.migration.spec.gitops.engine === 'argocd' ? 'a PreSync hook Job' : 'a Job in layer 00-gate, on which every other layer depends';
    before.unshift(`checked in the cluster by ${how}, which stops the step if it fails: ${what}`);
  }
  const clusterCIDR = model.clusterCidr.value ?? 'unchanged';
  return {
    step: step.name,
    index: step.index,
    total: steps.length,
    previous: prev?.name,
    next: next?.name,
    changes,
    checks: { before, after },
    notYetGenerated: pending,
    nextCommit: next ? { command: 'npm run --silent cni-migrate -- advance', message: commitMessage(plan, next, 'advance') } : undefined,
    rollback: {
      command: 'git revert <this commit>',
      effect: prev ? [`the engine applies step ${prev.name} again`, ...rollback] : rollback,
    },
    clusterCIDR,
  };
}

/** The paths the connectivity probe checks at a step, and the tunnels of the next wave. */
function probeChecks(model: MigrationPlan['model'], maxLossPercent: number): string[] {
  const out: string[] = [];
  if (model.probe.length > 0) {
    const nets = model.probe.map((p) => `${p.name} (server on ${p.node})`).join(' and ');
    const names = model.probe.map((p) => p.name);
    out.push(`the probe Jobs in 60-probe have completed: from a pod and from the host network of each network's node, to ${nets}: DNS, pod → Service (through kube-proxy) and pod → pod${names.length > 1 ? ', Weave → Calico and Calico → Weave' : ''}`);
    out.push(`the loss probers (one per network) have requested both probe Services every second since the step applied, and at most ${maxLossPercent}% of their requests failed (\`status\` shows the count)`);
  }
  if (model.tunnelCheck.length > 0) {
    out.push(`IP-in-IP works from each node of the next wave (${model.tunnelCheck.length <= 5 ? model.tunnelCheck.join(', ') : `${model.tunnelCheck.length} nodes`}) to its peers: every pod of the DaemonSet kube-system/cni-migrate-tunnel-check is Ready (a firewall dropping IP protocol 4 keeps it failing, naming the pairs)`);
  }
  return out;
}
