/**
 * The cdk8s app for one step: a Chart per layer rendering the step model (plan.model). Every
 * decision about what the step means is in src/model/; this file only maps the model's parts
 * onto constructs and layers.
 */
import { App, Chart } from 'cdk8s';
import { Calico } from './constructs/calico/calico';
import { ClusterCidr } from './constructs/control-plane/cluster-cidr';
import { ConnectivityProbe } from './constructs/connectivity-probe';
import { TunnelCheck } from './constructs/tunnel-check';
import { NetworkPolicies } from './constructs/network-policies';
import { PolicyFreeze } from './constructs/policy-freeze';
import { NodeSwitchRbac } from './constructs/node-switch-rbac';
import { NodeSwitchSet } from './constructs/node-switch-set';
import { NODE_SET_LABEL, POD_SPEC_LABEL, PROBE_NAMESPACE } from './kube/names';
import type { ExpectedJob, ExpectedSet } from './cluster/status';
import { StepGate } from './constructs/step-gate';
import { StepHealthy } from './constructs/step-healthy';
import { WeaveNet } from './constructs/weave-net';
import { WeaveCleanup } from './constructs/weave/weave-removal';
import { annotateSyncWave } from './gitops/argocd';
import { LAYERS, type LayerId } from './gitops/layers';
import { NEWCOMER_SET_NAME, SWITCH_SET_PREFIX } from './model/node-states';
import type { MigrationPlan } from './plan/migration-plan';
import { renderCharts } from './synth/render-charts';

export interface StepCharts {
  readonly app: App;
  /** One chart per layer, in layer order (every layer, even when empty). */
  readonly charts: ReadonlyMap<LayerId, Chart>;
}

export function buildStepApp(plan: MigrationPlan, app: App = new App({ outdir: '.cdk8s-unused' })): StepCharts {
  const charts = new Map<LayerId, Chart>();
  for (const l of LAYERS) {
    charts.set(l.id as LayerId, new Chart(app, l.id, { disableResourceNameHashes: true }));
  }
  const { model, migration } = plan;
  const spec = migration.spec;

  let calicoNodeSelector: string | undefined;
  let calicoNodeImage = '';
  if (model.calico.installed) {
    const calico = new Calico(charts.get('10-calico')!, 'Calico', {
      source: spec.calico.manifest
        ? { kind: 'manifest', file: spec.calico.manifest, configFile: plan.configFile, version: spec.calico.version }
        : { kind: 'builtin', version: spec.calico.version!, configFile: plan.configFile },
      coexistence: model.calico.coexistence,
      engine: spec.gitops.engine,
    });
    calicoNodeSelector = calico.nodeSelector;
    calicoNodeImage = calico.nodeImage;
  }

  if (model.clusterCidr.targets) {
    // From calico on, so that reverting cluster-cidr restores the values as captured.
    new ClusterCidr(charts.get('20-control-plane')!, 'ClusterCidr', {
      targets: model.clusterCidr.targets,
      phase: model.clusterCidr.phase,
      kubectlImage: spec.images.kubectl,
      nodeCount: model.nodes.length,
    });
  }

  if (model.policies.present) {
    new NetworkPolicies(charts.get('30-policies')!, 'NetworkPolicies', { policies: model.policies.objects });
  }
  if (model.policies.freeze) {
    new PolicyFreeze(charts.get('30-policies')!, 'Freeze', { freeze: model.policies.freeze });
  }

  const nodes = charts.get('40-nodes')!;
  const common = { image: spec.images.shell, kubectlImage: spec.images.kubectl, calicoNodeSelector, netToolsImage: spec.images.netTools ?? calicoNodeImage };
  let usesApi = false;
  for (const set of model.switchSets) {
    const c = set.convergence;
    const ds = new NodeSwitchSet(nodes, set.name, {
      ...common,
      name: set.name,
      setLabel: set.name.slice(SWITCH_SET_PREFIX.length),
      nodes: set.nodes ? { only: set.nodes } : 'all',
      desired: c.desired,
      calicoConfName: c.calicoConfName,
      drain: c.drain,
      restartRuntime: c.restartRuntime,
      // With drains on, every other switch of the node releases a cordon this tool left (a pod
      // that failed mid-drain, a reverted wave), so whichever converges it next uncordons it.
      releaseCordon: spec.nodes.drain && !c.drain,
      drainLanes: set.drainLanes,
      weaveTaint: c.weaveTaint ? 'add' : 'remove',
      // With drains, the rolling update switches as many nodes at once as the wave has lanes (the
      // Leases hold the budget across sets too); a switch without a drain evicts no pod, so the
      // whole set goes at once, as a revert must.
      maxUnavailable: c.drain ? set.drainLanes! : '100%',
    });
    usesApi ||= ds.usesApi;
  }
  const newcomer = model.newcomers.convergence;
  // From Calico's final name every node converges alike, and the set of all nodes covers newcomers.
  if (newcomer && !model.state.calicoFinalName) {
    const ds = new NodeSwitchSet(nodes, 'Newcomers', {
      ...common,
      name: NEWCOMER_SET_NAME,
      setLabel: 'newcomers',
      nodes: { except: model.nodes.map((n) => n.name) },
      desired: newcomer.desired,
      calicoConfName: newcomer.calicoConfName,
      drain: newcomer.drain,
      restartRuntime: newcomer.restartRuntime,
      releaseCordon: spec.nodes.drain && !newcomer.drain,
      // The budget's lanes, shared with the waves' drains; whichever step uncordons the newcomer
      // later (a revert's) gives its lane back.
      drainLanes: spec.nodes.drain ? model.newcomers.drainLanes ?? model.switchSets.reduce((m, x) => Math.max(m, x.drainLanes ?? 0), 1) : undefined,
      maxUnavailable: spec.nodes.maxConcurrentDrains,
    });
    usesApi ||= ds.usesApi;
  }
  if (usesApi) {
    new NodeSwitchRbac(nodes, 'NodeSwitchRbac', {
      drain: spec.nodes.drain && model.state.switchedWaves > 0,
      uncordon: spec.nodes.drain,
      drainLanes: Math.max(0, model.newcomers.drainLanes ?? 0, ...model.switchSets.map((x) => x.drainLanes ?? 0)),
      restartDaemonSetPods: spec.nodes.drain && spec.nodes.restartDaemonSetPods,
    });
  }

  if (model.weave.present) {
    new WeaveNet(charts.get('50-weave')!, 'WeaveNet', { objects: model.weave.objects });
  } else {
    new WeaveCleanup(charts.get('50-weave')!, 'WeaveCleanup', {
      kubectlImage: spec.images.kubectl,
      netToolsImage: spec.images.netTools ?? calicoNodeImage,
      holdImage: spec.images.shell,
    });
  }

  if (model.probe.length > 0) {
    new ConnectivityProbe(charts.get('60-probe')!, 'Probe', { networks: model.probe, step: model.step.name, image: spec.images.shell, maxLossPercent: spec.probe.maxLossPercent });
  }
  if (model.tunnelCheck.length > 0) {
    new TunnelCheck(charts.get('60-probe')!, 'TunnelCheck', { nodes: model.tunnelCheck, peers: spec.probe.tunnelPeers, kubectlImage: spec.images.kubectl, pingImage: spec.images.shell, step: model.step.name });
  }

  if (model.gate) {
    new StepGate(charts.get('00-gate')!, 'Gate', { kubectlImage: spec.images.kubectl, calicoSelector: calicoNodeSelector, argoHook: spec.gitops.engine === 'argocd', checks: model.gate, step: model.step.name });
  }

  if (spec.gitops.engine === 'argocd' && model.step.kind !== 'adopt') {
    // With the gate, the other hook of a step: the probe layer stays the probe's alone.
    new StepHealthy(charts.get('00-gate')!, 'StepHealthy', {
      kubectlImage: spec.images.kubectl,
      namespaces: model.probe.length > 0 ? ['kube-system', PROBE_NAMESPACE] : ['kube-system'],
      // A drain of a switch DaemonSet may be in flight when the hook starts.
      timeoutSeconds: spec.nodes.drainTimeoutSeconds + 240,
    });
  }
  if (spec.gitops.engine === 'argocd') {
    for (const l of LAYERS) annotateSyncWave(charts.get(l.id as LayerId)!, l);
  }
  const errors = app.node.findAll().flatMap((c) => c.node.validate().map((e) => `${c.node.path}: ${e}`));
  if (errors.length > 0) {
    throw new Error(`validation failed:\n  ${errors.join('\n  ')}`);
  }
  return { app, charts };
}

/**
 * What `status` checks this step's output against: its Jobs (Argo CD hooks aside: they are
 * re-created on every sync) and the DaemonSets that converge nodes, with the nodes each selects.
 */
export function expectedWorkloads(plan: MigrationPlan): { jobs: ExpectedJob[]; sets: ExpectedSet[] } {
  const jobs: ExpectedJob[] = [];
  const sets: ExpectedSet[] = [];
  for (const [layer, objects] of renderCharts(buildStepApp(plan))) {
    for (const o of objects) {
      if (o.kind === 'Job' && !o.metadata.annotations?.['argocd.argoproj.io/hook']) jobs.push({ name: o.metadata.name, namespace: o.metadata.namespace, layer });
      const labels = o.spec?.template?.metadata?.labels ?? {};
      if (o.kind !== 'DaemonSet' || labels[NODE_SET_LABEL] === undefined) continue;
      const byName = o.spec.template.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0];
      sets.push({
        name: o.metadata.name,
        podSpec: labels[POD_SPEC_LABEL],
        ...(byName?.operator === 'In' ? { only: byName.values } : byName?.operator === 'NotIn' ? { except: byName.values } : {}),
      });
    }
  }
  return { jobs, sets };
}
