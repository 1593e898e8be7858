/**
 * IPv4 CIDR arithmetic on ipaddr.js: parsing, containment, the sibling block and the minimal
 * supernet. All masking is done by the library; this file only chooses which masks to ask for.
 */
import * as ipaddr from 'ipaddr.js';

const PARSED = new Map<string, Cidr>();
const MAX_CACHED = 100_000;

/** One octet as ipaddr.js writes it back: 0-255, no leading zero. */
const OCTET = '(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])';
const CANONICAL_IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
/** A canonical address, "/" and a prefix length 0-32 as the API writes it. */
const CANONICAL_IPV4_CIDR = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}/([0-9]|[12][0-9]|3[0-2])$`);

/**
 * `text` as an address when it is four-part decimal written as ipaddr.js writes it back (each
 * octet 0-255, no leading zero), else undefined. A large cluster's inventory holds thousands of
 * node addresses and podCIDRs, nearly all canonical, read once each while the code is still cold:
 * one regular expression (compiled to native code by V8) each, instead of ipaddr.js's parser,
 * which tries hex, octal and short forms first. Anything this refuses is left to ipaddr.js, whose
 * diagnosis names what is wrong.
 */
export function canonicalIPv4(text: unknown): ipaddr.IPv4 | undefined {
  if (typeof text !== 'string') return undefined;
  const m = CANONICAL_IPV4.exec(text);
  return m === null ? undefined : new ipaddr.IPv4([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
}

/** ipaddr.js's netmask of each prefix length, made once. */
const MASKS = Array.from({ length: 33 }, (_, prefix) => ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).octets);

/** A parsed IPv4 block, always in canonical form (no host bits set). */
export class Cidr {
  /**
   * Parse `text` as an IPv4 CIDR. Throws with a message that says what is wrong and what is
   * allowed; callers wrap it in an InputError with the field name. `cache: false` for values that
   * do not recur (each node's podCIDR), which would only fill the cache.
   */
  public static parse(text: string, cache = true): Cidr {
    if (!cache) return Cidr.parseUncached(text);
    // Blocks are immutable and the same few strings recur across thousands of policies.
    const cached = typeof text === 'string' ? PARSED.get(text) : undefined;
    if (cached) return cached;
    const parsed = Cidr.parseUncached(text);
    if (PARSED.size >= MAX_CACHED) PARSED.clear();
    PARSED.set(text, parsed);
    return parsed;
  }

  /**
   * A NetworkPolicy ipBlock as Calico reads it: the API accepts host bits there ("192.168.1.1/24"
   * is a valid example in IPBlock's own documentation), and Calico's converter keeps only the
   * network the prefix gives (libcalico-go lib/backend/k8s/conversion/conversion.go,
   * k8sPeerToCalicoFields: `_, ipNet, err := cnet.ParseCIDR(...)`), so "10.32.1.5/12" is
   * 10.32.0.0/12. Anything else is parsed as by `parse`.
   */
  public static parseMasked(text: string): Cidr {
    // The canonical block first: cached, and what almost every ipBlock is (thousands of policies
    // are read at every step); only a refused one is looked at again for host bits.
    try {
      return Cidr.parse(text);
    } catch (e) {
      const m = typeof text === 'string' ? /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text) : null;
      if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[1]) || Number(m[2]) > 32) throw e;
      return Cidr.parse(`${ipaddr.IPv4.networkAddressFromCIDR(text).toString()}/${Number(m[2])}`);
    }
  }

  private static parseUncached(text: string): Cidr {
    if (typeof text !== 'string' || text.trim() !== text || text === '') {
      throw new Error('expected an IPv4 CIDR such as 10.32.0.0/12');
    }
    if (text.includes(',')) {
      throw new Error('dual-stack (two CIDRs) is not supported yet; give one IPv4 CIDR');
    }
    if (text.includes(':')) {
      throw new Error('IPv6 is not supported yet; give an IPv4 CIDR');
    }
    // The common case: a canonical address, a prefix length 0-32 as written by the API, and no
    // host bit set under ipaddr.js's mask. Anything else is diagnosed below.
    const fast = CANONICAL_IPV4_CIDR.exec(text);
    if (fast !== null) {
      const octets = [Number(fast[1]), Number(fast[2]), Number(fast[3]), Number(fast[4])];
      const prefix = Number(fast[5]);
      const mask = MASKS[prefix];
      if ((octets[0] & ~mask[0] & 255) === 0 && (octets[1] & ~mask[1] & 255) === 0 && (octets[2] & ~mask[2] & 255) === 0 && (octets[3] & ~mask[3] & 255) === 0) {
        return new Cidr(new ipaddr.IPv4(octets), prefix);
      }
    }
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
    if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[1])) {
      throw new Error('expected an IPv4 CIDR such as 10.32.0.0/12 (four decimal octets, "/", a prefix length)');
    }
    const prefix = Number(m[2]);
    if (prefix > 32) {
      throw new Error(`prefix length /${prefix} is larger than 32`);
    }
    const network = ipaddr.IPv4.networkAddressFromCIDR(text);
    if (network.toString() !== m[1]) {
      throw new Error(`host bits are set; the block is ${network.toString()}/${prefix}`);
    }
    return new Cidr(network, prefix);
  }

  private constructor(
    /** First address of the block. */
    public readonly network: ipaddr.IPv4,
    /** Prefix length, 0 to 32. */
    public readonly prefix: number,
  ) {}

  /** Last address of the block. */
  public get broadcast(): ipaddr.IPv4 {
    return ipaddr.IPv4.broadcastAddressFromCIDR(this.toString());
  }

  /** Number of addresses in the block. */
  public get size(): number {
    return 2 ** (32 - this.prefix);
  }

  public toString(): string {
    return `${this.network.toString()}/${this.prefix}`;
  }

  public equals(other: Cidr): boolean {
    return this.prefix === other.prefix && this.network.toString() === other.network.toString();
  }

  /** True when `other` lies entirely inside this block. */
  public contains(other: Cidr): boolean {
    return other.prefix >= this.prefix && other.network.match(this.network, this.prefix);
  }

  /** True when the address `ip` (dotted quad) lies inside this block. */
  public containsAddress(ip: string): boolean {
    const canonical = canonicalIPv4(ip);
    if (canonical) return this.containsIPv4(canonical);
    const addr = ipaddr.parse(ip);
    return addr.kind() === 'ipv4' && this.containsIPv4(addr as ipaddr.IPv4);
  }

  /** True when the parsed address lies inside this block (parse once, test against many blocks). */
  public containsIPv4(addr: ipaddr.IPv4): boolean {
    return addr.match(this.network, this.prefix);
  }

  /** CIDR blocks are either nested or disjoint, so overlap is containment either way. */
  public overlaps(other: Cidr): boolean {
    return this.contains(other) || other.contains(this);
  }

  /** The block of the same size that, together with this one, makes the enclosing block one bit shorter. */
  public sibling(): Cidr {
    if (this.prefix === 0) {
      throw new Error('0.0.0.0/0 has no sibling block');
    }
    const parent = this.enclosing(this.prefix - 1);
    if (parent.network.toString() !== this.network.toString()) {
      // We are the upper half: the sibling is the lower half, which starts where the parent does.
      return new Cidr(parent.network, this.prefix);
    }
    // We are the lower half: the sibling is the half that holds the parent's last address.
    return Cidr.parse(`${ipaddr.IPv4.networkAddressFromCIDR(`${parent.broadcast.toString()}/${this.prefix}`).toString()}/${this.prefix}`);
  }

  /** The block of prefix length `prefix` (at most ours) that contains this one. */
  public enclosing(prefix: number): Cidr {
    if (prefix > this.prefix || prefix < 0) {
      throw new Error(`cannot widen ${this.toString()} to /${prefix}`);
    }
    return new Cidr(ipaddr.IPv4.networkAddressFromCIDR(`${this.network.toString()}/${prefix}`), prefix);
  }
}

/** The smallest single block that contains both `a` and `b`. */
export function minimalSupernet(a: Cidr, b: Cidr): Cidr {
  for (let prefix = Math.min(a.prefix, b.prefix); prefix >= 0; prefix--) {
    const candidate = a.enclosing(prefix);
    if (candidate.contains(b)) {
      return candidate;
    }
  }
  /* istanbul ignore next: /0 contains everything */
  throw new Error(`no supernet of ${a} and ${b}`);
}
