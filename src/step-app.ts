/**
 * The cdk8s app for one step: a Chart per layer rendering the step model (plan.model). Every
 * decision about what the step means is in src/model/; this file only maps the model's parts
 * onto constructs and layers.
 */
import { App, Chart } from 'cdk8s';
import { Calico } from './constructs/calico/calico';
import { ClusterCidr } from './constructs/control-plane/cluster-cidr';
import { ConnectivityProbe } from './constructs/connectivity-probe';
import { NetworkPolicies } from './constructs/network-policies';
import { PolicyFreeze } from './constructs/policy-freeze';
import { NodeSwitch } from './constructs/node-switch';
import { NodeSwitchRbac } from './constructs/node-switch-rbac';
import { NewcomerSwitch } from './constructs/newcomer-switch';
import { StepGate } from './constructs/step-gate';
import { WeaveNet } from './constructs/weave-net';
import { WeaveCleanup } from './constructs/weave/weave-removal';
import { annotateSyncWave } from './gitops/argocd';
import { LAYERS, type LayerId } from './gitops/layers';
import type { MigrationPlan } from './plan/migration-plan';

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
        ? { kind: 'manifest', file: spec.calico.manifest, configFile: plan.configFile }
        : { kind: 'builtin', version: spec.calico.version },
      coexistence: model.calico.coexistence,
      serverSideApplyCrds: spec.gitops.engine === 'argocd',
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
  for (const node of model.nodes) {
    for (const c of node.convergences) {
      const job = new NodeSwitch(nodes, c.role === 'wave' ? node.name : `${node.name}-${c.role}`, {
        ...common,
        nodeName: node.name,
        desired: c.desired,
        calicoConfName: c.calicoConfName,
        drain: c.drain,
        restartRuntime: c.restartRuntime,
        // With drains on, every other Job of the node releases a cordon this tool left (a Job
        // that failed mid-drain, a reverted wave), so whichever Job converges it next uncordons it.
        releaseCordon: spec.nodes.drain && !c.drain,
        drainLane: node.drainLane,
        weaveTaint: c.weaveTaint ? 'add' : 'remove',
      });
      usesApi ||= job.usesApi;
    }
  }
  const newcomer = model.newcomers.convergence;
  if (newcomer) {
    const ds = new NewcomerSwitch(nodes, 'Newcomers', {
      ...common,
      inventoryNodes: model.nodes.map((n) => n.name),
      desired: newcomer.desired,
      calicoConfName: newcomer.calicoConfName,
      drain: newcomer.drain,
      restartRuntime: newcomer.restartRuntime,
      releaseCordon: spec.nodes.drain && !newcomer.drain,
      // Lane 0 of the budget: a newcomer's drain waits for it like a wave's, for at most one holder;
      // whichever step uncordons the newcomer later (a revert's) gives it back.
      drainLane: spec.nodes.drain ? { index: 0, length: 2 } : undefined,
      maxUnavailable: spec.nodes.maxConcurrentDrains,
    });
    usesApi ||= ds.usesApi;
  }
  if (usesApi) {
    new NodeSwitchRbac(nodes, 'NodeSwitchRbac', {
      drain: spec.nodes.drain && model.state.switchedWaves > 0,
      uncordon: spec.nodes.drain,
      drainLanes: Math.max(0, ...model.nodes.map((n) => (n.drainLane ? n.drainLane.index + 1 : 0))),
      restartDaemonSetPods: spec.nodes.drain && spec.nodes.restartDaemonSetPods,
    });
  }

  if (model.weave.present) {
    new WeaveNet(charts.get('50-weave')!, 'WeaveNet', { objects: model.weave.objects });
  } else {
    new WeaveCleanup(charts.get('50-weave')!, 'WeaveCleanup', {
      nodes: model.nodes.filter((n) => n.weaveLeftoversRemoved).map((n) => n.name),
      kubectlImage: spec.images.kubectl,
      netToolsImage: spec.images.netTools ?? calicoNodeImage,
      newcomersExcept: model.nodes.map((n) => n.name),
      holdImage: spec.images.shell,
    });
  }

  if (model.probe.length > 0) {
    new ConnectivityProbe(charts.get('60-probe')!, 'Probe', { networks: model.probe, step: model.step.name, image: spec.images.shell });
  }

  if (model.gate) {
    new StepGate(charts.get('00-gate')!, 'Gate', { kubectlImage: spec.images.kubectl, calicoSelector: calicoNodeSelector, argoHook: spec.gitops.engine === 'argocd', checks: model.gate });
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

/** The Jobs this step's output holds (Argo CD hooks aside: they are re-created on every sync). */
export function expectedJobs(plan: MigrationPlan): { name: string; node?: string }[] {
  const { charts } = buildStepApp(plan);
  const out: { name: string; node?: string }[] = [];
  for (const chart of charts.values()) {
    for (const o of chart.toJson() as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: { template?: { spec?: { nodeName?: string } } } }[]) {
      if (o.kind !== 'Job' || o.metadata.annotations?.['argocd.argoproj.io/hook']) continue;
      out.push({ name: o.metadata.name, node: o.spec?.template?.spec?.nodeName });
    }
  }
  return out;
}
