/**
 * Which captured objects a step's desired state holds, as they must be applied: Weave's objects
 * that GitOps may own, and the NetworkPolicies (with ipBlock rewrites once restored).
 */
import type { KubeObject } from '../kube/objects';

/**
 * The Weave objects GitOps may own: all but the weave-net ConfigMap (the peer list), which Weave
 * creates at runtime; owning it would fight Weave, and the cleanup deletes it instead.
 */
export function ownedWeaveObjects(objects: readonly KubeObject[]): KubeObject[] {
  return objects.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'weave-net'));
}

interface IpBlock {
  cidr?: string;
  except?: string[];
}
interface Peer {
  ipBlock?: IpBlock;
}

/** A copy of `policy` with every ipBlock CIDR found in `rewrites` replaced (exact match). */
export function rewriteIpBlocks(policy: KubeObject, rewrites: Readonly<Record<string, string>>): KubeObject {
  const copy = structuredClone(policy) as KubeObject & { spec?: { ingress?: { from?: Peer[] }[]; egress?: { to?: Peer[] }[] } };
  const fix = (peers: Peer[] | undefined) =>
    peers?.forEach((p) => {
      if (!p.ipBlock) return;
      if (p.ipBlock.cidr && rewrites[p.ipBlock.cidr]) p.ipBlock.cidr = rewrites[p.ipBlock.cidr];
      if (p.ipBlock.except) p.ipBlock.except = p.ipBlock.except.map((c) => rewrites[c] ?? c);
    });
  copy.spec?.ingress?.forEach((r) => fix(r.from));
  copy.spec?.egress?.forEach((r) => fix(r.to));
  return copy;
}
