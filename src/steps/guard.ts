/**
 * guard: the CI check that a commit moves the migration by at most one step and does not reshape
 * the plan under steps already applied. Reads migration.yaml and cluster/nodes.yaml at two git
 * revisions; never touches the working tree.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { nodesOnlySnapshot, parseNodeInventory } from '../cluster/snapshot';
import { InputError } from '../config/errors';
import { loadMigrationText } from '../config/load';
import type { Migration } from '../config/types';
import { parseYamlDocument } from '../config/yaml-file';
import { stableJson } from '../util/stable-json';
import { buildPlan, type MigrationPlan } from '../plan/migration-plan';
import { someOf } from '../util/name-list';

export interface GuardResult {
  readonly ok: boolean;
  /** One line: what moved, or why it is refused. */
  readonly reason: string;
}

export interface GuardOptions {
  /** Path of migration.yaml in the working tree (its folder is where git runs). */
  readonly configFile: string;
  /** Base revision. */
  readonly from: string;
  /**
   * Head revision.
   * @default - the working tree
   */
  readonly to?: string;
  /**
   * Allow the revert from weave-removed, which cannot restore what Weave's cleanup removed.
   * @default false
   */
  readonly allowWeaveRevert?: boolean;
}

export function guard(opts: GuardOptions): GuardResult {
  const dir = path.dirname(path.resolve(opts.configFile));
  const base = path.basename(opts.configFile);
  const from = readPlanAt(dir, base, opts.from);
  const to = readPlanAt(dir, base, opts.to);
  const label = (rev?: string) => rev ?? 'the working tree';
  if (!to) {
    return { ok: false, reason: `${base} does not exist at ${label(opts.to)}` };
  }
  if (!from) {
    return to.step.index === 0
      ? { ok: true, reason: `migration starts at ${to.step.name}` }
      : { ok: false, reason: `${base} is new at ${label(opts.to)} but starts at step ${to.step.name}; a migration must start at ${to.steps[0].name}` };
  }
  const missing = missingBackup(dir, to, opts.to);
  if (missing) return { ok: false, reason: missing };
  return compare(from, to, opts.allowWeaveRevert ?? false);
}

/**
 * The backups the target step applies must be in the commit: a commit that deletes cluster/weave
 * or cluster/networkpolicies while they are part of the desired state would make the engine prune
 * Weave or every policy from the live cluster.
 */
function missingBackup(dir: string, to: MigrationPlan, rev: string | undefined): string | undefined {
  const need: [string, boolean][] = [
    ['cluster/weave/daemonset-kube-system-weave-net.yaml', to.state.weavePresent],
    // Applied, or (while suspended) the only copy a later step restores.
    ['cluster/networkpolicies', true],
  ];
  for (const [rel, needed] of need) {
    if (needed && !existsAt(dir, rel, rev)) {
      const what = rel.includes('weave') ? `step ${to.step.name} applies it: the engine would prune Weave Net from the cluster while pods use it` : `step ${to.step.name} ${to.state.policiesPresent ? 'applies it: the engine would delete every NetworkPolicy in the cluster' : 'keeps it as the only backup of the suspended NetworkPolicies'}`;
      return `${rel} is missing at ${rev ?? 'the working tree'}, but ${what}; restore it from git history`;
    }
  }
  return undefined;
}

function existsAt(dir: string, rel: string, rev: string | undefined): boolean {
  if (rev === undefined) return fs.existsSync(path.join(dir, rel));
  return spawnSync('git', ['cat-file', '-e', `${rev}:./${rel}`], { cwd: dir, stdio: 'ignore' }).status === 0;
}

/** The guard's rules, on two already-built plans. */
export function compare(from: MigrationPlan, to: MigrationPlan, allowWeaveRevert = false): GuardResult {
  const a = from.step;
  const b = to.step;
  const move = b.index - a.index;
  const fromSpec = from.migration.spec;
  const toSpec = to.migration.spec;
  const sameExceptStep = stableJson({ ...fromSpec, step: '' }) === stableJson({ ...toSpec, step: '' });

  if (from.waves.length !== to.waves.length && a.name !== b.name) {
    return { ok: false, reason: `the number of waves changed (${from.waves.length} → ${to.waves.length}) in the same commit as the step (${a.name} → ${b.name}); change the waves in a commit of its own` };
  }
  if (Math.abs(move) > 1) {
    return { ok: false, reason: `step moved from ${a.name} to ${b.name}, ${Math.abs(move)} positions; a commit may move it by one (cni-migrate advance / retreat)` };
  }
  if (move !== 0 && !sameExceptStep) {
    return { ok: false, reason: `the commit moves the step (${a.name} → ${b.name}) and also changes other settings in migration.yaml (${changedKeys(fromSpec, toSpec).join(', ')}); make them separate commits` };
  }
  const switched = Math.max(from.state.switchedWaves, to.state.switchedWaves);
  // Switched waves may lose nodes (gone from the cluster: an inventory commit), never gain one or
  // send one to another wave: that node would go back to Weave, or switch twice.
  const waveOfAfter = new Map(to.waves.flatMap((w, i) => w.map((n) => [n, i + 1] as const)));
  const removed: string[] = [];
  for (let w = 1; w <= switched && w <= from.waves.length; w++) {
    const before = new Set(from.waves[w - 1]);
    const after = to.waves[w - 1] ?? [];
    const added = after.filter((n) => !before.has(n));
    if (added.length > 0) {
      return { ok: false, reason: `wave ${w} is already switched to Calico, but the commit adds ${someOf(added, 5)} to it; add new nodes to a wave not yet switched` };
    }
    for (const n of before) {
      if (after.includes(n)) continue;
      const moved = waveOfAfter.get(n);
      if (moved !== undefined) {
        return { ok: false, reason: `node ${n} moves from wave ${w}, already switched to Calico, to wave ${moved}; switched waves cannot be edited (to keep waves stable while the inventory changes, pin them with spec.nodes.waves)` };
      }
      removed.push(n);
    }
  }
  if (from.state.calicoInstalled && stableJson(fromSpec.network) !== stableJson(toSpec.network)) {
    return { ok: false, reason: `spec.network changed after step calico applied; Calico creates its IP pool once and ignores later changes, and the cluster CIDR depends on it` };
  }
  // From the first wave until finalized, switched nodes run on 05-calico.conflist, a copy of
  // Calico's conflist made once by their switch Job; install-cni would rewrite Calico's own file
  // with new settings (MTU, IPAM, version) but the copy, which is what the runtime loads, would
  // keep the old ones.
  const onCopy = (p: MigrationPlan) => p.state.switchedWaves > 0 && !p.state.calicoNative;
  if ((onCopy(from) || onCopy(to)) && stableJson(fromSpec.calico) !== stableJson(toSpec.calico)) {
    return { ok: false, reason: `spec.calico changed while switched nodes run on a copy of Calico's conflist (05-calico.conflist, from nodes-1 until finalized): Calico would rewrite its own file, but the copy the runtime loads would keep the old settings; change spec.calico before the first wave, or once the migration is finalized` };
  }
  if (a.index > 0 && fromSpec.gitops.engine !== toSpec.gitops.engine) {
    return { ok: false, reason: `spec.gitops.engine changed (${fromSpec.gitops.engine} → ${toSpec.gitops.engine}) mid-migration; the new engine would not own what the old one applied` };
  }
  if (from.state.clusterCidr !== 'original' && fromSpec.controlPlane.mode !== toSpec.controlPlane.mode) {
    return { ok: false, reason: 'spec.controlPlane.mode changed after the cluster CIDR was set' };
  }
  if (move === -1 && a.kind === 'weave-removed' && !allowWeaveRevert) {
    return { ok: false, reason: 'reverting weave-removed brings Weave back, but not the state its cleanup removed from the nodes (Weave IPAM data, its peer list); run the guard with --allow-weave-revert (or set CNI_MIGRATE_ALLOW_WEAVE_REVERT=1) to accept that' };
  }
  if (move === 1) return { ok: true, reason: `one step forward: ${a.name} → ${b.name}` };
  if (move === -1) return { ok: true, reason: `one step back: ${a.name} → ${b.name}` };
  const inventory = removed.length > 0 || stableJson(from.waves) !== stableJson(to.waves) ? `; inventory: ${inventoryChange(from, to, removed)}` : '';
  return { ok: true, reason: `step unchanged (${a.name})${sameExceptStep ? '' : `; settings changed: ${changedKeys(fromSpec, toSpec).join(', ')}`}${inventory}` };
}

/** What an inventory commit changes: nodes gone from switched waves, nodes added to later ones. */
function inventoryChange(from: MigrationPlan, to: MigrationPlan, removed: readonly string[]): string {
  const before = new Set(from.waves.flat());
  const after = new Set(to.waves.flat());
  const waveOf = new Map(to.waves.flatMap((w, i) => w.map((n) => [n, i + 1] as const)));
  const gone = [...before].filter((n) => !after.has(n));
  const added = [...after].filter((n) => !before.has(n)).map((n) => `${n} to wave ${waveOf.get(n)}`);
  const parts = [
    ...(gone.length ? [`removed ${someOf(gone, 5)}${removed.length ? ` (${removed.length} from switched waves)` : ''}`] : []),
    ...(added.length ? [`added ${someOf(added, 5)}`] : []),
  ];
  return parts.length ? parts.join('; ') : 'waves not yet switched reshaped';
}

function changedKeys(a: Migration['spec'], b: Migration['spec']): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => k !== 'step').sort();
  return keys
    .filter((k) => stableJson((a as unknown as Record<string, unknown>)[k]) !== stableJson((b as unknown as Record<string, unknown>)[k]))
    .map((k) => `spec.${k}`);
}

/** Build a plan from the files at `rev` (or the working tree); undefined when migration.yaml is absent there. */
function readPlanAt(dir: string, base: string, rev: string | undefined): MigrationPlan | undefined {
  const where = rev ?? 'working tree';
  const configText = readAt(dir, base, rev);
  if (configText === undefined) return undefined;
  const shown = `${base}@${where}`;
  const migration = loadMigrationText(configText, shown);
  const nodesShown = `cluster/nodes.yaml@${where}`;
  const nodesText = readAt(dir, 'cluster/nodes.yaml', rev);
  if (nodesText === undefined) {
    throw new InputError(nodesShown, '(file)', 'file not found', 'the node inventory written by `cni-migrate snapshot`');
  }
  const nodes = parseNodeInventory(parseYamlDocument(nodesText, nodesShown), nodesShown);
  return buildPlan(migration, nodesOnlySnapshot(nodes, `cluster@${where}`), shown);
}

function readAt(dir: string, rel: string, rev: string | undefined): string | undefined {
  if (rev === undefined) {
    try {
      return fs.readFileSync(path.join(dir, rel), 'utf8');
    } catch {
      return undefined;
    }
  }
  if (!/^[A-Za-z0-9_./~^@{}-]+$/.test(rev) || rev.startsWith('-')) {
    throw new InputError('--from/--to', 'revision', `got ${JSON.stringify(rev)}`, 'a git revision such as origin/main, HEAD~1 or a commit id');
  }
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    throw new InputError('--from/--to', 'revision', `${JSON.stringify(rev)} is not a commit in this repository`, 'a git revision such as origin/main, HEAD~1 or a commit id');
  }
  try {
    return execFileSync('git', ['show', `${rev}:./${rel}`], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}
