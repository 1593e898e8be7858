/**
 * The migration plan: migration.yaml + cluster/ resolved into waves, steps, the current step's
 * desired state (the step model), the CIDR plan and the preflight findings. Everything downstream
 * (synth, plan, guard, status, PLAN.md) reads this one object.
 */
import * as path from 'path';
import { loadClusterSnapshot } from '../cluster/snapshot';
import { isWithin, realPath, repositoryRoot } from '../util/repo-paths';
import { notMigratable, type ClusterSnapshot } from '../kube/objects';
import { buildStepModel, type StepModel } from '../model/step-model';
import { InputError } from '../config/errors';
import { loadMigrationFile } from '../config/load';
import type { Migration } from '../config/types';
import { planNetwork, type NetworkPlan } from '../network/network-plan';
import { findStep, stateAt, stepList, type Step, type StepState } from '../steps/steps';
import { isControlPlane, resolveWaves } from '../steps/waves';
import { calicoFindings } from './calico-findings';
import { gitopsFindings } from './gitops-findings';
import { policyFindings } from './policy-findings';
import { gitopsBaseName } from '../gitops/recovery';
import { sortFindings, type Finding } from './findings';
import { someOf } from '../util/name-list';

export interface MigrationPlan {
  /** Absolute path of migration.yaml (relative paths in it resolve against its folder). */
  readonly configFile: string;
  readonly migration: Migration;
  readonly snapshot: ClusterSnapshot;
  readonly waves: readonly (readonly string[])[];
  /** Node name → its wave number (from 1). */
  readonly waveOf: ReadonlyMap<string, number>;
  readonly steps: readonly Step[];
  readonly step: Step;
  readonly state: StepState;
  readonly network: NetworkPlan;
  /** What the step means, as plain data: what synth renders and plan, status and guard read. */
  readonly model: StepModel;
  readonly findings: readonly Finding[];
}

/** Where the inputs are. */
export interface PlanInputs {
  /** Path of migration.yaml. */
  readonly configFile: string;
  /**
   * Path of the cluster/ folder.
   * @default cluster/ beside migration.yaml
   */
  readonly clusterDir?: string;
}

/** Load both inputs from disk and plan. */
export function loadPlan(inputs: PlanInputs): MigrationPlan {
  const migration = loadMigrationFile(inputs.configFile, path.relative(process.cwd(), inputs.configFile) || inputs.configFile);
  const clusterDir = inputs.clusterDir ?? path.join(path.dirname(inputs.configFile), 'cluster');
  const repo = realPath(repositoryRoot(path.dirname(path.resolve(inputs.configFile))));
  if (!isWithin(realPath(path.resolve(clusterDir)), repo)) {
    throw new InputError('--cluster', '(option)', `${JSON.stringify(clusterDir)} is outside the repository (${repo})`, 'the cluster/ folder of this repository: inputs are read from inside it only');
  }
  // Named relative to migration.yaml, not to the current folder: the name reaches dist/ (step.json),
  // which must not depend on where synth was started.
  const snapshot = loadClusterSnapshot(clusterDir, path.relative(path.dirname(path.resolve(inputs.configFile)), clusterDir) || '.');
  return buildPlan(migration, snapshot, path.relative(process.cwd(), inputs.configFile) || inputs.configFile, path.resolve(inputs.configFile));
}

/**
 * Plan from already-loaded inputs; `configShownAs` names migration.yaml in errors, `configFile`
 * is where it lives (default: `configShownAs` from the current folder).
 */
export function buildPlan(migration: Migration, snapshot: ClusterSnapshot, configShownAs: string, configFile: string = path.resolve(configShownAs)): MigrationPlan {
  const waves = resolveWaves(migration.spec.nodes, snapshot.nodes, configShownAs, snapshot.otherNodes);
  const steps = stepList(waves.length);
  const step = findStep(steps, migration.spec.step);
  if (!step) {
    throw new InputError(configShownAs, 'spec.step', `got ${JSON.stringify(migration.spec.step)}`, `one of ${steps.map((s) => s.name).join(', ')}`);
  }
  const network = planNetwork(migration.spec.network, snapshot, migration.spec.controlPlane.mode, migration.spec.controlPlane.disableNodeCidrAllocation);
  const waveOf = new Map<string, number>();
  for (let i = 0; i < waves.length; i++) for (const n of waves[i]) waveOf.set(n, i + 1);
  const state = stateAt(step, waves.length);
  const model = buildStepModel({ migration, snapshot, waves, waveOf, step, state, network });
  return {
    configFile,
    migration,
    snapshot,
    waves,
    waveOf,
    steps,
    step,
    state,
    network,
    model,
    findings: sortFindings([...backupFindings(snapshot, state, steps[steps.length - 1].index === step.index), ...network.findings, ...calicoFindings(migration, snapshot, model, network), ...gitopsFindings(migration, snapshot, step.index === 0), ...policyFindings(snapshot, network, state, model, migration.spec.policies, gitopsBaseName(migration.metadata.name)), ...waveFindings(migration, snapshot, waves)]),
  };
}

/**
 * The backups a step needs: while Weave's objects or the NetworkPolicies are part of the desired
 * state, a cluster/ without them would make the engine prune them from the live cluster (Weave
 * under the pods that use it). A missing folder is an error, not "nothing to apply".
 */
function backupFindings(snapshot: ClusterSnapshot, state: StepState, last: boolean): Finding[] {
  if (!snapshot.captured) return [];
  const out: Finding[] = [];
  if (!snapshot.captured.weave) {
    out.push({
      severity: state.weavePresent ? 'error' : last ? 'info' : 'warning', code: 'weave-backup-missing', file: `${snapshot.dir}/weave`,
      message: state.weavePresent
        ? `${snapshot.dir}/weave holds no DaemonSet kube-system/weave-net, yet Weave is part of this step: applying it would prune Weave from the cluster while pods use it`
        : `${snapshot.dir}/weave holds no DaemonSet kube-system/weave-net: reverting to a step with Weave would have nothing to bring back`,
      fix: `restore ${snapshot.dir}/weave from git history (git checkout <commit> -- ${snapshot.dir}/weave), or snapshot again while Weave runs`,
    });
  }
  if (!snapshot.captured.networkPolicies) {
    // Applied at this step, or the only copy of what a later step restores: an error either way.
    out.push({
      severity: 'error', code: 'policy-backup-missing', file: `${snapshot.dir}/networkpolicies`,
      message: state.policiesPresent
        ? `${snapshot.dir}/networkpolicies is missing, yet the NetworkPolicies are part of this step: applying it would delete every policy in the cluster`
        : `${snapshot.dir}/networkpolicies is missing: the backup of the suspended NetworkPolicies is gone, and restoring them would restore none`,
      fix: `restore ${snapshot.dir}/networkpolicies from git history; a cluster without policies still has the folder (\`cni-migrate snapshot\` writes it)`,
    });
  }
  return out;
}

function waveFindings(migration: Migration, snapshot: ClusterSnapshot, waves: readonly (readonly string[])[]): Finding[] {
  const out: Finding[] = [];
  const others = snapshot.otherNodes ?? [];
  if (others.length > 0) {
    out.push({
      severity: 'info', code: 'nodes-not-migrated', file: 'cluster/nodes.yaml',
      message: `${others.length} node(s) cannot run the node switches or calico-node and are left out of the waves and the gates: ${someOf(others.map((n) => `${n.name} (${notMigratable(n)})`), 10)}`,
      fix: 'nothing to do for the migration; their pods are not on Weave (Weave runs on Linux nodes only) and Calico\'s DaemonSet does not select them',
    });
  }
  const cp = new Set(snapshot.nodes.filter(isControlPlane).map((n) => n.name));
  if (migration.spec.nodes.waves && cp.size > 0) {
    const firstCpWave = waves.findIndex((w) => w.some((n) => cp.has(n)));
    const lastWorkerWave = waves.map((w, i) => (w.some((n) => !cp.has(n)) ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
    if (firstCpWave >= 0 && firstCpWave < lastWorkerWave) {
      out.push({
        severity: 'warning',
        code: 'control-plane-not-last',
        message: `wave ${firstCpWave + 1} switches control-plane node(s) before wave ${lastWorkerWave + 1} switches workers`,
        fix: 'put control-plane nodes in the last waves, so a bad switch shows on workers first',
      });
    }
  }
  if (migration.spec.nodes.restartKubelet) {
    const other = snapshot.nodes.filter((n) => !/^(containerd|cri-o):\/\//.test(n.containerRuntime));
    if (other.length > 0) {
      out.push({
        severity: 'error', code: 'restart-unknown-runtime', field: 'spec.nodes.restartKubelet',
        message: `spec.nodes.restartKubelet is on, but ${other.length} node(s) run a runtime other than containerd or CRI-O (${someOf(other.map((n) => `${n.name}: ${n.containerRuntime}`))})`,
        fix: 'turn restartKubelet off (the runtime picks up the change through its file watcher) or move those nodes to containerd',
      });
    }
  }
  if (waves.length > 0 && waves[0].length > 1 && waves.length > 1) {
    out.push({ severity: 'info', code: 'no-canary', message: `the first wave switches ${waves[0].length} nodes at once`, fix: 'a first wave of one node (a canary) limits what a bad switch can break' });
  }
  return out;
}
