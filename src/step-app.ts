/**
 * The cdk8s app for one step: a Chart per layer holding that step's whole desired state.
 * Constructs read the step's state (see steps/steps.ts), never its name.
 */
import { App, Chart } from 'cdk8s';
import { Calico } from './constructs/calico/calico';
import { coexistenceFor } from './constructs/calico/coexistence-settings';
import { ClusterCidr } from './constructs/control-plane/cluster-cidr';
import { clusterCidrTargets } from './constructs/control-plane/cluster-cidr-targets';
import { ConnectivityProbe, type ProbeNetwork } from './constructs/connectivity-probe';
import { NetworkPolicies } from './constructs/network-policies';
import { NodeSwitch } from './constructs/node-switch';
import { NodeSwitchRbac } from './constructs/node-switch-rbac';
import { WeaveNet } from './constructs/weave-net';
import { StepGate, gateChecksFor } from './constructs/step-gate';
import { WeaveCleanup } from './constructs/weave/weave-removal';
import { annotateSyncWave } from './gitops/argocd';
import { LAYERS, type LayerId } from './gitops/layers';
import type { MigrationPlan } from './plan/migration-plan';

export interface StepCharts {
  readonly app: App;
  /** One chart per layer, in layer order (every layer, even when empty). */
  readonly charts: ReadonlyMap<LayerId, Chart>;
}

/** The systemd unit of a node's runtime, from containerRuntimeVersion (containerd://1.7, cri-o://1.30). */
function runtimeOf(version: string): 'containerd' | 'crio' {
  if (version.startsWith('containerd://')) return 'containerd';
  if (version.startsWith('cri-o://')) return 'crio';
  throw new Error(`cannot restart runtime ${JSON.stringify(version)}: only containerd and CRI-O are supported`);
}

/**
 * The networks new pods get at this step, each with a node that gives it: Weave on a node not
 * switched yet (a worker if there is one), Calico on the wave switched last.
 */
function probeNetworks(plan: MigrationPlan): ProbeNetwork[] {
  const { state, waves, network } = plan;
  const cp = new Set(plan.snapshot.nodes.filter((n) => n.roles.some((r) => r === 'control-plane' || r === 'master')).map((n) => n.name));
  const out: ProbeNetwork[] = [];
  if (state.weavePresent && state.switchedWaves < waves.length) {
    const unswitched = waves.slice(state.switchedWaves).flat();
    out.push({ name: 'weave', cidr: network.weave.toString(), node: unswitched.find((n) => !cp.has(n)) ?? unswitched[0] });
  }
  if (state.switchedWaves > 0) {
    const last = waves[state.switchedWaves - 1];
    out.push({ name: 'calico', cidr: network.calico.toString(), node: last.find((n) => !cp.has(n)) ?? last[0] });
  }
  return out;
}

export function buildStepApp(plan: MigrationPlan, app: App = new App({ outdir: '.cdk8s-unused' })): StepCharts {
  const charts = new Map<LayerId, Chart>();
  for (const l of LAYERS) {
    charts.set(l.id as LayerId, new Chart(app, l.id, { disableResourceNameHashes: true }));
  }
  const { state, migration, snapshot } = plan;
  const spec = migration.spec;

  let calicoNodeSelector: string | undefined;
  let calicoNodeImage = '';
  if (state.calicoInstalled) {
    const calico = new Calico(charts.get('10-calico')!, 'Calico', {
      source: spec.calico.manifest
        ? { kind: 'manifest', file: spec.calico.manifest, configFile: plan.configFile }
        : { kind: 'builtin', version: spec.calico.version },
      coexistence: coexistenceFor(plan),
      serverSideApplyCrds: spec.gitops.engine === 'argocd',
    });
    calicoNodeSelector = calico.nodeSelector;
    calicoNodeImage = calico.nodeImage;
  }

  if (state.calicoInstalled) {
    // From calico on, so that reverting cluster-cidr restores the values as captured.
    new ClusterCidr(charts.get('20-control-plane')!, 'ClusterCidr', {
      targets: clusterCidrTargets(snapshot, plan.network, spec.controlPlane.mode),
      phase: state.clusterCidr,
      kubectlImage: spec.images.kubectl,
    });
  }

  if (state.policiesPresent) {
    new NetworkPolicies(charts.get('30-policies')!, 'NetworkPolicies', {
      policies: snapshot.networkPolicies,
      ipBlockRewrites: state.policiesRestored && spec.policies.rewriteIPBlocks ? spec.policies.rewrite : undefined,
    });
  }

  if (state.calicoInstalled) {
    const nodes = charts.get('40-nodes')!;
    const common = { image: spec.images.shell, kubectlImage: spec.images.kubectl, calicoNodeSelector };
    let usesApi = false;
    for (const node of snapshot.nodes) {
      // The switch Job of the node's wave stays in every later step, unchanged: a Job that is
      // never pruned is never re-created, so no revert can run its drain again.
      const switched = plan.waveOf.get(node.name)! <= state.switchedWaves;
      const job = new NodeSwitch(nodes, node.name, {
        ...common,
        nodeName: node.name,
        desired: switched ? 'calico-first' : 'weave-first',
        drain: switched && spec.nodes.drain ? { timeoutSeconds: spec.nodes.drainTimeoutSeconds, restartDaemonSetPods: spec.nodes.restartDaemonSetPods } : undefined,
        restartRuntime: switched && spec.nodes.restartKubelet ? runtimeOf(node.containerRuntime) : undefined,
      });
      usesApi ||= job.usesApi;
      if (state.calicoFinalName) {
        // Calico now writes 10-calico.conflist. Until finalized the copy mirrors it (so a revert to
        // the 20-calico.conflist name keeps the node on Calico); at finalized the copy goes.
        new NodeSwitch(nodes, `${node.name}-final`, state.calicoNative
          ? { ...common, nodeName: node.name, desired: 'calico-native', calicoConfName: '10-calico.conflist' }
          : { ...common, nodeName: node.name, desired: 'calico-first', calicoConfName: '10-calico.conflist' });
      }
    }
    if (usesApi) {
      new NodeSwitchRbac(nodes, 'NodeSwitchRbac', { drain: spec.nodes.drain && state.switchedWaves > 0, restartDaemonSetPods: spec.nodes.drain && spec.nodes.restartDaemonSetPods });
    }
  }

  if (!state.weavePresent) {
    new WeaveCleanup(charts.get('50-weave')!, 'WeaveCleanup', {
      nodes: snapshot.nodes.map((n) => n.name),
      kubectlImage: spec.images.kubectl,
      netToolsImage: spec.images.netTools ?? calicoNodeImage,
    });
  }

  if (state.weavePresent) {
    new WeaveNet(charts.get('50-weave')!, 'WeaveNet', { objects: snapshot.weaveObjects });
  }

  if (spec.probe.enabled && state.calicoInstalled) {
    const networks = probeNetworks(plan);
    if (networks.length > 0) new ConnectivityProbe(charts.get('60-probe')!, 'Probe', { networks, step: plan.step.name, image: spec.images.shell });
  }

  const checks = gateChecksFor(plan.step.kind, plan.network.weave.toString());
  if (checks) {
    new StepGate(charts.get('00-gate')!, 'Gate', { kubectlImage: spec.images.kubectl, calicoSelector: calicoNodeSelector, argoHook: spec.gitops.engine === 'argocd', ...checks });
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
