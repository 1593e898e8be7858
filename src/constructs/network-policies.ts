/**
 * The cluster's NetworkPolicies, owned by the migration: emitted unchanged while Weave enforces
 * them, left out while both networks carry pods (NAT between them breaks enforcement), and
 * restored at the end, with ipBlock CIDRs rewritten when the operator asked for it.
 */
import { Construct } from 'constructs';
import type { KubeObject } from '../cluster/snapshot';
import { AdoptedObjects } from './adopted-objects';

export interface NetworkPoliciesProps {
  /** The backed-up policies from cluster/networkpolicies. */
  readonly policies: readonly KubeObject[];
  /**
   * ipBlock CIDR rewrites (exact CIDR match) applied to `cidr` and `except` entries.
   * @default - no rewrites: every policy is restored exactly as backed up
   */
  readonly ipBlockRewrites?: Readonly<Record<string, string>>;
}

export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const rewrites = props.ipBlockRewrites ?? {};
    new AdoptedObjects(this, 'Policies', {
      objects: props.policies,
      transform: Object.keys(rewrites).length > 0 ? (p) => rewriteIpBlocks(p, rewrites) : undefined,
    });
  }
}

interface IpBlock {
  cidr?: string;
  except?: string[];
}
interface Peer {
  ipBlock?: IpBlock;
}

/** A copy of `policy` with every ipBlock CIDR found in `rewrites` replaced. */
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
