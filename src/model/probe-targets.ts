/**
 * Where the connectivity probe runs at a step: one server per network that carries new pods, each
 * on a node that gives it that network.
 */

export interface ProbeNetwork {
  /** weave or calico. */
  readonly name: 'weave' | 'calico';
  readonly cidr: string;
  /** A node whose new pods get this network at the step. */
  readonly node: string;
}

/**
 * Weave on a node not switched yet (a worker if there is one), Calico on the wave switched last
 * (a worker if there is one); nodes in wave order.
 */
export function probeNetworks(
  waves: readonly (readonly string[])[],
  controlPlane: ReadonlySet<string>,
  switchedWaves: number,
  weavePresent: boolean,
  cidrs: { readonly weave: string; readonly calico: string },
): ProbeNetwork[] {
  const pick = (names: readonly string[]) => names.find((n) => !controlPlane.has(n)) ?? names[0];
  const out: ProbeNetwork[] = [];
  if (weavePresent && switchedWaves < waves.length) out.push({ name: 'weave', cidr: cidrs.weave, node: pick(waves.slice(switchedWaves).flat()) });
  if (switchedWaves > 0) out.push({ name: 'calico', cidr: cidrs.calico, node: pick(waves[switchedWaves - 1]) });
  return out;
}
