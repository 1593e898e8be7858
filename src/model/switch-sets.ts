/**
 * The node switches of a step, grouped: every inventory node whose convergence is the same (same
 * wave, same runtime) is converged by one DaemonSet, so the manifests grow by a
 * node's name per node, not by a Job, and a node that leaves the cluster simply has no pod.
 *
 * Names are stable from step to step: a wave's set is the same object whether the wave is on Weave
 * or switched, so a wave commit (or its revert) changes that set's pod template and nothing else,
 * and the DaemonSet's rolling update re-runs the switch only on that wave's nodes.
 */
import type { Migration } from '../config/types';
import type { NodeInfo } from '../kube/objects';
import type { StepState } from '../steps/steps';
import { ALL_NODES_SET_NAME, runtimeOf, SWITCH_SET_PREFIX, type NodeConvergence, type NodeState } from './node-states';

export interface SwitchSet {
  /** Name of its DaemonSet (and the value of its pods' cni-migrate.io/nodes label). */
  readonly name: string;
  /**
   * The inventory nodes it converges, in inventory order.
   * @default - every Linux node, the inventory's and any that joined since (one convergence for all)
   */
  readonly nodes?: readonly string[];
  readonly convergence: NodeConvergence;
  /**
   * The lanes of the disruption budget its drains share; also how many of its pods its rolling
   * update replaces at once.
   * @default - no drains
   */
  readonly drainLanes?: number;
}

export function switchSets(migration: Migration, inventory: readonly NodeInfo[], nodes: readonly NodeState[], state: StepState): SwitchSet[] {
  if (state.calicoFinalName) {
    // From weave-removed every node, newcomer or not, converges to the same final state, so one
    // set without a name list covers them all (no drain, no restart: nothing to tell apart).
    // Nodes that converge alike share one object (nodeStates); compare the text only when they do not.
    const finalObjects = new Set(nodes.map((n) => n.convergences.find((c) => c.role === 'final')));
    const finals = finalObjects.size > 1 ? new Set([...finalObjects].map((c) => JSON.stringify(c))) : finalObjects;
    if (finals.size > 1) throw new Error(`the final convergence differs between nodes: ${[...finals].join(' / ')}`);
    const convergence = nodes[0]?.convergences.find((c) => c.role === 'final');
    return convergence ? [{ name: ALL_NODES_SET_NAME, convergence }] : [];
  }
  if (!state.calicoInstalled) return [];
  const restarts = migration.spec.nodes.restartKubelet;
  const runtimeOfNode = new Map(restarts ? inventory.map((n) => [n.name, runtimeOf(n.containerRuntime) ?? 'unknown']) : []);
  // The runtime names a set only when the restart is on (it is part of the pod) and a wave holds
  // several: the name must not depend on whether the wave has switched yet.
  const runtimesOfWave = new Map<number, Set<string>>();
  for (const n of restarts ? nodes : []) {
    if (!runtimesOfWave.has(n.wave)) runtimesOfWave.set(n.wave, new Set());
    runtimesOfWave.get(n.wave)!.add(runtimeOfNode.get(n.name)!);
  }
  const sets = new Map<string, { nodes: string[]; convergence: NodeConvergence; drainLanes?: number }>();
  for (const n of nodes) {
    const convergence = n.convergences.find((c) => c.role === 'wave');
    if (!convergence) continue;
    const byRuntime = restarts && runtimesOfWave.get(n.wave)!.size > 1;
    const name = `${SWITCH_SET_PREFIX}wave-${n.wave}${byRuntime ? `-${runtimeOfNode.get(n.name)}` : ''}`;
    const set = sets.get(name);
    if (!set) {
      sets.set(name, { nodes: [n.name], convergence, drainLanes: n.drainLanes });
    } else if (set.convergence !== convergence && JSON.stringify(set.convergence) !== JSON.stringify(convergence)) {
      // Unreachable by construction: a set's key holds everything a wave convergence depends on.
      throw new Error(`nodes of ${name} need different switches: ${set.nodes[0]} ${JSON.stringify(set.convergence)}, ${n.name} ${JSON.stringify(convergence)}`);
    } else {
      set.nodes.push(n.name);
    }
  }
  // In inventory order (a Map keeps insertion order): deterministic, and each set is its own file.
  return [...sets.entries()].map(([name, s]) => ({ name, nodes: s.nodes, convergence: s.convergence, ...(s.drainLanes ? { drainLanes: s.drainLanes } : {}) }));
}
