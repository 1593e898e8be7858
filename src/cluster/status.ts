/**
 * cni-migrate status: the live cluster against the desired state of the current step. Lists run
 * concurrently and pods are counted page by page, so a big cluster is never held in memory whole.
 * `converged` is true only when every node and every cluster-wide check matches the step.
 */
import type { MigrationPlan } from '../plan/migration-plan';
import { gateCheckList } from '../model/gate-checks';
import type { ApiClient } from './api-client';
import { containerFlags, kubeProxyConfigClusterCidr } from '../kube/control-plane-facts';
import { LOSS_PROBER_COMPONENT, NODE_SET_LABEL, POD_SPEC_LABEL, PROBE_NAMESPACE } from '../kube/names';
import { collectLossCounts, type LossCount } from './loss-counts';
import { gitopsBaseName, retryJobCommands } from '../gitops/recovery';
import { someOf } from '../util/name-list';

/** A cluster-wide Job the step expects, as synthesized. */
export interface ExpectedJob {
  readonly name: string;
  /** @default kube-system */
  readonly namespace?: string;
  /**
   * The layer (dist/ folder) it is in: with Flux, the Kustomization that re-creates it.
   * @default 40-nodes
   */
  readonly layer?: string;
}

/** A DaemonSet of ours that converges nodes (node-switch-set.ts), as synthesized. */
export interface ExpectedSet {
  readonly name: string;
  /** Its pods' cni-migrate.io/pod-spec label at this step. */
  readonly podSpec: string;
  /**
   * The nodes it selects by name.
   * @default - every node (or every node but `except`)
   */
  readonly only?: readonly string[];
  /**
   * The nodes it leaves out by name.
   * @default - none
   */
  readonly except?: readonly string[];
}

/** What a set's pod on a node says about the node's convergence. */
export type SwitchPodState = 'done' | 'running' | 'outdated' | 'failing' | 'missing';

export interface NodeStatus {
  readonly name: string;
  readonly wave: number;
  /** What the step wants new pods on the node to get. */
  readonly desired: 'weave' | 'calico';
  readonly podsOnWeave: number;
  readonly podsOnCalico: number;
  readonly podsOnHost: number;
  /** undefined: not expected at this step. */
  readonly calicoNodeReady?: boolean;
  readonly weaveNetReady?: boolean;
  /**
   * Its DaemonSets' pods there, the worst of: done (Ready at this step's spec), running (a step
   * still running), outdated (the rolling update has not reached it), failing (a step failed and
   * the kubelet retries it), missing (no pod); `-` when none selects it at this step.
   */
  readonly switch: SwitchPodState | '-';
  readonly drained: boolean;
  readonly problems: readonly string[];
}

export interface StatusReport {
  readonly step: string;
  readonly converged: boolean;
  /** The step's gate checks (model/gate-checks.ts), each as it stands in the live cluster now. */
  readonly gate: readonly { readonly check: string; readonly holds: boolean | null }[];
  readonly nodes: readonly NodeStatus[];
  readonly cluster: {
    readonly networkPolicies: { readonly present: number; readonly expected: number; readonly missing: readonly string[]; readonly unexpected: readonly string[] };
    readonly kubeProxyClusterCIDR?: { readonly live?: string; readonly expected: string };
    readonly controllerManagerClusterCIDR: readonly { readonly node: string; readonly live?: string; readonly expected: string }[];
    readonly podsOnWeave: number;
    readonly podsOnCalico: number;
    /**
     * Linux nodes of the cluster that cluster/nodes.yaml does not list (joined since the
     * snapshot): no Job of theirs; the newcomers' DaemonSet converges them (from calico on).
     */
    readonly nodesNotInInventory: readonly { readonly name: string; readonly podsOnWeave: number }[];
    /** Nodes of cluster/nodes.yaml that the cluster no longer has (removed, replaced). */
    readonly inventoryNodesGone: readonly string[];
    readonly problems: readonly string[];
  };
  /** What each loss prober counted since the step applied (empty when the probe is off). */
  readonly loss: readonly LossCount[];
  readonly seconds: number;
}

interface NodeCounts {
  weave: number;
  calico: number;
  host: number;
  calicoReady?: boolean;
  weaveReady?: boolean;
}

/** A pod of one of our sets on a node: its spec label, and how far its steps are. */
interface SetPod {
  readonly name: string;
  readonly podSpec?: string;
  readonly state: 'done' | 'running' | 'failing';
  /** The step it is at (and why it fails). */
  readonly detail?: string;
}

function setPodOf(p: any, ready: (p: any) => boolean): SetPod {
  const base = { name: p.metadata.name as string, podSpec: p.metadata.labels?.[POD_SPEC_LABEL] as string | undefined };
  if (ready(p)) return { ...base, state: 'done' };
  for (const cs of (p.status?.initContainerStatuses ?? []) as any[]) {
    if (cs.state?.terminated?.exitCode === 0) continue;
    const lastExit = cs.lastState?.terminated?.exitCode;
    const failed = (cs.restartCount ?? 0) > 0 || cs.state?.waiting?.reason === 'CrashLoopBackOff' || (cs.state?.terminated && cs.state.terminated.exitCode !== 0);
    if (failed) return { ...base, state: 'failing', detail: `step ${cs.name} failed${lastExit !== undefined ? ` (exit ${lastExit})` : ''}, ${cs.restartCount ?? 0} retries so far: kubectl logs --namespace=kube-system ${base.name} --container=${cs.name}` };
    return { ...base, state: 'running', detail: `at step ${cs.name}` };
  }
  return { ...base, state: 'running', detail: p.status?.phase === 'Pending' ? 'pending' : undefined };
}

const SWITCH_ORDER: readonly SwitchPodState[] = ['done', 'running', 'outdated', 'failing', 'missing'];

export async function collectStatus(api: ApiClient, plan: MigrationPlan, expected: { readonly jobs: readonly ExpectedJob[]; readonly sets: readonly ExpectedSet[] }, calicoSelector = 'k8s-app=calico-node'): Promise<StatusReport> {
  const t0 = Date.now();
  const { model, network: net } = plan;
  const state = model.state;
  const weave = net.weave;
  const calico = net.calico;
  const counts = new Map<string, NodeCounts>();
  const at = (n: string) => {
    let c = counts.get(n);
    if (!c) counts.set(n, (c = { weave: 0, calico: 0, host: 0 }));
    return c;
  };
  const [calicoKey, calicoValue] = calicoSelector.split(',')[0].split('=');
  const ready = (p: any) => (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

  const nodesP = api.list<any>('/api/v1/nodes', 'nodes');
  // Pods of our sets, by `<DaemonSet>/<node>` (their controller's ownerReference).
  const setPods = new Map<string, SetPod>();
  const podsP = api.eachPage<any>('/api/v1/pods', 'pods', (items) => {
    for (const p of items) {
      const node = p.spec?.nodeName;
      if (!node) continue;
      const owner = p.metadata?.namespace === 'kube-system' && p.metadata?.labels?.[NODE_SET_LABEL] !== undefined
        ? (p.metadata.ownerReferences as any[] | undefined)?.find((o) => o.kind === 'DaemonSet' && o.controller)?.name : undefined;
      if (owner !== undefined) setPods.set(`${owner}/${node}`, setPodOf(p, ready));
      const c = at(node);
      if (p.metadata?.namespace === 'kube-system' && p.metadata?.labels?.[calicoKey] === calicoValue) c.calicoReady = (c.calicoReady ?? true) && ready(p);
      if (p.metadata?.namespace === 'kube-system' && p.metadata?.labels?.name === 'weave-net') c.weaveReady = (c.weaveReady ?? true) && ready(p);
      if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      if (p.spec?.hostNetwork) {
        c.host++;
        continue;
      }
      const ip: string | undefined = p.status?.podIP;
      if (!ip || ip.includes(':')) continue;
      if (weave.containsAddress(ip)) c.weave++;
      else if (calico.containsAddress(ip)) c.calico++;
    }
  }, () => {
    counts.clear();
    setPods.clear();
  }, 2000);
  // Every namespace: the probe's Jobs live in its own.
  const jobsP = api.list<any>(`/apis/batch/v1/jobs?labelSelector=${encodeURIComponent('app.kubernetes.io/name=cni-migrate')}`, 'jobs');
  const lossP = model.probe.length > 0
    ? collectLossCounts(api, PROBE_NAMESPACE, LOSS_PROBER_COMPONENT, plan.step.name, model.probe.map((p) => p.name), plan.migration.spec.probe.maxLossPercent)
    : Promise.resolve({ counts: [], problems: [] });
  const policiesP = api.list<any>('/apis/networking.k8s.io/v1/networkpolicies', 'networkpolicies');
  const kubeProxyP = api.get<any>('/api/v1/namespaces/kube-system/configmaps/kube-proxy');
  const kcmP = api.list<any>(`/api/v1/namespaces/kube-system/pods?labelSelector=${encodeURIComponent('component=kube-controller-manager')}`, 'kube-controller-manager pods');
  // Our DaemonSets as the cluster runs them: a switch set running Calico-first that this step has
  // Weave-first is a wave being reverted, which the calico gate does not wait for.
  const weaveFirst = new Set(model.gate?.weaveFirstSets ?? []);
  const setsP = weaveFirst.size > 0
    ? api.list<any>(`/apis/apps/v1/namespaces/kube-system/daemonsets?labelSelector=${encodeURIComponent('app.kubernetes.io/name=cni-migrate')}`, 'daemonsets')
    : Promise.resolve([]);
  const [nodes, , jobs, policies, kubeProxy, kcmPods, loss, liveSets] = await Promise.all([nodesP, podsP, jobsP, policiesP, kubeProxyP, kcmP, lossP, setsP]);
  const leavingCalico = new Set<string>();
  for (const ds of liveSets) {
    if (!weaveFirst.has(ds.metadata?.name) || (ds.metadata?.labels?.['cni-migrate.io/desired'] ?? 'weave-first') === 'weave-first') continue;
    const terms: any[] = ds.spec?.template?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const f of terms.flatMap((t) => t.matchFields ?? [])) if (f.key === 'metadata.name' && f.operator === 'In') for (const n of f.values ?? []) leavingCalico.add(n);
  }

  const jobState = new Map<string, string>();
  for (const j of jobs) {
    const conds: any[] = j.status?.conditions ?? [];
    const s = conds.some((c) => c.type === 'Complete' && c.status === 'True') ? 'complete' : conds.some((c) => c.type === 'Failed' && c.status === 'True') ? 'failed' : 'running';
    jobState.set(`${j.metadata.namespace ?? 'kube-system'}/${j.metadata.name}`, s);
  }
  const liveNodes = new Map<string, any>(nodes.map((n) => [n.metadata.name, n]));
  const selecting = expected.sets.map((set) => ({ set, only: set.only && new Set(set.only), except: new Set(set.except ?? []) }));
  const setsOf = (node: string) => selecting.filter((x) => (x.only ? x.only.has(node) : !x.except.has(node))).map((x) => x.set);
  const nodeReports: NodeStatus[] = [];
  for (const n of model.nodes) {
    const c = counts.get(n.name) ?? { weave: 0, calico: 0, host: 0 };
    const { wave, network: desired } = n;
    const problems: string[] = [];
    const live = liveNodes.get(n.name);
    if (!live) problems.push('node not found in the cluster (removed?): nothing runs there, and it holds no step back; `cni-migrate snapshot --nodes-only` takes it out of the inventory and its wave');
    const drained = !!live?.spec?.unschedulable;
    if (drained) problems.push('cordoned');
    if (live && state.calicoInstalled && c.calicoReady !== true) problems.push('calico-node not Ready');
    if (live && state.weavePresent && c.weaveReady !== true) problems.push('weave-net not Ready');
    if (!state.weavePresent && c.weaveReady !== undefined) problems.push('a weave-net pod still runs');
    let sw: SwitchPodState | '-' = '-';
    if (live) {
      for (const set of setsOf(n.name)) {
        const pod = setPods.get(`${set.name}/${n.name}`);
        const st: SwitchPodState = !pod ? 'missing' : pod.podSpec !== set.podSpec ? 'outdated' : pod.state;
        if (st !== 'done') problems.push(`${set.name}: ${st === 'missing' ? 'no pod on the node yet' : st === 'outdated' ? `pod ${pod!.name} is of an earlier step (the rolling update has not reached it)` : `pod ${pod!.name} ${st}${pod!.detail ? `: ${pod!.detail}` : ''}`}`);
        if (sw === '-' || SWITCH_ORDER.indexOf(st) > SWITCH_ORDER.indexOf(sw)) sw = st;
      }
    }
    // Pods keep their IP until restarted: a switched node converges once no pod there has a Weave IP.
    if (n.drainedOnSwitch && c.weave > 0) problems.push(`${c.weave} pod(s) still on Weave IPs`);
    if (n.weaveLeftoversRemoved && c.weave > 0) problems.push(`${c.weave} pod(s) still on Weave IPs after Weave's removal`);
    nodeReports.push({ name: n.name, wave, desired, podsOnWeave: c.weave, podsOnCalico: c.calico, podsOnHost: c.host, calicoNodeReady: state.calicoInstalled ? c.calicoReady === true : undefined, weaveNetReady: state.weavePresent ? c.weaveReady === true : undefined, switch: sw, drained, problems });
  }

  const clusterProblems: string[] = [];
  // The whole cluster, not only the inventory: a node that joined since the snapshot gets no Job.
  const inventory = new Set([...model.nodes.map((n) => n.name), ...(plan.snapshot.otherNodes ?? []).map((n) => n.name)]);
  const nodesNotInInventory = nodes
    .filter((n) => !inventory.has(n.metadata.name) && (n.metadata.labels?.['kubernetes.io/os'] ?? 'linux') === 'linux' && n.metadata.labels?.type !== 'virtual-kubelet')
    .map((n) => ({ name: n.metadata.name as string, podsOnWeave: counts.get(n.metadata.name)?.weave ?? 0 }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (nodesNotInInventory.length) {
    clusterProblems.push(`${nodesNotInInventory.length} node(s) are in the cluster but not in cluster/nodes.yaml (${someOf(nodesNotInInventory.map((n) => n.name), 5)}): ${model.newcomers.convergence ? `the DaemonSet kube-system/${model.newcomers.daemonSet} converges them to this step` : 'they get Weave like every node until Calico is installed'}${state.switchedWaves === 0 ? '; or record them with `cni-migrate snapshot --nodes-only` (it adds them to a wave before the first one switches)' : ''}`);
  }
  const inventoryNodesGone = model.nodes.filter((n) => !liveNodes.has(n.name)).map((n) => n.name);
  if (inventoryNodesGone.length) {
    clusterProblems.push(`${inventoryNodesGone.length} inventory node(s) are gone from the cluster (${someOf(inventoryNodesGone, 5)}): the node DaemonSets place no pod there, so they hold nothing back; run \`cni-migrate snapshot --nodes-only\` and commit the result (guard accepts it at any step) to take them out of the inventory and their waves`);
  }
  const expectedPolicies = model.policies.objects.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  const livePolicies = new Set(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const missing = expectedPolicies.filter((p) => !livePolicies.has(p)).sort();
  const expectedSet = new Set(expectedPolicies);
  const unexpected = state.policiesPresent ? [] : [...livePolicies].filter((p) => !expectedSet.has(p)).sort();
  if (missing.length) clusterProblems.push(`${missing.length} NetworkPolicies missing (e.g. ${missing[0]})`);
  if (unexpected.length) clusterProblems.push(`${unexpected.length} NetworkPolicies present while suspended (e.g. ${unexpected[0]}): another owner re-applied them?`);

  const targets = model.clusterCidr.targets;
  const phaseCidr = model.clusterCidr.value;
  let kubeProxyClusterCIDR: StatusReport['cluster']['kubeProxyClusterCIDR'];
  if (targets?.kubeProxy.mode === 'configmap' && phaseCidr) {
    const live = kubeProxyConfigClusterCidr(kubeProxy?.data?.['config.conf'] ?? '');
    kubeProxyClusterCIDR = { live, expected: phaseCidr };
    if (live !== phaseCidr) clusterProblems.push(`kube-proxy clusterCIDR is ${live ?? 'unset'}, expected ${phaseCidr}`);
  }
  const kcm: { node: string; live?: string; expected: string }[] = [];
  if (phaseCidr && targets) {
    for (const t of targets.controllerManagers) {
      const pod = kcmPods.find((p) => p.spec?.nodeName === t.node);
      const live = pod ? containerFlags(pod.spec.containers[0]).get('cluster-cidr') : undefined;
      const expected = t.cidr[state.clusterCidr];
      kcm.push({ node: t.node, live, expected });
      if (live !== expected) clusterProblems.push(`kube-controller-manager on ${t.node} has --cluster-cidr=${live ?? 'unset'}, expected ${expected}`);
    }
  }
  for (const j of expected.jobs) {
    const ns = j.namespace ?? 'kube-system';
    const s = jobState.get(`${ns}/${j.name}`) ?? 'missing';
    if (s === 'failed') {
      // Neither engine runs a failed Job again by itself (gitops/recovery.ts says why, per engine).
      clusterProblems.push(`Job ${j.name} failed: read why with \`kubectl logs --namespace=${ns} job/${j.name}\`; once the cause is fixed, ${retryJobCommands(plan.migration.spec.gitops, gitopsBaseName(plan.migration.metadata.name), { name: j.name, namespace: ns, layer: j.layer ?? '40-nodes' })} (PLAN.md, "If this step is stuck")`);
    } else if (s !== 'complete') {
      clusterProblems.push(`Job ${j.name} ${s}`);
    }
  }
  clusterProblems.push(...loss.problems);
  // Pods on nodes outside the inventory count too: the gates list every pod.
  const totalWeave = nodeReports.reduce((a, n) => a + n.podsOnWeave, 0) + nodesNotInInventory.reduce((a, n) => a + n.podsOnWeave, 0);
  const totalCalico = nodeReports.reduce((a, n) => a + n.podsOnCalico, 0);
  // Every node's, as the gate lists every pod (newcomers and nodes left out of the inventory too).
  let totalCalicoAll = 0;
  for (const c of counts.values()) totalCalicoAll += c.calico;
  if (model.gate?.noPodsInCalicoCidr && totalCalicoAll > 0) {
    clusterProblems.push(`${totalCalicoAll} pod(s) have an IP in Calico's ${model.gate.noPodsInCalicoCidr} at a step that keeps the NetworkPolicies in force: its gate holds the step until the waves are reverted and those pods restarted on Weave`);
  }
  // The same checks, in the same order and words, as the gate Job of this step.
  const gate = (model.gate ? gateCheckList(model.gate) : []).map((g) => ({
    check: g.text,
    // The room for drains is the gate Job's own computation (over every pod's requests); status
    // leaves it to the Job's log rather than repeat it.
    holds: g.kind === 'calico-ready' ? nodeReports.every((n) => n.calicoNodeReady === true || leavingCalico.has(n.name)) : g.kind === 'no-weave-pods' ? totalWeave === 0 : g.kind === 'no-calico-pods' ? totalCalicoAll === 0 : null,
  }));
  return {
    step: plan.step.name,
    gate,
    converged: clusterProblems.length === 0 && nodeReports.every((n) => n.problems.length === 0),
    nodes: nodeReports,
    cluster: {
      networkPolicies: { present: livePolicies.size, expected: expectedPolicies.length, missing, unexpected },
      kubeProxyClusterCIDR,
      controllerManagerClusterCIDR: kcm,
      podsOnWeave: totalWeave,
      podsOnCalico: totalCalico,
      nodesNotInInventory,
      inventoryNodesGone,
      problems: clusterProblems,
    },
    loss: loss.counts,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** The report as text, for a terminal. */
export function renderStatus(r: StatusReport, width = 80): string {
  const done = r.nodes.filter((n) => n.problems.length === 0).length;
  const barWidth = Math.max(10, Math.min(40, width - 40));
  const filled = r.nodes.length ? Math.round((done / r.nodes.length) * barWidth) : barWidth;
  const lines = [
    `step ${r.step}: ${r.converged ? 'converged: safe to advance' : 'not converged yet'}`,
    `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${done}/${r.nodes.length} nodes ready for this step`,
    '',
    'node                       wave  want    weave  calico  host  calico-node  weave-net  switch    problems',
  ];
  const yn = (b?: boolean) => (b === undefined ? '-' : b ? 'Ready' : 'NOT READY');
  const shown = r.nodes.filter((n) => n.problems.length > 0).concat(r.nodes.filter((n) => n.problems.length === 0)).slice(0, 50);
  for (const n of shown) {
    lines.push(`${n.name.padEnd(26).slice(0, 26)} ${String(n.wave).padStart(4)}  ${n.desired.padEnd(6)} ${String(n.podsOnWeave).padStart(6)} ${String(n.podsOnCalico).padStart(7)} ${String(n.podsOnHost).padStart(5)}  ${yn(n.calicoNodeReady).padEnd(11)}  ${yn(n.weaveNetReady).padEnd(9)}  ${n.switch.padEnd(8)}  ${n.problems.join('; ')}`);
  }
  if (r.nodes.length > shown.length) lines.push(`… and ${r.nodes.length - shown.length} more nodes`);
  const c = r.cluster;
  lines.push('', `NetworkPolicies: ${c.networkPolicies.present} present, ${c.networkPolicies.expected} expected`);
  if (c.kubeProxyClusterCIDR) lines.push(`kube-proxy clusterCIDR: ${c.kubeProxyClusterCIDR.live ?? 'unset'} (expected ${c.kubeProxyClusterCIDR.expected})`);
  for (const k of c.controllerManagerClusterCIDR) lines.push(`kube-controller-manager ${k.node}: --cluster-cidr=${k.live ?? 'unset'} (expected ${k.expected})`);
  lines.push(`pods: ${c.podsOnWeave} on Weave, ${c.podsOnCalico} on Calico`);
  for (const g of r.gate) lines.push(`gate: ${g.check}: ${g.holds === null ? 'see the gate Job\'s log' : g.holds ? 'holds' : 'DOES NOT HOLD'}`);
  for (const l of r.loss) {
    const per = Object.entries(l.targets).map(([t, v]) => `to ${t} ${v === 'waiting' ? 'not answered yet' : v}`).join(', ');
    lines.push(`loss: ${l.failed.toLocaleString('en-US')} of ${l.sent.toLocaleString('en-US')} requests from ${l.from} failed during ${r.step} (${per})`);
  }
  for (const p of c.problems) lines.push(`problem: ${p}`);
  return `${lines.join('\n')}\n`;
}

