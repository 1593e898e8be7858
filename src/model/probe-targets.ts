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
 * Weave on a node of the last wave not switched yet (a worker if there is one), Calico on the wave
 * switched last (a worker if there is one). Neither is drained while its step runs: the next wave,
 * drained at the next step before its probe moves, never holds the Weave side (unless it is the
 * last), so the loss prober keeps counting through the drain of the wave after.
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
  if (weavePresent && switchedWaves < waves.length) out.push({ name: 'weave', cidr: cidrs.weave, node: pick(waves.slice(switchedWaves).reverse().flat()) });
  if (switchedWaves > 0) out.push({ name: 'calico', cidr: cidrs.calico, node: pick(waves[switchedWaves - 1]) });
  return out;
}
