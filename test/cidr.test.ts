import * as ipaddr from 'ipaddr.js';
import { canonicalIPv4, Cidr, minimalSupernet } from '../src/network/cidr';

const c = (s: string) => Cidr.parse(s);

describe('canonicalIPv4', () => {
  it.each(['0.0.0.0', '10.32.0.5', '255.255.255.255', '172.16.9.10'])('takes %s, as ipaddr.js reads it', (ip) => {
    expect(canonicalIPv4(ip)?.toString()).toBe(ip);
    expect(canonicalIPv4(ip)!.octets).toEqual(ipaddr.IPv4.parse(ip).octets);
  });
  // Everything ipaddr.js would read differently or not at all: left to its diagnosis.
  it.each(['010.0.0.1', '10.0.0.01', '256.0.0.1', '10.0.0', '10.0.0.1.2', '10..0.1', '0x0a.0.0.1', '10.0.0.1 ', ' 10.0.0.1', '10.0.0.-1', '1e1.0.0.1', '', '::1', '1000.0.0.1'])('leaves %j', (ip) => {
    expect(canonicalIPv4(ip)).toBeUndefined();
  });
  it.each([[167772161], [null], [undefined], [['10.0.0.1']]])('leaves the non-string %j', (ip) => expect(canonicalIPv4(ip)).toBeUndefined());
});

describe('Cidr.parse', () => {
  it.each([
    ['10.32.0.0/12', '10.32.0.0/12'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.168.1.7/32', '192.168.1.7/32'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['10.255.255.128/25', '10.255.255.128/25'],
  ])('accepts %s', (input, out) => expect(c(input).toString()).toBe(out));

  it.each([
    ['10.32.0.1/12', /host bits are set; the block is 10\.32\.0\.0\/12/],
    ['10.255.255.129/25', /host bits are set; the block is 10\.255\.255\.128\/25/],
    // Host bits in every octet, and in none but the last: the mask decides, not the octets' values.
    ['1.1.1.1/0', /host bits are set; the block is 0\.0\.0\.0\/0/],
    ['0.0.0.1/8', /host bits are set; the block is 0\.0\.0\.0\/8/],
    // Host bits in one octet only, each octet in turn: each octet's mask is checked.
    ['1.0.0.0/7', /host bits are set; the block is 0\.0\.0\.0\/7/],
    ['10.1.0.0/15', /host bits are set; the block is 10\.0\.0\.0\/15/],
    ['10.0.1.0/23', /host bits are set; the block is 10\.0\.0\.0\/23/],
    ['10.32.0.0/', /IPv4 CIDR/],
    ['/12', /IPv4 CIDR/],
    ['10.32.0.0/33', /larger than 32/],
    ['10.32.0.0', /IPv4 CIDR/],
    ['10.32.0/12', /IPv4 CIDR/],
    ['010.32.0.0/12', /IPv4 CIDR/],
    ['10.256.0.0/16', /IPv4 CIDR/],
    [' 10.32.0.0/12', /IPv4 CIDR/],
    ['fd00::/64', /IPv6 is not supported yet/],
    ['10.0.0.0/8,fd00::/64', /dual-stack .* not supported yet/],
    ['', /IPv4 CIDR/],
    ['x10.32.0.0/12', /IPv4 CIDR/],
    ['10.32.0.0/12x', /IPv4 CIDR/],
    ['10.32.0.0/12\n', /IPv4 CIDR/],
  ])('rejects %j', (input, msg) => expect(() => c(input)).toThrow(msg));

  // Our message, word for word, not ipaddr.js's (which also says "IPv4 CIDR").
  it.each(['x10.32.0.0/12', '10.32.0.0/12x', '10.32.0.0/12\n', '10.32.0.0/', '010.32.0.0/12', ' 10.32.0.0/12'])('rejects %j with our own message', (input) => {
    expect(() => c(input)).toThrow(/^expected an IPv4 CIDR such as 10\.32\.0\.0\/12( \(four decimal octets, "\/", a prefix length\))?$/);
  });

  it('reads a canonical CIDR without ipaddr.js\'s parser (the path 5,000 nodes\' podCIDRs take), and the same as it does', () => {
    const networkAddress = jest.spyOn(ipaddr.IPv4, 'networkAddressFromCIDR');
    const fourPart = jest.spyOn(ipaddr.IPv4, 'isValidFourPartDecimal');
    try {
      for (const text of ['10.32.0.0/12', '0.0.0.0/0', '255.255.255.255/32', '10.44.7.0/24', '172.16.0.0/15']) {
        const cidr = Cidr.parse(text, false);
        expect([cidr.network.toString(), cidr.prefix]).toEqual([ipaddr.IPv4.parse(text.split('/')[0]).toString(), Number(text.split('/')[1])]);
      }
      expect(networkAddress).not.toHaveBeenCalled();
      expect(fourPart).not.toHaveBeenCalled();
    } finally {
      networkAddress.mockRestore();
      fourPart.mockRestore();
    }
  });

  it('caches what recurs, and not what the caller says does not', () => {
    expect(Cidr.parse('10.200.0.0/16')).toBe(Cidr.parse('10.200.0.0/16'));
    const a = Cidr.parse('10.201.0.0/16', false);
    const b = Cidr.parse('10.201.0.0/16', false);
    expect(a).not.toBe(b);
    expect(a.equals(b)).toBe(true);
    // Not cached by the uncached read either.
    expect(Cidr.parse('10.201.0.0/16')).not.toBe(a);
  });

  it.each([[12], [null], [undefined], [['10.32.0.0/12']]])('rejects the non-string %j (a YAML value of the wrong type)', (input) => {
    expect(() => Cidr.parse(input as unknown as string)).toThrow('expected an IPv4 CIDR such as 10.32.0.0/12');
  });
});

describe('sibling block', () => {
  it.each([
    ['10.32.0.0/12', '10.48.0.0/12'],
    ['10.48.0.0/12', '10.32.0.0/12'],
    ['10.0.0.0/8', '11.0.0.0/8'],
    ['11.0.0.0/8', '10.0.0.0/8'],
    ['172.16.0.0/13', '172.24.0.0/13'],
    ['192.168.0.0/16', '192.169.0.0/16'],
    ['10.244.0.0/16', '10.245.0.0/16'],
    ['10.1.2.0/24', '10.1.3.0/24'],
    ['10.1.2.16/28', '10.1.2.0/28'],
    ['10.1.2.0/28', '10.1.2.16/28'],
    ['255.255.255.240/28', '255.255.255.224/28'],
    ['0.0.0.0/1', '128.0.0.0/1'],
  ])('of %s is %s', (a, b) => {
    const s = c(a).sibling();
    expect(s.toString()).toBe(b);
    expect(s.sibling().toString()).toBe(a);
    expect(s.overlaps(c(a))).toBe(false);
    expect(minimalSupernet(c(a), s).prefix).toBe(c(a).prefix - 1);
  });

  it('every prefix from /8 to /28 pairs up into the block one bit shorter', () => {
    for (let p = 8; p <= 28; p++) {
      const block = c('10.32.0.0/11').enclosing(Math.min(11, p)).toString().split('/')[0];
      const a = c(`${block}/${p}`);
      const s = a.sibling();
      expect(s.prefix).toBe(p);
      expect(s.size).toBe(a.size);
      const parent = minimalSupernet(a, s);
      expect(parent.prefix).toBe(p - 1);
      expect(parent.size).toBe(a.size * 2);
      expect(parent.contains(a) && parent.contains(s)).toBe(true);
    }
  });

  it('0.0.0.0/0 has none', () => expect(() => c('0.0.0.0/0').sibling()).toThrow(/no sibling/));
});

describe('minimal supernet', () => {
  it.each([
    ['10.32.0.0/12', '10.48.0.0/12', '10.32.0.0/11'],
    ['10.32.0.0/12', '10.64.0.0/12', '10.0.0.0/9'],
    ['10.32.0.0/12', '192.168.0.0/16', '0.0.0.0/0'],
    ['10.32.0.0/12', '10.33.0.0/16', '10.32.0.0/12'],
    ['10.0.0.0/8', '11.0.0.0/8', '10.0.0.0/7'],
    ['10.1.2.0/28', '10.1.2.16/28', '10.1.2.0/27'],
    ['172.16.0.0/12', '172.16.0.0/12', '172.16.0.0/12'],
  ])('of %s and %s is %s', (a, b, s) => {
    expect(minimalSupernet(c(a), c(b)).toString()).toBe(s);
    expect(minimalSupernet(c(b), c(a)).toString()).toBe(s);
  });
});

describe('containment and overlap', () => {
  it('nested blocks overlap, disjoint ones do not', () => {
    expect(c('10.32.0.0/11').contains(c('10.48.0.0/12'))).toBe(true);
    expect(c('10.48.0.0/12').contains(c('10.32.0.0/11'))).toBe(false);
    expect(c('10.48.0.0/12').overlaps(c('10.32.0.0/11'))).toBe(true);
    expect(c('10.48.0.0/12').overlaps(c('10.64.0.0/12'))).toBe(false);
    expect(c('10.96.0.0/12').overlaps(c('10.32.0.0/11'))).toBe(false);
    // Same first address, wider block: the narrower does not contain it.
    expect(c('10.32.0.0/12').contains(c('10.32.0.0/11'))).toBe(false);
    expect(c('10.32.0.0/12').contains(c('10.32.0.0/12'))).toBe(true);
  });
  it('widens only to a shorter prefix', () => {
    expect(c('10.48.0.0/12').enclosing(11).toString()).toBe('10.32.0.0/11');
    expect(c('10.48.0.0/12').enclosing(12).toString()).toBe('10.48.0.0/12');
    expect(() => c('10.48.0.0/12').enclosing(13)).toThrow('cannot widen 10.48.0.0/12 to /13');
    expect(() => c('10.48.0.0/12').enclosing(-1)).toThrow('cannot widen 10.48.0.0/12 to /-1');
  });
  it('addresses at both edges', () => {
    const b = c('10.32.0.0/11');
    expect(b.containsAddress('10.32.0.0')).toBe(true);
    expect(b.containsAddress('10.63.255.255')).toBe(true);
    expect(b.containsAddress('10.64.0.0')).toBe(false);
    expect(b.containsAddress('10.31.255.255')).toBe(false);
    // An IPv6 address is in no IPv4 block (a dual-stack node lists both).
    expect(c('0.0.0.0/0').containsAddress('fd00::1')).toBe(false);
    // A form only ipaddr.js reads (hex) is read as it reads it: 0x0a.32.0.1 is 10.32.0.1.
    expect(b.containsAddress('0x0a.32.0.1')).toBe(true);
    expect(b.containsAddress('0x0b.32.0.1')).toBe(false);
    expect(b.broadcast.toString()).toBe('10.63.255.255');
  });
});
