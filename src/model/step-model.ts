/**
 * The step model: everything a step means, as plain data, computed once from migration.yaml and
 * cluster/. It is the one source of truth: the constructs render it into Kubernetes objects, and
 * PLAN.md, step.json, `status`, the gates and `guard` read it, never a construct. No cdk8s here.
 */
import type { Migration } from '../config/types';
import type { ClusterSnapshot, KubeObject } from '../kube/objects';
import type { NetworkPlan } from '../network/network-plan';
import type { ClusterCidrPhase, Step, StepState } from '../steps/steps';
import { isControlPlane } from '../steps/waves';
import { ownedWeaveObjects } from './adopted-objects';
import { freezeSupported, restoredPolicies, type PolicyFreeze, type RestoredPolicies } from './policy-restore';
import { coexistenceFor, type CalicoCoexistence } from './calico-settings';
import { clusterCidrTargets, type ClusterCidrTargets } from './cluster-cidr-targets';
import { COEXISTENCE_CONF_NAME, FINAL_CONF_NAME } from './conflist-names';
import { gateChecksFor, type GateChecks } from './gate-checks';
import { newcomerState, nodeStates, type NewcomerState, type NodeState } from './node-states';
import { probeNetworks, type ProbeNetwork } from './probe-targets';
import { switchSets, type SwitchSet } from './switch-sets';

/** What the model is computed from (a MigrationPlan is one). */
export interface StepModelInputs {
  readonly migration: Migration;
  readonly snapshot: ClusterSnapshot;
  readonly waves: readonly (readonly string[])[];
  readonly waveOf: ReadonlyMap<string, number>;
  readonly step: Step;
  readonly state: StepState;
  readonly network: NetworkPlan;
}

export interface StepModel {
  readonly step: Step;
  readonly state: StepState;
  /** Every inventory node, in inventory order. */
  readonly nodes: readonly NodeState[];
  /** The DaemonSets that converge the inventory's nodes, each a group of nodes with one switch. */
  readonly switchSets: readonly SwitchSet[];
  /** Linux nodes that are not in the inventory (joined since the snapshot), whatever their number. */
  readonly newcomers: NewcomerState;
  readonly calico: {
    readonly installed: boolean;
    /** The name install-cni gives Calico's conflist at this step. */
    readonly confName: string;
    readonly coexistence: CalicoCoexistence;
  };
  readonly clusterCidr: {
    readonly phase: ClusterCidrPhase;
    /** The value kube-proxy and kube-controller-manager use; undefined: as captured. */
    readonly value?: string;
    /** What each object holds at each phase; undefined before Calico is installed (no Jobs yet). */
    readonly targets?: ClusterCidrTargets;
  };
  readonly policies: {
    readonly present: boolean;
    /** The NetworkPolicies as applied at this step (rewritten when restored); empty when suspended. */
    readonly objects: readonly KubeObject[];
    /** The policies as `policies-restored` applies them, whatever the step: what the checks read. */
    readonly asRestored: RestoredPolicies;
    /** While the policies are suspended, the freeze on creating or changing NetworkPolicies. */
    readonly freeze?: PolicyFreeze;
  };
  readonly weave: {
    readonly present: boolean;
    /** Weave's objects GitOps owns at this step; empty once removed. */
    readonly objects: readonly KubeObject[];
    /** Every Weave object GitOps may own (what `adopt` takes over and a revert brings back). */
    readonly owned: readonly KubeObject[];
  };
  /** The gate of the step; undefined when it has none. */
  readonly gate?: GateChecks;
  /**
   * The networks the connectivity probe checks; empty when it is off, before Calico runs and once
   * the migration is finalized.
   */
  readonly probe: readonly ProbeNetwork[];
  /** The nodes whose IP-in-IP tunnels are checked at this step: the next wave's; empty when none. */
  readonly tunnelCheck: readonly string[];
}

export function buildStepModel(inputs: StepModelInputs): StepModel {
  const { migration, snapshot, waves, waveOf, step, state, network: net } = inputs;
  const spec = migration.spec;
  const phaseValue = state.clusterCidr === 'original' ? undefined : state.clusterCidr === 'supernet' ? net.supernet.toString() : net.finalClusterCidr.toString();
  const asRestored = restoredPolicies(snapshot.networkPolicies, spec.policies);
  const policies = !state.policiesPresent ? [] : state.policiesRestored ? asRestored.objects : snapshot.networkPolicies;
  const owned = ownedWeaveObjects(snapshot.weaveObjects);
  const controlPlane = new Set(snapshot.nodes.filter(isControlPlane).map((n) => n.name));
  const nodes = nodeStates(migration, snapshot.nodes, waveOf, state);
  const waveNodes = step.kind === 'nodes' ? nodes.filter((n) => n.wave === step.wave) : [];
  // With drains on, the node step's gate checks there is room for what the wave's lanes evict.
  // The probe runs while the cluster carries Calico and the migration is not over: `finalized`
  // removes it with everything else the migration added.
  const probing = spec.probe.enabled && state.calicoInstalled && step.kind !== 'finalized';
  const drainCapacity = spec.nodes.drain && waveNodes.length > 0
    ? { wave: step.wave!, waveNodes: waveNodes.map((n) => n.name), concurrent: waveNodes[0].drainLanes! }
    : undefined;
  const sets = switchSets(migration, snapshot.nodes, nodes, state);
  return {
    step,
    state,
    nodes,
    switchSets: sets,
    newcomers: newcomerState(migration, snapshot.nodes, state),
    calico: {
      installed: state.calicoInstalled,
      confName: state.calicoFinalName ? FINAL_CONF_NAME : COEXISTENCE_CONF_NAME,
      coexistence: coexistenceFor(migration, snapshot, net.calico.toString(), state.calicoFinalName, snapshot.nodes.length),
    },
    clusterCidr: {
      phase: state.clusterCidr,
      value: phaseValue,
      targets: state.calicoInstalled ? clusterCidrTargets(snapshot, net, spec.controlPlane.mode) : undefined,
    },
    policies: {
      present: state.policiesPresent,
      objects: policies,
      asRestored,
      freeze: !state.policiesPresent && freezeSupported(snapshot) ? { migration: migration.metadata.name } : undefined,
    },
    weave: { present: state.weavePresent, objects: state.weavePresent ? owned : [], owned },
    gate: gateChecksFor(step.kind, net.weave.toString(), net.calico.toString(), drainCapacity, sets.filter((s) => s.convergence.desired === 'weave-first').map((s) => s.name)),
    probe: probing
      ? probeNetworks(waves, controlPlane, state.switchedWaves, state.weavePresent, { weave: net.weave.toString(), calico: net.calico.toString() })
      : [],
    // Before a wave's pods move onto Calico, its nodes prove their tunnels: at the step before the
    // wave's (from `calico` on, once calico-node runs everywhere).
    tunnelCheck: probing && state.weavePresent && state.switchedWaves < waves.length ? [...waves[state.switchedWaves]] : [],
  };
}
