/**
 * The ipBlock rewrite of restored NetworkPolicies, in process and without a synth, so that a
 * mutation run (npm run mutate) scores policy rewriting in seconds per mutant: blocks inside, equal
 * to and holding the Weave range, in `cidr` and `except`, ingress and egress, several rules; the
 * changes reported for PLAN.md; the policies restored (rewritten or not, refused blocks kept as
 * backed up); the check for rules that would let pods in by Weave addresses only; and the
 * control-plane version below which the NetworkPolicy freeze is left out.
 */
import type { ClusterSnapshot, KubeObject } from '../src/kube/objects';
import { freezeSupported, restoredPolicies } from '../src/model/policy-restore';
import { IpBlockRewriteError, rewritePolicy, weaveOnlyRules } from '../src/model/policy-rewrite';
import { Cidr } from '../src/network/cidr';

const WEAVE = Cidr.parse('10.32.0.0/12');
const CALICO = Cidr.parse('10.48.0.0/12');
const RULES = [{ from: WEAVE, to: CALICO }];

const policy = (from: object[], name = 'p'): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'ns' }, spec: { podSelector: {}, ingress: [{ from }] } });
const egressPolicy = (to: object[]): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'e', namespace: 'ns' }, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{ to }] } });
const peers = (p: KubeObject) => (p.spec as any).ingress[0].from;

describe('ipBlocks with host bits', () => {
  it('are read as their network: parseMasked, and the Weave-only check sees them', () => {
    expect(Cidr.parseMasked('10.32.1.5/12').toString()).toBe('10.32.0.0/12');
    expect(Cidr.parseMasked('10.32.0.0/12').toString()).toBe('10.32.0.0/12');
    expect(() => Cidr.parseMasked('10.32.1.5/33')).toThrow();
    expect(() => Cidr.parseMasked('fd00::/8')).toThrow(/IPv6/);
    // Restored as it is, a rule by the Weave range (written with host bits) lets no Calico pod in.
    const p = policy([{ ipBlock: { cidr: '10.32.1.5/12' } }]);
    expect(weaveOnlyRules(p, p, WEAVE, CALICO)).toEqual(['spec.ingress[0].from']);
  });
});

describe('ipBlock rewrites', () => {
  it.each([
    ['equal to the Weave range', [{ ipBlock: { cidr: '10.32.0.0/12' } }], [{ ipBlock: { cidr: '10.48.0.0/12' } }]],
    ['inside it: same offset', [{ ipBlock: { cidr: '10.32.4.0/24' } }], [{ ipBlock: { cidr: '10.48.4.0/24' } }]],
    ['inside it, at the very end of the range', [{ ipBlock: { cidr: '10.47.255.255/32' } }], [{ ipBlock: { cidr: '10.63.255.255/32' } }]],
    ['inside it, with an except inside: both move', [{ ipBlock: { cidr: '10.33.0.0/16', except: ['10.33.1.0/24'] } }], [{ ipBlock: { cidr: '10.49.0.0/16', except: ['10.49.1.0/24'] } }]],
    ['holding Weave and Calico: an except inside Weave moves', [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/12', '10.96.0.0/12'] } }], [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.48.0.0/12', '10.96.0.0/12'] } }]],
    ['holding Weave and Calico with no except: left as it is', [{ ipBlock: { cidr: '10.0.0.0/8' } }], [{ ipBlock: { cidr: '10.0.0.0/8' } }]],
    ['an except holding the Weave range also excepts Calico\'s', [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/11'] } }], [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/11'] } }]],
    ['outside it: untouched', [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }, { podSelector: {} }], [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }, { podSelector: {} }]],
    ['holding both, with an except in the upper half of Weave: it moves to the upper half of Calico', [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.40.0.0/13'] } }], [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.56.0.0/13'] } }]],
    ['an IPv6 block beside a Weave block: the IPv6 one untouched', [{ ipBlock: { cidr: 'fd00::/8' } }, { ipBlock: { cidr: '10.32.1.0/24' } }], [{ ipBlock: { cidr: 'fd00::/8' } }, { ipBlock: { cidr: '10.48.1.0/24' } }]],
    // The API accepts host bits in an ipBlock, and Calico enforces the network they belong to.
    ['host bits set, as the API allows: read as its network, which moves', [{ ipBlock: { cidr: '10.32.1.5/12', except: ['10.32.1.7/24'] } }], [{ ipBlock: { cidr: '10.48.0.0/12', except: ['10.48.1.0/24'] } }]],
  ])('%s', (_what, before, after) => {
    const r = rewritePolicy(policy(before), RULES);
    expect(peers(r.policy)).toEqual(after);
    expect(r.changes.length > 0).toBe(JSON.stringify(before) !== JSON.stringify(after));
    expect(weaveOnlyRules(policy(before), r.policy, WEAVE, CALICO)).toEqual([]);
  });

  it('reports every change by policy and field, before and after', () => {
    const r = rewritePolicy(policy([{ podSelector: {} }, { ipBlock: { cidr: '10.33.0.0/16', except: ['10.33.1.0/24', '10.33.2.0/24'] } }]), RULES);
    expect(r.changes).toEqual([
      { policy: 'ns/p', field: 'spec.ingress[0].from[1].ipBlock.cidr', before: '10.33.0.0/16', after: '10.49.0.0/16' },
      { policy: 'ns/p', field: 'spec.ingress[0].from[1].ipBlock.except[0]', before: '10.33.1.0/24', after: '10.49.1.0/24' },
      { policy: 'ns/p', field: 'spec.ingress[0].from[1].ipBlock.except[1]', before: '10.33.2.0/24', after: '10.49.2.0/24' },
    ]);
  });

  it('a block that holds the Weave range but not Calico\'s gets a Calico block beside it, and the peers after it keep their places', () => {
    const to64 = [{ from: WEAVE, to: Cidr.parse('10.64.0.0/12') }];
    const r = rewritePolicy(policy([{ ipBlock: { cidr: '10.32.0.0/11' } }, { ipBlock: { cidr: '10.32.5.0/24' } }]), to64);
    expect(peers(r.policy)).toEqual([{ ipBlock: { cidr: '10.32.0.0/11' } }, { ipBlock: { cidr: '10.64.0.0/12' } }, { ipBlock: { cidr: '10.64.5.0/24' } }]);
    expect(r.changes).toEqual([
      { policy: 'ns/p', field: 'spec.ingress[0].from[1]', before: '(added)', after: 'ipBlock 10.64.0.0/12' },
      { policy: 'ns/p', field: 'spec.ingress[0].from[2].ipBlock.cidr', before: '10.32.5.0/24', after: '10.64.5.0/24' },
    ]);
    // Weave's excepts go with it, moved, and are named in the change.
    const withExcept = rewritePolicy(policy([{ ipBlock: { cidr: '10.32.0.0/11', except: ['10.32.9.0/24', '10.40.0.0/24'] } }]), to64);
    expect(peers(withExcept.policy)).toEqual([
      { ipBlock: { cidr: '10.32.0.0/11', except: ['10.32.9.0/24', '10.40.0.0/24'] } },
      { ipBlock: { cidr: '10.64.0.0/12', except: ['10.64.9.0/24', '10.72.0.0/24'] } },
    ]);
    expect(withExcept.changes).toEqual([{ policy: 'ns/p', field: 'spec.ingress[0].from[1]', before: '(added)', after: 'ipBlock 10.64.0.0/12 except 10.64.9.0/24, 10.72.0.0/24' }]);
  });

  it('the Calico block added beside a block holding Weave carries Weave\'s excepts only, and refuses one that does not fit', () => {
    const r = rewritePolicy(policy([{ ipBlock: { cidr: '10.0.0.0/10', except: ['10.1.0.0/16', '10.33.0.0/16'] } }]), [{ from: WEAVE, to: Cidr.parse('10.64.0.0/12') }]);
    expect(peers(r.policy)).toEqual([{ ipBlock: { cidr: '10.0.0.0/10', except: ['10.1.0.0/16', '10.33.0.0/16'] } }, { ipBlock: { cidr: '10.64.0.0/12', except: ['10.65.0.0/16'] } }]);
    expect(() => rewritePolicy(policy([{ ipBlock: { cidr: '10.0.0.0/10', except: ['10.40.0.0/16'] } }]), [{ from: WEAVE, to: Cidr.parse('10.64.0.0/16') }]))
      .toThrow('ns/p spec.ingress[0].from[0].ipBlock.except[0]: 10.40.0.0/16 lies inside 10.32.0.0/12 at an offset that 10.64.0.0/16 (smaller) does not have');
  });

  it('leaves rules without peers (allow all) as they are, beside rewritten ones', () => {
    const p: KubeObject = { ...policy([]), spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }, { from: [{ ipBlock: { cidr: '10.32.0.0/16' } }] }], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] } };
    const r = rewritePolicy(p, RULES);
    expect(r.policy.spec).toEqual({ podSelector: {}, ingress: [{ ports: [{ port: 80 }] }, { from: [{ ipBlock: { cidr: '10.48.0.0/16' } }] }], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    expect(weaveOnlyRules(p, r.policy, WEAVE, CALICO)).toEqual([]);
  });

  it('a block holding Weave whose except holds all of Weave lets no Weave pod in, so gets no Calico block', () => {
    const r = rewritePolicy(policy([{ ipBlock: { cidr: '10.0.0.0/10', except: ['10.32.0.0/11'] } }]), [{ from: WEAVE, to: Cidr.parse('10.64.0.0/12') }]);
    expect(peers(r.policy)).toEqual([{ ipBlock: { cidr: '10.0.0.0/10', except: ['10.32.0.0/11'] } }]);
    expect(r.changes).toEqual([]);
  });

  it('an except that holds the Weave range excepts the Calico range too, where the cidr holds it', () => {
    const r = rewritePolicy(policy([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/12'] } }]), RULES);
    expect(peers(r.policy)).toEqual([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.48.0.0/12'] } }]);
    const holding = rewritePolicy(policy([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/11'] } }]), [{ from: WEAVE, to: Cidr.parse('10.64.0.0/12') }]);
    expect(peers(holding.policy)).toEqual([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/11', '10.64.0.0/12'] } }]);
    expect(holding.changes).toEqual([{ policy: 'ns/p', field: 'spec.ingress[0].from[0].ipBlock.except', before: '(none for the new range)', after: '10.64.0.0/12' }]);
    // Already excepted (by a block that holds the Calico range): nothing added.
    const both = rewritePolicy(policy([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/11', '10.64.0.0/11'] } }]), [{ from: WEAVE, to: Cidr.parse('10.64.0.0/12') }]);
    expect(peers(both.policy)).toEqual([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/11', '10.64.0.0/11'] } }]);
    expect(both.changes).toEqual([]);
  });

  it('rewrites egress peers as well as ingress, naming the egress field', () => {
    const r = rewritePolicy(egressPolicy([{ ipBlock: { cidr: '10.32.8.0/22' } }]), RULES);
    expect((r.policy.spec as any).egress[0].to).toEqual([{ ipBlock: { cidr: '10.48.8.0/22' } }]);
    expect(r.changes).toEqual([{ policy: 'ns/e', field: 'spec.egress[0].to[0].ipBlock.cidr', before: '10.32.8.0/22', after: '10.48.8.0/22' }]);
    expect(weaveOnlyRules(egressPolicy([{ ipBlock: { cidr: '10.32.8.0/22' } }]), egressPolicy([{ ipBlock: { cidr: '10.32.8.0/22' } }]), WEAVE, CALICO)).toEqual(['spec.egress[0].to']);
  });

  it('applies the first rule whose range holds the block, and only that one', () => {
    const rules = [{ from: Cidr.parse('172.16.0.0/16'), to: Cidr.parse('172.17.0.0/16') }, ...RULES, { from: CALICO, to: Cidr.parse('10.64.0.0/12') }];
    const r = rewritePolicy(policy([{ ipBlock: { cidr: '10.32.1.0/24' } }, { ipBlock: { cidr: '172.16.3.0/24' } }]), rules);
    // 10.32.1.0/24 moves to Calico's range once, not on again by the third rule.
    expect(peers(r.policy)).toEqual([{ ipBlock: { cidr: '10.48.1.0/24' } }, { ipBlock: { cidr: '172.17.3.0/24' } }]);
  });

  it('returns a policy with no block touching a rule as it is, uncopied; a rewritten one is a copy, the backup untouched', () => {
    const outside = policy([{ ipBlock: { cidr: '192.168.0.0/16' } }]);
    expect(rewritePolicy(outside, RULES).policy).toBe(outside);
    const noBlocks: KubeObject = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n', namespace: 'ns' }, spec: { podSelector: {} } };
    expect(rewritePolicy(noBlocks, RULES)).toEqual({ policy: noBlocks, changes: [] });
    // Only an except touches Weave: still rewritten.
    const exceptOnly = policy([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/12'] } }]);
    const backup = JSON.stringify(exceptOnly);
    const r = rewritePolicy(exceptOnly, RULES);
    expect(r.policy).not.toBe(exceptOnly);
    expect(JSON.stringify(exceptOnly)).toBe(backup);
    expect(peers(r.policy)[0].ipBlock.except).toEqual(['10.48.0.0/12']);
  });

  it('leaves the backup untouched whatever the copy changes: a cidr, an except, a peer added, in ingress and egress', () => {
    // The copy shares with the backup only what the rewrite never changes (podSelector, ports, metadata).
    const both: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'both', namespace: 'ns', labels: { app: 'x' } },
      spec: {
        podSelector: { matchLabels: { app: 'x' } },
        ingress: [{ from: [{ podSelector: {} }, { ipBlock: { cidr: '10.33.0.0/16', except: ['10.33.1.0/24'] } }], ports: [{ port: 80 }] }],
        egress: [{ to: [{ ipBlock: { cidr: '10.32.0.0/11', except: ['10.32.9.0/24'] } }] }, { ports: [{ port: 53, protocol: 'UDP' }] }],
      },
    };
    const backup = JSON.stringify(both);
    const r = rewritePolicy(both, [{ from: WEAVE, to: Cidr.parse('10.64.0.0/12') }]);
    expect(JSON.stringify(both)).toBe(backup);
    expect(r.changes.map((c) => c.field)).toEqual([
      'spec.ingress[0].from[1].ipBlock.cidr',
      'spec.ingress[0].from[1].ipBlock.except[0]',
      'spec.egress[0].to[1]',
    ]);
    expect((r.policy.spec as any).egress[0].to).toEqual([{ ipBlock: { cidr: '10.32.0.0/11', except: ['10.32.9.0/24'] } }, { ipBlock: { cidr: '10.64.0.0/12', except: ['10.64.9.0/24'] } }]);
    expect((r.policy.spec as any).egress[1]).toEqual({ ports: [{ port: 53, protocol: 'UDP' }] });
  });

  it('refuses a block that does not fit at its offset in a smaller Calico range, naming it', () => {
    expect(() => rewritePolicy(policy([{ ipBlock: { cidr: '10.40.0.0/16' } }]), [{ from: WEAVE, to: Cidr.parse('10.48.0.0/16') }]))
      .toThrow(new IpBlockRewriteError('ns/p spec.ingress[0].from[0].ipBlock.cidr: 10.40.0.0/16 lies inside 10.32.0.0/12 at an offset that 10.48.0.0/16 (smaller) does not have; rewrite it by hand, or acknowledge the policy'));
    expect(() => rewritePolicy(policy([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.47.0.0/16'] } }]), [{ from: WEAVE, to: Cidr.parse('10.48.0.0/16') }])).toThrow(/except\[0\]: 10\.47\.0\.0\/16 lies inside/);
    // The last block that fits exactly is accepted.
    expect(peers(rewritePolicy(policy([{ ipBlock: { cidr: '10.32.255.0/24' } }]), [{ from: WEAVE, to: Cidr.parse('10.48.0.0/16') }]).policy)).toEqual([{ ipBlock: { cidr: '10.48.255.0/24' } }]);
    expect(() => rewritePolicy(policy([{ ipBlock: { cidr: '10.33.0.0/24' } }]), [{ from: WEAVE, to: Cidr.parse('10.48.0.0/16') }])).toThrow(IpBlockRewriteError);
  });

  it('finds the rules that let pods in by Weave addresses before and by no Calico address after', () => {
    const same = (p: KubeObject) => weaveOnlyRules(p, p, WEAVE, CALICO);
    expect(same(policy([{ ipBlock: { cidr: '10.32.4.0/24' } }]))).toEqual(['spec.ingress[0].from']);
    expect(same(policy([{ ipBlock: { cidr: '10.32.0.0/12' } }, { ipBlock: { cidr: '10.48.0.0/12' } }]))).toEqual([]);
    // Excepting the pods (before and after) is not cutting them.
    expect(same(policy([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.32.0.0/12'] } }]))).toEqual([]);
    expect(same(policy([{ ipBlock: { cidr: '10.0.0.0/8' } }]))).toEqual([]);
    // A Calico block that excepts all of Calico lets no Calico pod in.
    expect(same(policy([{ ipBlock: { cidr: '10.32.4.0/24' } }, { ipBlock: { cidr: '10.48.0.0/12', except: ['10.48.0.0/12'] } }]))).toEqual(['spec.ingress[0].from']);
    // An except of part of Calico still lets the rest in.
    expect(same(policy([{ ipBlock: { cidr: '10.32.4.0/24' } }, { ipBlock: { cidr: '10.48.0.0/12', except: ['10.48.0.0/16'] } }]))).toEqual([]);
    // No ipBlock, or only blocks elsewhere: nothing to find.
    expect(same(policy([{ podSelector: {} }]))).toEqual([]);
    expect(same(policy([{ ipBlock: { cidr: '192.168.0.0/16' } }]))).toEqual([]);
    // Only the rules concerned are named, by their place.
    const two: KubeObject = { ...policy([]), spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }, { from: [{ ipBlock: { cidr: '10.32.0.0/16' } }] }], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] } };
    expect(same(two)).toEqual(['spec.ingress[1].from']);
  });

  it('compares each rule with the same rule of the restored policy', () => {
    const before = policy([{ ipBlock: { cidr: '10.32.4.0/24' } }]);
    expect(weaveOnlyRules(before, rewritePolicy(before, RULES).policy, WEAVE, CALICO)).toEqual([]);
    // A restored policy missing the rule (or the whole ingress) cuts it.
    expect(weaveOnlyRules(before, { ...before, spec: { podSelector: {} } }, WEAVE, CALICO)).toEqual(['spec.ingress[0].from']);
  });
});

describe('restoredPolicies', () => {
  const spec = (rewriteIPBlocks: boolean, rewrite: Record<string, string> = { '10.32.0.0/12': '10.48.0.0/12' }) => ({ rewriteIPBlocks, rewrite, acknowledge: [] });
  const inside = policy([{ ipBlock: { cidr: '10.32.4.0/24' } }], 'inside');
  const outside = policy([{ ipBlock: { cidr: '192.168.0.0/16' } }], 'outside');

  it('with rewriting off, restores the backups as they are (the same objects)', () => {
    const r = restoredPolicies([inside, outside], spec(false));
    expect(r.objects).toEqual([inside, outside]);
    expect(r.objects[0]).toBe(inside);
    expect([r.rewrites, r.errors]).toEqual([[], []]);
  });

  it('with rewriting on, rewrites by the configured rules and lists every change', () => {
    const r = restoredPolicies([inside, outside], spec(true));
    expect(r.objects.map((o) => peers(o)[0].ipBlock.cidr)).toEqual(['10.48.4.0/24', '192.168.0.0/16']);
    expect(r.rewrites).toEqual([{ policy: 'ns/inside', field: 'spec.ingress[0].from[0].ipBlock.cidr', before: '10.32.4.0/24', after: '10.48.4.0/24' }]);
    expect(r.errors).toEqual([]);
    // The configured rules, not a fixed pair.
    expect(restoredPolicies([outside], spec(true, { '192.168.0.0/16': '172.16.0.0/16' })).objects.map((o) => peers(o)[0].ipBlock.cidr)).toEqual(['172.16.0.0/16']);
  });

  it('keeps a policy it cannot rewrite as backed up, and names the block', () => {
    const big = policy([{ ipBlock: { cidr: '10.40.0.0/16' } }], 'big');
    const r = restoredPolicies([big, inside], spec(true, { '10.32.0.0/12': '10.48.0.0/16' }));
    expect(r.objects[0]).toBe(big);
    expect(peers(r.objects[1])).toEqual([{ ipBlock: { cidr: '10.48.4.0/24' } }]);
    expect(r.errors).toEqual(['ns/big spec.ingress[0].from[0].ipBlock.cidr: 10.40.0.0/16 lies inside 10.32.0.0/12 at an offset that 10.48.0.0/16 (smaller) does not have; rewrite it by hand, or acknowledge the policy']);
    expect(r.rewrites.map((c) => c.policy)).toEqual(['ns/inside']);
  });

  it('lets any other error through', () => {
    const broken = { ...inside, spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.32.0.0/16', except: 'not a list' } }] }] } } as unknown as KubeObject;
    expect(() => restoredPolicies([broken], spec(true))).toThrow(TypeError);
  });
});

describe('freezeSupported', () => {
  const snapshot = (images: { cm?: string; proxy?: string }): ClusterSnapshot => ({
    controlPlane: {
      controllerManagers: new Map(images.cm ? [['cp-1', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kcm' }, spec: { containers: [{ name: 'kube-controller-manager', image: images.cm }] } }]] : []),
      kubeProxyDaemonSet: images.proxy ? { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy' }, spec: { template: { spec: { containers: [{ name: 'kube-proxy', image: images.proxy }] } } } } : undefined,
    },
  }) as unknown as ClusterSnapshot;

  it.each([
    ['1.30', { cm: 'registry.k8s.io/kube-controller-manager:v1.30.0' }, true],
    ['1.29', { cm: 'registry.k8s.io/kube-controller-manager:v1.29.9' }, false],
    ['1.33 from kube-proxy alone', { proxy: 'registry.k8s.io/kube-proxy:v1.33.1' }, true],
    ['2.0', { proxy: 'registry.k8s.io/kube-proxy:v2.0.0' }, true],
    ['0.31', { proxy: 'registry.k8s.io/kube-proxy:v0.31.0' }, false],
    ['unknown', {}, false],
  ])('Kubernetes %s: %s', (_v, images, supported) => {
    expect(freezeSupported(snapshot(images))).toBe(supported);
  });
});
