/**
 * The cdk8s app for one step: a Chart per layer holding that step's whole desired state.
 * Constructs read the step's state (see steps/steps.ts), never its name.
 */
import { App, Chart } from 'cdk8s';
import { Calico } from './constructs/calico/calico';
import { coexistenceFor } from './constructs/calico/coexistence-settings';
import { NetworkPolicies } from './constructs/network-policies';
import { NodeSwitch } from './constructs/node-switch';
import { NodeSwitchRbac } from './constructs/node-switch-rbac';
import { WeaveNet } from './constructs/weave-net';
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

export function buildStepApp(plan: MigrationPlan, app: App = new App({ outdir: '.cdk8s-unused' })): StepCharts {
  const charts = new Map<LayerId, Chart>();
  for (const l of LAYERS) {
    charts.set(l.id as LayerId, new Chart(app, l.id, { disableResourceNameHashes: true }));
  }
  const { state, migration, snapshot } = plan;
  const spec = migration.spec;

  let calicoNodeSelector: string | undefined;
  if (state.calicoInstalled) {
    const calico = new Calico(charts.get('10-calico')!, 'Calico', {
      source: spec.calico.manifest
        ? { kind: 'manifest', file: spec.calico.manifest, configFile: plan.configFile }
        : { kind: 'builtin', version: spec.calico.version },
      coexistence: coexistenceFor(plan),
      serverSideApplyCrds: spec.gitops.engine === 'argocd',
    });
    calicoNodeSelector = calico.nodeSelector;
  }

  if (state.policiesPresent) {
    new NetworkPolicies(charts.get('30-policies')!, 'NetworkPolicies', {
      policies: snapshot.networkPolicies,
      ipBlockRewrites: state.policiesRestored && spec.policies.rewriteIPBlocks ? spec.policies.rewrite : undefined,
    });
  }

  if (state.calicoInstalled) {
    const nodes = charts.get('40-nodes')!;
    // Pods move to Calico when their node switches; by weave-removed they all have, so the
    // final-name Jobs only refresh the copy and need no drain.
    const drain = spec.nodes.drain && !state.calicoFinalName;
    const restart = spec.nodes.restartKubelet && !state.calicoFinalName;
    let usesApi = false;
    for (const node of snapshot.nodes) {
      const desired = plan.waveOf.get(node.name)! <= state.switchedWaves ? 'calico-first' : 'weave-first';
      const calicoFirst = desired === 'calico-first';
      const job = new NodeSwitch(nodes, node.name, {
        nodeName: node.name,
        desired,
        calicoConfName: state.calicoFinalName ? '10-calico.conflist' : '20-calico.conflist',
        image: spec.images.shell,
        kubectlImage: spec.images.kubectl,
        calicoNodeSelector,
        drain: calicoFirst && drain ? { timeoutSeconds: spec.nodes.drainTimeoutSeconds, restartDaemonSetPods: spec.nodes.restartDaemonSetPods } : undefined,
        restartRuntime: calicoFirst && restart ? runtimeOf(node.containerRuntime) : undefined,
      });
      usesApi ||= job.usesApi;
    }
    if (usesApi) {
      new NodeSwitchRbac(nodes, 'NodeSwitchRbac', { drain: drain && state.switchedWaves > 0, restartDaemonSetPods: drain && spec.nodes.restartDaemonSetPods });
    }
  }

  if (state.weavePresent) {
    new WeaveNet(charts.get('50-weave')!, 'WeaveNet', { objects: snapshot.weaveObjects });
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
