/**
 * What the gate of a step checks in the live cluster before anything else of the step applies.
 * The StepGate construct renders these checks as a Job; PLAN.md and `status` state the same ones.
 */
import type { StepKind } from '../steps/steps';

export interface GateChecks {
  /** calico-node must be Ready on every node. */
  readonly calicoReadyEverywhere: boolean;
  /**
   * The switch DaemonSets that are Weave-first at this step. One the cluster still runs
   * Calico-first is a wave being reverted: its nodes leave Calico, and calico-node's health there
   * must not hold back the revert that takes them off it.
   * @default - none
   */
  readonly weaveFirstSets?: readonly string[];
  /**
   * No pod other than Weave's own may have an IP in this CIDR.
   * @default - not checked
   */
  readonly noPodsInWeaveCidr?: string;
  /**
   * No pod may have an IP in this CIDR (Calico's): the states before the NetworkPolicies are
   * suspended are safe only with no pod on Calico, and a revert reaches them with the pods that
   * got Calico IPs in a wave still running.
   * @default - not checked
   */
  readonly noPodsInCalicoCidr?: string;
  /**
   * The nodes not being drained have room for the pods the wave's drains evict, `concurrent`
   * nodes at a time (the wave's lanes of spec.nodes.maxConcurrentDrains).
   * @default - not checked
   */
  readonly drainCapacity?: { readonly wave: number; readonly waveNodes: readonly string[]; readonly concurrent: number };
}

/**
 * The gate checks of a step, or undefined when it has none. calico-node must be Ready on every
 * node while pods of both networks run (Felix drops IP-in-IP from hosts it does not know, and a
 * Weave node reaches Calico pods through its own calico-node's routes), so the node steps check
 * it everywhere, which also covers the wave being switched; the steps before them have no pod on
 * Calico, so their state does not need it and a revert to them is not held back by it.
 *
 * Some checks are about the state the step lands in, whichever way it is reached: `calico` and
 * `cluster-cidr` keep the NetworkPolicies in force and kube-proxy's cluster CIDR not yet widened
 * (calico) or widened (cluster-cidr) with policies, so a pod on Calico there is cut off by the
 * policies (traffic between the networks is NATed) or masqueraded wrongly. On the way forward no
 * pod is on Calico yet and the check passes; on a revert from policies-suspended it holds the
 * step until the waves are reverted and their pods restarted on Weave.
 */
export function gateChecksFor(stepKind: StepKind, weaveCidr: string, calicoCidr: string, drainCapacity?: GateChecks['drainCapacity'], weaveFirstSets: readonly string[] = []): GateChecks | undefined {
  const leaving = weaveFirstSets.length > 0 ? { weaveFirstSets: [...weaveFirstSets] } : {};
  switch (stepKind) {
    case 'calico':
      return { calicoReadyEverywhere: false, noPodsInCalicoCidr: calicoCidr };
    case 'cluster-cidr':
      return { calicoReadyEverywhere: false, noPodsInCalicoCidr: calicoCidr };
    case 'policies-suspended':
      // Suspending the policies moves no pod, and no node is Calico-first here: Calico's health
      // is not a precondition of this state (the first wave's gate checks it before any pod moves),
      // so a revert to it (from nodes-1) is never held back by calico-node anywhere.
      return undefined;
    case 'nodes':
      return { calicoReadyEverywhere: true, ...(drainCapacity ? { drainCapacity } : {}), ...leaving };
    case 'weave-removed':
    case 'policies-restored':
    case 'finalized':
      return { calicoReadyEverywhere: false, noPodsInWeaveCidr: weaveCidr };
    default:
      return undefined;
  }
}

/** One check of a gate: which it is, and the sentence PLAN.md and `status` use for it. */
export interface GateCheck {
  readonly kind: 'calico-ready' | 'no-weave-pods' | 'no-calico-pods' | 'drain-capacity';
  readonly text: string;
}

/** The checks one by one, in the order the gate Job runs them. */
export function gateCheckList(checks: GateChecks): GateCheck[] {
  const out: GateCheck[] = [];
  if (checks.calicoReadyEverywhere) {
    out.push({ kind: 'calico-ready', text: checks.weaveFirstSets?.length ? 'calico-node is Ready on every node, but the nodes of a wave this step reverts to Weave' : 'calico-node is Ready on every node' });
  }
  if (checks.drainCapacity) {
    const c = checks.drainCapacity;
    out.push({ kind: 'drain-capacity', text: `the other schedulable nodes have room (allocatable minus requests) for the pods of the ${c.concurrent} node(s) of wave ${c.wave} still to drain with the most to evict` });
  }
  if (checks.noPodsInWeaveCidr) out.push({ kind: 'no-weave-pods', text: `no pod other than Weave's own has an IP in ${checks.noPodsInWeaveCidr}` });
  if (checks.noPodsInCalicoCidr) out.push({ kind: 'no-calico-pods', text: `no pod has an IP in ${checks.noPodsInCalicoCidr} (Calico's): this step keeps the NetworkPolicies in force, so a revert to it waits until the waves' pods are back on Weave` });
  return out;
}
