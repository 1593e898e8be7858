/**
 * dist/step.json: the step report and plan, for machines (CI, status, dashboards).
 */
import type { LayerId } from '../gitops/layers';
import type { MigrationPlan } from '../plan/migration-plan';
import type { StepReport } from '../plan/step-report';

export function renderStepJson(plan: MigrationPlan, report: StepReport, layerFiles: ReadonlyMap<LayerId, readonly string[]>): string {
  const net = plan.network;
  const doc = {
    apiVersion: 'cni-migrate.io/v1alpha1',
    kind: 'StepReport',
    migration: plan.migration.metadata.name,
    engine: plan.migration.spec.gitops.engine,
    step: report.step,
    index: report.index,
    total: report.total,
    previous: report.previous ?? null,
    next: report.next ?? null,
    steps: plan.steps.map((s) => s.name),
    state: plan.state,
    network: {
      weaveCIDR: net.weave.toString(),
      calicoCIDR: net.calico.toString(),
      serviceCIDR: net.service.toString(),
      supernet: net.supernet.toString(),
      clusterCIDR: report.clusterCIDR,
      finalClusterCIDR: net.finalClusterCidr.toString(),
    },
    waves: plan.waves.map((nodes, i) => ({ wave: i + 1, switched: i + 1 <= plan.state.switchedWaves, nodes })),
    changes: report.changes,
    checks: report.checks,
    notYetGenerated: report.notYetGenerated,
    nextCommit: report.nextCommit ?? null,
    rollback: report.rollback,
    findings: plan.findings,
    ipBlockRewrites: plan.model.policies.asRestored.rewrites,
    layers: Object.fromEntries([...layerFiles].map(([id, files]) => [id, files])),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
