/**
 * What each node should look like at a step: which network its new pods get, which conflist sorts
 * first in its /etc/cni/net.d, whether it is drained when it switches, whether Weave's leftovers
 * must be gone, and the convergences (one per switch DaemonSet that selects it) that bring it there.
 */
import type { Migration } from '../config/types';
import type { NodeInfo } from '../kube/objects';
import type { StepState } from '../steps/steps';
import { isControlPlane, nodeCountOf } from '../steps/waves';
import { COEXISTENCE_CONF_NAME, FINAL_CONF_NAME, PRIORITY_CONF_NAME, WEAVE_CONF_NAME } from './conflist-names';

/** The DaemonSet of the nodes missing from the inventory (before Calico's final name). */
export const NEWCOMER_SET_NAME = 'cni-migrate-newcomer-switch';
/** The prefix of the inventory's switch DaemonSets (cni-migrate-switch-wave-N…, cni-migrate-switch-all). */
export const SWITCH_SET_PREFIX = 'cni-migrate-switch-';
/** The DaemonSet of every Linux node, from Calico's final name on. */
export const ALL_NODES_SET_NAME = `${SWITCH_SET_PREFIX}all`;

/** The state a node switch converges /etc/cni/net.d to. */
export type NodeCniState = 'calico-first' | 'weave-first' | 'calico-native';

/** One convergence of a node's CNI folder: what one node switch does. */
export interface NodeConvergence {
  /** Distinguishes the node's convergences: `wave` (its wave's switch) or `final` (Calico's final name). */
  readonly role: 'wave' | 'final';
  readonly desired: NodeCniState;
  /** Calico's own conflist, which the copy mirrors (or which must be first, for calico-native). */
  readonly calicoConfName: string;
  /**
   * Cordon and drain around the switch.
   * @default - no drain
   */
  readonly drain?: { readonly timeoutSeconds: number; readonly restartDaemonSetPods: boolean };
  /**
   * Restart the runtime and the kubelet after the switch.
   * @default - no restart
   */
  readonly restartRuntime?: 'containerd' | 'crio';
  /**
   * The node carries the taint cni-migrate.io/on-weave:PreferNoSchedule (with drains on): a node
   * still on Weave while other waves switch, so evicted pods prefer switched nodes.
   * @default false
   */
  readonly weaveTaint?: boolean;
}

export interface NodeState {
  readonly name: string;
  /** Its wave, from 1. */
  readonly wave: number;
  readonly controlPlane: boolean;
  /** Whether its wave has switched at this step. */
  readonly switched: boolean;
  /** The network new pods on the node get. */
  readonly network: 'weave' | 'calico';
  /** The conflist that sorts first in /etc/cni/net.d once the node has converged. */
  readonly firstConflist: string;
  /** Pods on the node are evicted when it switches (so none keeps a Weave IP there). */
  readonly drainedOnSwitch: boolean;
  /** Weave's conflist, binaries, links, chains and ipsets must be gone from the node. */
  readonly weaveLeftoversRemoved: boolean;
  /** The switches of the node at this step (switch-sets.ts groups them into DaemonSets). */
  readonly convergences: readonly NodeConvergence[];
  /**
   * How many lanes of the disruption budget (spec.nodes.maxConcurrentDrains) its wave's drains
   * share, with drains on: the budget, or the wave's size if smaller. A drain takes any free lane
   * (a Lease each, cni-migrate-drain-lane-<n>) and whichever switch uncordons the node gives it back.
   * @default - no drains
   */
  readonly drainLanes?: number;
}

/** The lanes each wave's drains share: the budget, or the wave's size if smaller. */
function waveLanes(budget: number, nodes: readonly NodeInfo[], waveOf: ReadonlyMap<string, number>): Map<number, number> {
  const sizes = new Map<number, number>();
  for (const n of nodes) {
    const wave = waveOf.get(n.name)!;
    sizes.set(wave, (sizes.get(wave) ?? 0) + 1);
  }
  return new Map([...sizes].map(([w, size]) => [w, Math.min(budget, size)]));
}

/** The systemd unit of a node's runtime, from containerRuntimeVersion (containerd://1.7, cri-o://1.30). */
export function runtimeOf(version: string): 'containerd' | 'crio' | undefined {
  if (version.startsWith('containerd://')) return 'containerd';
  if (version.startsWith('cri-o://')) return 'crio';
  return undefined;
}

export function nodeStates(migration: Migration, nodes: readonly NodeInfo[], waveOf: ReadonlyMap<string, number>, state: StepState): NodeState[] {
  const spec = migration.spec.nodes;
  const lanes = spec.drain ? waveLanes(nodeCountOf(spec.maxConcurrentDrains, nodes.length), nodes, waveOf) : undefined;
  // Nodes that converge alike share one convergence object (there are only a few distinct ones),
  // so that grouping thousands of nodes into their DaemonSets compares them by identity.
  const waveConvergences = new Map<string, NodeConvergence>();
  /** `runtime`: the one to restart (only a switched node's, with restartKubelet on), else undefined. */
  const waveConvergence = (switched: boolean, runtime: 'containerd' | 'crio' | undefined): NodeConvergence => {
    const key = `${switched}/${runtime}`;
    let c = waveConvergences.get(key);
    if (!c) {
      // The switch of the node's wave stays unchanged until Calico takes its final name. One run
      // again (a revert, a restarted pod) inspects the node first and drains nothing when it
      // is converged already (node-switch.sh VERDICT_FILE).
      c = {
        role: 'wave',
        desired: switched ? 'calico-first' : 'weave-first',
        calicoConfName: COEXISTENCE_CONF_NAME,
        drain: switched && spec.drain ? { timeoutSeconds: spec.drainTimeoutSeconds, restartDaemonSetPods: spec.restartDaemonSetPods } : undefined,
        // An unknown runtime is refused by the restart-unknown-runtime finding before synth.
        restartRuntime: runtime,
        // The node phase: some waves switched, this one not yet.
        weaveTaint: spec.drain && !switched && state.switchedWaves > 0,
      };
      waveConvergences.set(key, c);
    }
    return c;
  };
  // Calico now writes 10-calico.conflist, and install-cni has removed 20-calico.conflist, so
  // this replaces the wave's switch (which would refuse: its source is gone). Until finalized the
  // copy mirrors it (so a revert to the 20-calico.conflist name keeps the node on Calico); at
  // finalized the copy goes. One switch per node per step.
  const finalConvergence: NodeConvergence | undefined = state.calicoFinalName
    ? { role: 'final', desired: state.calicoNative ? 'calico-native' : 'calico-first', calicoConfName: FINAL_CONF_NAME }
    : undefined;
  return nodes.map((node) => {
    const wave = waveOf.get(node.name)!;
    const switched = wave <= state.switchedWaves;
    const convergences: NodeConvergence[] = [];
    if (state.calicoInstalled && !state.calicoFinalName) {
      convergences.push(waveConvergence(switched, switched && spec.restartKubelet ? runtimeOf(node.containerRuntime) : undefined));
    }
    if (finalConvergence) convergences.push(finalConvergence);
    const firstConflist = state.calicoNative ? FINAL_CONF_NAME : switched ? PRIORITY_CONF_NAME : WEAVE_CONF_NAME;
    return {
      name: node.name,
      wave,
      controlPlane: isControlPlane(node),
      switched,
      network: switched ? 'calico' : 'weave',
      firstConflist,
      drainedOnSwitch: switched && spec.drain,
      weaveLeftoversRemoved: !state.weavePresent,
      convergences,
      drainLanes: lanes?.get(wave),
    };
  });
}

/**
 * What a node that is not in the inventory (one that joined after the snapshot) converges to at
 * this step: the network its peers get once the node phase starts, the same as the nodes of a
 * switched wave (Calico first, drained when drains are on), and Weave first before it. One
 * DaemonSet runs it on every such node, so its cost does not grow with the newcomers.
 */
export interface NewcomerState {
  /** The convergence its DaemonSet runs; undefined before Calico is installed (nothing to do). */
  readonly convergence?: NodeConvergence;
  /**
   * The DaemonSet that converges them: their own before Calico's final name, then the one of all nodes.
   * @default - none (before Calico is installed)
   */
  readonly daemonSet?: string;
  /** Weave's leftovers must be gone from it (a newcomer of the node phase has them). */
  readonly weaveLeftoversRemoved: boolean;
  /**
   * Lanes of the disruption budget its drains take, shared with the waves' (the whole budget).
   * @default - no drains
   */
  readonly drainLanes?: number;
}

export function newcomerState(migration: Migration, nodes: readonly NodeInfo[], state: StepState): NewcomerState {
  const spec = migration.spec.nodes;
  // A newcomer's runtime is not known at synth; one shared by every inventory node is the best guess.
  const runtimes = new Set(nodes.map((n) => runtimeOf(n.containerRuntime)));
  const runtime = runtimes.size === 1 ? [...runtimes][0] : undefined;
  let convergence: NodeConvergence | undefined;
  if (state.calicoFinalName) {
    convergence = { role: 'final', desired: state.calicoNative ? 'calico-native' : 'calico-first', calicoConfName: FINAL_CONF_NAME };
  } else if (state.calicoInstalled) {
    const onCalico = state.switchedWaves > 0;
    convergence = {
      role: 'wave',
      desired: onCalico ? 'calico-first' : 'weave-first',
      calicoConfName: COEXISTENCE_CONF_NAME,
      drain: onCalico && spec.drain ? { timeoutSeconds: spec.drainTimeoutSeconds, restartDaemonSetPods: spec.restartDaemonSetPods } : undefined,
      restartRuntime: onCalico && spec.restartKubelet ? runtime : undefined,
      weaveTaint: false,
    };
  }
  const daemonSet = !convergence ? undefined : state.calicoFinalName ? ALL_NODES_SET_NAME : NEWCOMER_SET_NAME;
  const drainLanes = convergence?.drain ? nodeCountOf(spec.maxConcurrentDrains, nodes.length) : undefined;
  return { convergence, ...(daemonSet ? { daemonSet } : {}), ...(drainLanes ? { drainLanes } : {}), weaveLeftoversRemoved: !state.weavePresent };
}
