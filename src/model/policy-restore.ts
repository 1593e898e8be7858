/**
 * The NetworkPolicies as `policies-restored` applies them, and the freeze that holds them still
 * while they are suspended. Restored policies are rewritten when the operator asked for it
 * (spec.policies.rewriteIPBlocks); `plan` checks, at every step, that none would then let pods in
 * or out by a Weave address only (which, once every pod is on Calico, cuts that traffic) unless
 * rewritten or acknowledged.
 */
import type { PoliciesSpec } from '../config/types';
import { kubernetesVersion } from '../kube/control-plane-facts';
import type { ClusterSnapshot, KubeObject } from '../kube/objects';
import { Cidr } from '../network/cidr';
import { IpBlockRewriteError, rewritePolicy, type IpBlockRewrite } from './policy-rewrite';

export interface RestoredPolicies {
  /** The policies as restored (rewritten where asked). */
  readonly objects: readonly KubeObject[];
  /** Every ipBlock change the rewrite makes. */
  readonly rewrites: readonly IpBlockRewrite[];
  /** Blocks that cannot be rewritten (the policy is then restored unchanged). */
  readonly errors: readonly string[];
}

export interface PolicyFreeze {
  /** metadata.name of the migration, named in the denial. */
  readonly migration: string;
}

/** Label that lets one NetworkPolicy through the freeze (an exception the operator grants). */
export const FREEZE_EXCEPTION_LABEL = 'cni-migrate.io/allow-during-migration';
/** Service accounts of this tool, which the freeze lets through. */
export const FREEZE_EXEMPT_PREFIX = 'system:serviceaccount:kube-system:cni-migrate-';

export function restoredPolicies(policies: readonly KubeObject[], spec: PoliciesSpec): RestoredPolicies {
  if (!spec.rewriteIPBlocks) return { objects: policies, rewrites: [], errors: [] };
  const rules = Object.entries(spec.rewrite).map(([from, to]) => ({ from: Cidr.parse(from), to: Cidr.parse(to) }));
  const objects: KubeObject[] = [];
  const rewrites: IpBlockRewrite[] = [];
  const errors: string[] = [];
  for (const p of policies) {
    try {
      const r = rewritePolicy(p, rules);
      objects.push(r.policy);
      rewrites.push(...r.changes);
    } catch (e) {
      if (!(e instanceof IpBlockRewriteError)) throw e;
      errors.push(e.message);
      objects.push(p);
    }
  }
  return { objects, rewrites, errors };
}

/**
 * ValidatingAdmissionPolicy is admissionregistration.k8s.io/v1 from Kubernetes 1.30: on an older
 * (or unknown) control plane the freeze would fail the sync, so it is left out (plan says so).
 */
export function freezeSupported(snapshot: ClusterSnapshot): boolean {
  const v = kubernetesVersion(snapshot);
  return !!v && (v.major > 1 || (v.major === 1 && v.minor >= 30));
}
