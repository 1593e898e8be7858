/**
 * Waves: which nodes switch to Calico together. Either the operator lists them, or they grow from
 * a canary by a factor up to a cap, with control-plane nodes last.
 */
import { notMigratable, type NodeInfo } from '../kube/objects';
import { InputError } from '../config/errors';
import type { NodesSpec, WaveStrategySpec } from '../config/types';

/** Roles that mark a control-plane node (kubeadm labels both on old clusters). */
const CONTROL_PLANE_ROLES = new Set(['control-plane', 'master']);

export function isControlPlane(node: NodeInfo): boolean {
  for (const r of node.roles) if (CONTROL_PLANE_ROLES.has(r)) return true;
  return false;
}

/**
 * Resolve the waves for `nodes` (sorted by name). Explicit waves must name every node exactly
 * once; `file` names migration.yaml in errors.
 */
export function resolveWaves(spec: NodesSpec, nodes: readonly NodeInfo[], file: string, otherNodes: readonly NodeInfo[] = []): string[][] {
  if (spec.waves) {
    return checkExplicitWaves(spec.waves, nodes, file, otherNodes);
  }
  return strategyWaves(spec.waveStrategy, nodes);
}

function checkExplicitWaves(waves: readonly (readonly string[])[], nodes: readonly NodeInfo[], file: string, otherNodes: readonly NodeInfo[]): string[][] {
  const known = new Set<string>();
  for (const n of nodes) known.add(n.name);
  const others = new Map(otherNodes.map((n) => [n.name, n]));
  // Wave number of each placed node; the field names of errors are built only for an error.
  const placed = new Map<string, number>();
  for (let w = 0; w < waves.length; w++) {
    const wave = waves[w];
    for (let i = 0; i < wave.length; i++) {
      const name = wave[i];
      if (known.has(name) && !placed.has(name)) {
        placed.set(name, w);
        continue;
      }
      const field = `spec.nodes.waves[${w}][${i}]`;
      if (others.has(name)) {
        throw new InputError(file, field, `node "${name}" is ${notMigratable(others.get(name)!)}, which cannot run the node switches or calico-node`, 'Linux nodes only: leave it out of the waves');
      }
      if (!known.has(name)) {
        throw new InputError(file, field, `node "${name}" is not in the inventory`, `a node of cluster/nodes.yaml (${preview([...known])})`);
      }
      throw new InputError(file, field, `node "${name}" is already in spec.nodes.waves[${placed.get(name)}]`, 'each node in exactly one wave');
    }
  }
  if (placed.size < known.size) {
    const missing = nodes.filter((n) => !placed.has(n.name)).map((n) => n.name);
    throw new InputError(file, 'spec.nodes.waves', `${missing.length} node(s) are in no wave: ${preview(missing)}`, 'every node of cluster/nodes.yaml in exactly one wave');
  }
  return waves.map((w) => [...w]);
}

/** A count of nodes given as a number or a share such as "25%" of `total` (rounded down, at least 1). */
export function nodeCountOf(countOrShare: number | string, total: number): number {
  if (typeof countOrShare === 'number') return countOrShare;
  return Math.max(1, Math.floor((total * Number(countOrShare.replace('%', ''))) / 100));
}

/** maxWaveSize as a number of nodes: itself, or its share of `workers` (at least 1). */
export function maxWaveNodes(maxWaveSize: number | string, workers: number): number {
  return nodeCountOf(maxWaveSize, workers);
}

function strategyWaves(s: WaveStrategySpec, nodes: readonly NodeInfo[]): string[][] {
  const workers = nodes.filter((n) => !isControlPlane(n)).map((n) => n.name);
  const controlPlane = nodes.filter(isControlPlane).map((n) => n.name);
  const waves: string[][] = [];
  const max = maxWaveNodes(s.maxWaveSize, workers.length);
  let size = Math.min(s.canary, max);
  for (let i = 0; i < workers.length; ) {
    waves.push(workers.slice(i, i + size));
    i += size;
    // ceil keeps a factor like 1.5 growing from small waves instead of stalling at 1.
    size = Math.min(max, Math.max(size + (s.growthFactor > 1 ? 1 : 0), Math.ceil(size * s.growthFactor)));
  }
  for (let i = 0; i < controlPlane.length; i += s.controlPlaneWaveSize) {
    waves.push(controlPlane.slice(i, i + s.controlPlaneWaveSize));
  }
  return waves;
}

function preview(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, ... (${names.length} in all)`;
}
