/**
 * The step model: the ordered steps of a migration with W waves, and the desired state of the
 * cluster at each one. Constructs read the state, never the step name, so adding a step means
 * changing this file only.
 */

/** What kind of step it is; `nodes` steps carry their wave number. */
export type StepKind =
  | 'adopt'
  | 'calico'
  | 'cluster-cidr'
  | 'policies-suspended'
  | 'nodes'
  | 'weave-removed'
  | 'policies-restored'
  | 'finalized';

export interface Step {
  readonly name: string;
  /** Position in the list, from 0. */
  readonly index: number;
  readonly kind: StepKind;
  /** For `nodes` steps: the wave this step switches, from 1. */
  readonly wave?: number;
}

/** Which value kube-controller-manager and kube-proxy use for the cluster CIDR. */
export type ClusterCidrPhase = 'original' | 'supernet' | 'final';

/** Cumulative desired state of the cluster at a step. */
export interface StepState {
  /** calico-node and friends are installed. */
  readonly calicoInstalled: boolean;
  readonly clusterCidr: ClusterCidrPhase;
  /** The backed-up NetworkPolicies are part of the desired state. */
  readonly policiesPresent: boolean;
  /** The policies are the restored copies (ipBlock rewrites may apply). */
  readonly policiesRestored: boolean;
  /** Waves 1..switchedWaves have Calico first. */
  readonly switchedWaves: number;
  /** Weave's objects are part of the desired state. */
  readonly weavePresent: boolean;
  /** Calico uses its final conflist name (10-calico.conflist). */
  readonly calicoFinalName: boolean;
  /** Nodes drop the 05-calico.conflist copy and run on Calico's own file. */
  readonly calicoNative: boolean;
}

const PREFIX = ['adopt', 'calico', 'cluster-cidr', 'policies-suspended'] as const;
const SUFFIX = ['weave-removed', 'policies-restored', 'finalized'] as const;

/** The steps of a migration with `waveCount` waves. */
export function stepList(waveCount: number): Step[] {
  if (!Number.isInteger(waveCount) || waveCount < 1) {
    throw new Error(`a migration needs at least one wave, got ${waveCount}`);
  }
  const names: { name: string; kind: StepKind; wave?: number }[] = [
    ...PREFIX.map((k) => ({ name: k, kind: k as StepKind })),
    ...Array.from({ length: waveCount }, (_, i) => ({ name: `nodes-${i + 1}`, kind: 'nodes' as StepKind, wave: i + 1 })),
    ...SUFFIX.map((k) => ({ name: k, kind: k as StepKind })),
  ];
  return names.map((s, index) => ({ ...s, index }));
}

/** Desired state at `step` in a migration of `waveCount` waves. */
export function stateAt(step: Step, waveCount: number): StepState {
  const i = step.index;
  const at = (kind: StepKind) => i >= indexOfKind(kind, waveCount);
  return {
    calicoInstalled: at('calico'),
    clusterCidr: at('finalized') ? 'final' : at('cluster-cidr') ? 'supernet' : 'original',
    policiesPresent: !at('policies-suspended') || at('policies-restored'),
    policiesRestored: at('policies-restored'),
    switchedWaves: at('weave-removed') ? waveCount : step.kind === 'nodes' ? step.wave! : 0,
    weavePresent: !at('weave-removed'),
    calicoFinalName: at('weave-removed'),
    calicoNative: at('finalized'),
  };
}

function indexOfKind(kind: StepKind, waveCount: number): number {
  const p = (PREFIX as readonly string[]).indexOf(kind);
  if (p >= 0) return p;
  if (kind === 'nodes') return PREFIX.length;
  return PREFIX.length + waveCount + (SUFFIX as readonly string[]).indexOf(kind);
}

/** Find a step by name; undefined when the name is not in this migration's list. */
export function findStep(steps: readonly Step[], name: string): Step | undefined {
  return steps.find((s) => s.name === name);
}
