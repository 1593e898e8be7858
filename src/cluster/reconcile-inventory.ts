/**
 * `cni-migrate snapshot --nodes-only`: an inventory commit. It brings cluster/nodes.yaml (and,
 * when the waves must stay put, spec.nodes.waves) in line with the live cluster's nodes, and
 * nothing else: nodes gone from the cluster leave the inventory and their wave (so their Jobs
 * leave the output, and the engine prunes a Job that waits for a node that no longer exists);
 * nodes that joined are added only while no wave has switched. From the first wave on they are
 * left to the newcomers' DaemonSet (NewcomerSwitch), which already put them on their step's
 * network: adding one to a wave not yet switched would send it back to Weave.
 *
 * `guard` accepts the commit this makes (nodes leave switched waves, none moves between waves).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { InputError } from '../config/errors';
import { cmp, notMigratable, type InventoryReconciliation, type NodeInfo } from '../kube/objects';
import { loadPlan } from '../plan/migration-plan';
import { isControlPlane } from '../steps/waves';
import { writeFilesAtomically } from '../steps/transitions';
import type { ApiClient } from './api-client';
import { nodeInfo, toYaml } from './take-snapshot';
import { someOf } from '../util/name-list';

export interface ReconcileResult extends InventoryReconciliation {
  /** spec.nodes.waves was written (pinned from the strategy, or edited). */
  readonly wavesWritten: boolean;
}

/**
 * Read the live nodes through `api` and rewrite `clusterDir`/nodes.yaml (and spec.nodes.waves in
 * `configFile` when needed). Everything is checked before the first write; nothing is written when
 * nothing changed.
 */
export async function reconcileInventory(api: ApiClient, configFile: string, clusterDir: string): Promise<ReconcileResult> {
  const plan = loadPlan({ configFile, clusterDir });
  const shown = path.relative(process.cwd(), configFile) || configFile;
  const live = (await api.list<any>('/api/v1/nodes', 'nodes')).map(nodeInfo);
  if (live.length === 0) {
    throw new InputError('snapshot --nodes-only', 'nodes', 'the API server listed no nodes; nothing was written', 'a cluster with nodes (is the kubeconfig pointing at the right cluster?)');
  }
  const liveNames = new Set(live.map((n) => n.name));
  const inventory = [...plan.snapshot.nodes, ...(plan.snapshot.otherNodes ?? [])];
  const known = new Set(inventory.map((n) => n.name));
  const removed = inventory.filter((n) => !liveNames.has(n.name)).map((n) => n.name).sort(cmp);
  const joined = live.filter((n) => !known.has(n.name));
  const beforeFirstWave = plan.state.switchedWaves === 0;
  // Windows nodes and virtual kubelets run no Job and sit in no wave: recording them changes nothing.
  const added = joined.filter((n) => beforeFirstWave || notMigratable(n));
  const leftToNewcomers = joined.filter((n) => !added.includes(n)).map((n) => n.name).sort(cmp);
  const gone = new Set(removed);
  const addedMigratable = added.filter((n) => !notMigratable(n));

  // The waves must not reshape once one has switched: the strategy would deal the remaining nodes
  // out again, so they are pinned as they are now, minus the nodes gone.
  const pinned = plan.migration.spec.nodes.waves;
  let waves: string[][] | undefined;
  if (removed.length > 0 || (pinned && addedMigratable.length > 0)) {
    if (pinned || !beforeFirstWave) waves = plan.waves.map((w) => w.filter((n) => !gone.has(n)));
  }
  if (waves && addedMigratable.length > 0) {
    // Only before the first wave: into the last wave of workers, where a new node waits longest.
    const byName = new Map(plan.snapshot.nodes.map((n) => [n.name, n]));
    const workerWave = Math.max(0, ...waves.map((w, i) => (w.some((n) => !isControlPlane(byName.get(n)!)) ? i : 0)));
    waves[workerWave] = [...waves[workerWave], ...addedMigratable.map((n) => n.name).sort(cmp)];
  }
  const empty = waves?.findIndex((w) => w.length === 0) ?? -1;
  if (empty >= 0) {
    throw new InputError(shown, `spec.nodes.waves[${empty}]`, `every node of wave ${empty + 1} is gone from the cluster (${someOf(plan.waves[empty], 5)}); removing the wave would renumber the steps after it`, 'edit spec.nodes.waves by hand (move a live node into that wave before it switches, or remove the wave while the step is before it); nothing was written');
  }
  const remaining = inventory.filter((n) => !gone.has(n.name));
  if (!remaining.some((n) => !notMigratable(n)) && addedMigratable.length === 0) {
    throw new InputError('snapshot --nodes-only', 'nodes', `every inventory node that migrates is gone from the cluster (${someOf(removed, 5)})`, 'a cluster that still has Linux nodes; nothing was written');
  }

  const result = { atStep: plan.step.name, removed, added: added.map((n) => n.name).sort(cmp), leftToNewcomers };
  if (removed.length === 0 && added.length === 0 && !waves) return { ...result, wavesWritten: false };

  const nodes: NodeInfo[] = [...remaining, ...added].sort((a, b) => cmp(a.name, b.name));
  const inventoryText = toYaml({ apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NodeInventory', reconciled: result, nodes });
  let configText: string | undefined;
  if (waves) {
    const doc = YAML.parseDocument(fs.readFileSync(configFile, 'utf8'), { keepSourceTokens: true });
    doc.setIn(['spec', 'nodes', 'waves'], doc.createNode(waves, { flow: false }));
    // Pinned waves replace the strategy: keeping both would leave a reader guessing which applies.
    if (doc.hasIn(['spec', 'nodes', 'waveStrategy'])) doc.deleteIn(['spec', 'nodes', 'waveStrategy']);
    configText = doc.toString({ lineWidth: 0 });
  }
  // Both written before either is renamed into place; migration.yaml renamed first: should the
  // second rename fail, synth names the nodes in no wave rather than silently switching a wave that
  // lost track of one.
  writeFilesAtomically([...(configText !== undefined ? [{ file: configFile, text: configText }] : []), { file: path.join(clusterDir, 'nodes.yaml'), text: inventoryText }]);
  return { ...result, wavesWritten: configText !== undefined };
}
