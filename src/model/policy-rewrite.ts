/**
 * Rewriting the ipBlocks of a NetworkPolicy for the network it is restored onto: a block that
 * names pods by their Weave addresses must name them by their Calico addresses once every pod has
 * one. For each rewrite rule FROM → TO (default: the Weave CIDR → the Calico CIDR), in `cidr` and
 * in `except` alike:
 *  - a block equal to or inside FROM moves to the same offset inside TO (an error when it does not
 *    fit, TO being smaller);
 *  - a `cidr` that holds FROM but not TO gets a second peer for TO (with FROM's excepts moved),
 *    so it keeps holding the pods; one that holds both is left as it is;
 *  - an `except` that holds FROM also excepts TO, where the peer's cidr holds TO.
 * Blocks outside FROM are never touched.
 */
import * as ipaddr from 'ipaddr.js';
import type { KubeObject } from '../kube/objects';
import { Cidr } from '../network/cidr';

export interface RewriteRule {
  readonly from: Cidr;
  readonly to: Cidr;
}

/** One change the rewrite made, for PLAN.md. */
export interface IpBlockRewrite {
  /** namespace/name of the policy. */
  readonly policy: string;
  /** Where in the policy, e.g. spec.ingress[0].from[1].ipBlock.cidr. */
  readonly field: string;
  readonly before: string;
  readonly after: string;
}

/** A block that cannot be rewritten; `message` names it. */
export class IpBlockRewriteError extends Error {}

interface IpBlock {
  cidr: string;
  except?: string[];
}
interface Peer {
  ipBlock?: IpBlock;
  [k: string]: unknown;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  [k: string]: unknown;
}

const toNumber = (a: ipaddr.IPv4) => a.octets.reduce((n, o) => n * 256 + o, 0);
const fromNumber = (n: number) => new ipaddr.IPv4([Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 2 ** 8) % 256, n % 256]);

/** `block` (inside `rule.from`) at the same offset inside `rule.to`. */
function moved(block: Cidr, rule: RewriteRule, where: string): Cidr {
  const offset = toNumber(block.network) - toNumber(rule.from.network);
  if (offset + block.size > rule.to.size) {
    throw new IpBlockRewriteError(`${where}: ${block} lies inside ${rule.from} at an offset that ${rule.to} (smaller) does not have; rewrite it by hand, or acknowledge the policy`);
  }
  return Cidr.parse(`${fromNumber(toNumber(rule.to.network) + offset).toString()}/${block.prefix}`);
}

const parse = (text: string): Cidr | undefined => {
  try {
    // Host bits are allowed in an ipBlock; Calico enforces the network they belong to.
    return Cidr.parseMasked(text);
  } catch {
    return undefined; // IPv6 or malformed (refused when cluster/ is read): never a pod block.
  }
};

/** A copy of `policy` rewritten by `rules`, and the changes made. */
export function rewritePolicy(policy: KubeObject, rules: readonly RewriteRule[]): { policy: KubeObject; changes: IpBlockRewrite[] } {
  // Most policies have no ipBlock touching a rule: those are returned as they are, uncopied
  // (a cluster can hold tens of thousands).
  if (!ipBlocksOf(policy).some((b) => touches(b.cidr, rules) || (b.except ?? []).some((c) => touches(c, rules)))) {
    return { policy, changes: [] };
  }
  const copy = withOwnPeers(policy);
  const name = `${policy.metadata.namespace}/${policy.metadata.name}`;
  const changes: IpBlockRewrite[] = [];
  // The excepts of `block` that lie inside rule.from, moved into rule.to.
  const moveExcepts = (block: IpBlock, rule: RewriteRule, where: string) => {
    block.except = block.except?.map((x, j) => {
      const e = parse(x);
      if (!e || !rule.from.contains(e)) return x;
      const m = moved(e, rule, `${name} ${where}.except[${j}]`).toString();
      changes.push({ policy: name, field: `${where}.except[${j}]`, before: x, after: m });
      return m;
    });
  };
  const fix = (peers: Peer[] | undefined, at: string) => {
    if (!peers) return;
    for (let i = 0; i < peers.length; i++) {
      const block = peers[i].ipBlock;
      if (!block) continue;
      const where = `${at}[${i}].ipBlock`;
      for (const rule of rules) {
        const cidr = parse(block.cidr);
        if (!cidr) break;
        if (rule.from.contains(cidr)) {
          const after = moved(cidr, rule, `${name} ${where}.cidr`).toString();
          changes.push({ policy: name, field: `${where}.cidr`, before: block.cidr, after });
          block.cidr = after;
          moveExcepts(block, rule, where);
          break;
        }
        if (!cidr.contains(rule.from)) continue;
        // The block holds FROM: it must hold TO too, with FROM's exceptions carried over.
        const inside = (block.except ?? []).map(parse).filter((e): e is Cidr => !!e && rule.from.contains(e));
        const holding = (block.except ?? []).map(parse).filter((e): e is Cidr => !!e && e.contains(rule.from) && !e.contains(rule.to));
        if (cidr.contains(rule.to)) {
          moveExcepts(block, rule, where);
          if (holding.length > 0 && !(block.except ?? []).some((x) => parse(x)?.contains(rule.to))) {
            changes.push({ policy: name, field: `${where}.except`, before: '(none for the new range)', after: rule.to.toString() });
            block.except = [...(block.except ?? []), rule.to.toString()];
          }
        } else if (holding.length === 0) {
          const extra: Peer = { ipBlock: { cidr: rule.to.toString(), ...(inside.length ? { except: inside.map((e, j) => moved(e, rule, `${name} ${where}.except[${j}]`).toString()) } : {}) } };
          peers.splice(i + 1, 0, extra);
          changes.push({ policy: name, field: `${at}[${i + 1}]`, before: '(added)', after: `ipBlock ${extra.ipBlock!.cidr}${extra.ipBlock!.except ? ` except ${extra.ipBlock!.except.join(', ')}` : ''}` });
          i++;
        }
        break;
      }
    }
  };
  copy.spec?.ingress?.forEach((r, k) => fix(r.from, `spec.ingress[${k}].from`));
  copy.spec?.egress?.forEach((r, k) => fix(r.to, `spec.egress[${k}].to`));
  return { policy: copy, changes };
}

/** Whether the block `text` overlaps the FROM of a rule. */
function touches(text: string, rules: readonly RewriteRule[]): boolean {
  const x = parse(text);
  return !!x && rules.some((r) => x.overlaps(r.from));
}

/**
 * A copy of `policy` in which every object and list the rewrite may change (spec, its rules, their
 * peer lists, the peers and their ipBlocks) is its own, and the rest is shared with the
 * original, as an unchanged policy is returned whole. A deep copy of each of thousands of
 * policies (structuredClone) cost more than the rest of the rewrite.
 */
function withOwnPeers(policy: KubeObject): KubeObject & { spec?: { ingress?: Rule[]; egress?: Rule[] } } {
  const spec = policy.spec as { ingress?: Rule[]; egress?: Rule[] } | undefined;
  if (!spec) return { ...policy };
  // An ipBlock's cidr and except are replaced, never changed in place: its excepts are shared.
  const peers = (list: Peer[]) => list.map((p) => (p?.ipBlock ? { ...p, ipBlock: { ...p.ipBlock } } : p));
  const ingress = Array.isArray(spec.ingress) ? spec.ingress.map((r) => (Array.isArray(r?.from) ? { ...r, from: peers(r.from) } : r)) : spec.ingress;
  const egress = Array.isArray(spec.egress) ? spec.egress.map((r) => (Array.isArray(r?.to) ? { ...r, to: peers(r.to) } : r)) : spec.egress;
  return { ...policy, spec: { ...spec, ...(ingress !== undefined ? { ingress } : {}), ...(egress !== undefined ? { egress } : {}) } };
}

/** The ipBlocks of the policy's ingress and egress peers (loops: called for every policy of a large cluster). */
function ipBlocksOf(policy: KubeObject): IpBlock[] {
  const spec = (policy.spec ?? {}) as { ingress?: Rule[]; egress?: Rule[] };
  const out: IpBlock[] = [];
  for (const r of spec.ingress ?? []) for (const p of r.from ?? []) if (p.ipBlock) out.push(p.ipBlock);
  for (const r of spec.egress ?? []) for (const p of r.to ?? []) if (p.ipBlock) out.push(p.ipBlock);
  return out;
}

/**
 * The rules that let pods in or out by their Weave addresses in `original` but by no Calico
 * address in `restored` (the same policy as it will be applied): once every pod is on Calico,
 * such a rule cuts the traffic it allowed.
 */
export function weaveOnlyRules(original: KubeObject, restored: KubeObject, weave: Cidr, calico: Cidr): string[] {
  if (ipBlocksOf(original).length === 0) return [];
  const rulesOf = (p: KubeObject) => {
    const spec = (p.spec ?? {}) as { ingress?: Rule[]; egress?: Rule[] };
    return [
      ...(spec.ingress ?? []).map((r, k) => ({ at: `spec.ingress[${k}].from`, peers: r.from })),
      ...(spec.egress ?? []).map((r, k) => ({ at: `spec.egress[${k}].to`, peers: r.to })),
    ];
  };
  const allows = (peers: Peer[] | undefined, net: Cidr) => (peers ?? []).some((p) => {
    const c = p.ipBlock ? parse(p.ipBlock.cidr) : undefined;
    if (!c || !c.overlaps(net)) return false;
    const inside = c.contains(net) ? net : c;
    return !(p.ipBlock!.except ?? []).some((x) => parse(x)?.contains(inside));
  });
  const after = rulesOf(restored);
  return rulesOf(original).filter((r, i) => allows(r.peers, weave) && !allows(after[i]?.peers, calico)).map((r) => r.at);
}
