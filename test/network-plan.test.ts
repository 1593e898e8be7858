import type { ClusterSnapshot, KubeObject, NodeInfo } from '../src/kube/objects';
import { planNetwork } from '../src/network/network-plan';

const node = (name: string, ip: string, podCIDRs: string[] = []): NodeInfo => ({ name, roles: [], internalIP: ip, podCIDRs, containerRuntime: 'containerd://1.7.24', taints: [] });
const kcm = (nodeName: string, flags: string[]): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: `kube-controller-manager-${nodeName}`, namespace: 'kube-system' },
  spec: { nodeName, containers: [{ name: 'kube-controller-manager', command: ['kube-controller-manager', ...flags] }] },
});
const snap = (nodes: NodeInfo[], opts: { kcm?: string[]; ipalloc?: string } = {}): ClusterSnapshot => ({
  dir: 'cluster',
  nodes,
  weaveObjects: opts.ipalloc === undefined ? [] : [{ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'weave-net', namespace: 'kube-system' },
    spec: { template: { spec: { containers: [{ name: 'weave', env: opts.ipalloc ? [{ name: 'IPALLOC_RANGE', value: opts.ipalloc }] : [] }] } } } }],
  networkPolicies: [],
  controlPlane: { controllerManagers: new Map(opts.kcm ? [['cp-1', kcm('cp-1', opts.kcm)]] : []) },
});
const net = (calicoCIDR = '10.48.0.0/12', weaveCIDR = '10.32.0.0/12', serviceCIDR = '10.96.0.0/12') => ({ weaveCIDR, calicoCIDR, serviceCIDR });
const codes = (p: ReturnType<typeof planNetwork>) => p.findings.filter((f) => f.severity === 'error').map((f) => f.code);

describe('planNetwork', () => {
  it('plans the sibling layout cleanly', () => {
    const p = planNetwork(net(), snap([node('a', '192.168.1.10', ['10.32.1.0/24'])], { kcm: ['--allocate-node-cidrs=true', '--cluster-cidr=10.32.0.0/12'] }), 'kubeadm');
    expect(codes(p)).toEqual([]);
    expect(p.supernet.toString()).toBe('10.32.0.0/11');
    // podCIDR from the Weave range: the final value must keep the supernet, or kcm crash-loops.
    expect(p.finalClusterCidr.toString()).toBe('10.32.0.0/11');
    expect(p.findings.map((f) => f.code)).toContain('final-cidr-keeps-supernet');
  });

  it('narrows to the Calico CIDR when no controller-manager allocates node CIDRs', () => {
    const p = planNetwork(net(), snap([node('a', '192.168.1.10')], { kcm: ['--leader-elect=true'] }), 'kubeadm');
    expect(p.allocatesNodeCidrs).toBe(false);
    expect(p.finalClusterCidr.toString()).toBe('10.48.0.0/12');
  });

  it('narrows to the Calico CIDR when every podCIDR is inside it', () => {
    const p = planNetwork(net(), snap([node('a', '192.168.1.10', ['10.48.3.0/24'])], { kcm: ['--allocate-node-cidrs', 'true'] }), 'kubeadm');
    expect(p.allocatesNodeCidrs).toBe(true);
    expect(p.finalClusterCidr.toString()).toBe('10.48.0.0/12');
  });

  it('ignores controller-manager flags on managed control planes', () => {
    const p = planNetwork(net(), snap([node('a', '192.168.1.10', ['10.244.0.0/24'])], { kcm: ['--allocate-node-cidrs=true'] }), 'managed');
    expect(codes(p)).toEqual([]);
  });

  it.each([
    ['Calico overlaps Weave', net('10.40.0.0/13'), [], 'calico-overlaps-weave'],
    ['Calico overlaps services', net('10.96.0.0/16'), [], 'calico-overlaps-service'],
    ['Weave overlaps services', net('10.48.0.0/12', '10.32.0.0/12', '10.33.0.0/16'), [], 'weave-overlaps-service'],
    ['supernet holds services', net('10.112.0.0/12'), [], 'supernet-holds-service'],
    ['Calico holds a node IP', net(), [node('n', '10.49.0.1')], 'calico-holds-node-ip'],
    ['supernet holds a node IP', net('10.16.0.0/12'), [node('n', '10.5.0.1')], 'supernet-holds-node-ip'],
  ] as const)('%s is an error', (_n, network, nodes, code) => {
    const p = planNetwork(network, snap([node('ok', '192.168.1.1'), ...nodes]), 'kubeadm');
    expect(codes(p)).toContain(code);
    expect(p.findings.find((f) => f.code === code)!.field).toMatch(/^spec\.network\./);
  });

  it('refuses a podCIDR outside the supernet when kcm allocates, naming the crash', () => {
    const p = planNetwork(net(), snap([node('a', '192.168.1.10', ['10.244.0.0/24'])], { kcm: ['--allocate-node-cidrs=true'] }), 'kubeadm');
    const f = p.findings.find((x) => x.code === 'podcidr-outside-supernet')!;
    expect(f.severity).toBe('error');
    expect(f.message).toContain('a 10.244.0.0/24');
    expect(f.fix).toContain('crash-loops');
    expect(f.file).toBe('cluster/nodes.yaml');
  });

  it('checks the Weave CIDR against IPALLOC_RANGE, and the default when unset', () => {
    expect(codes(planNetwork(net('10.48.0.0/12'), snap([node('a', '192.168.1.1')], { ipalloc: '' }), 'kubeadm'))).toEqual([]);
    expect(codes(planNetwork(net('10.80.0.0/12', '10.64.0.0/12'), snap([node('a', '192.168.1.1')], { ipalloc: '' }), 'kubeadm'))).toEqual(['weave-cidr-mismatch']);
    expect(codes(planNetwork(net('10.80.0.0/12', '10.64.0.0/12'), snap([node('a', '192.168.1.1')], { ipalloc: '10.64.0.0/12' }), 'kubeadm'))).toEqual([]);
    expect(codes(planNetwork(net(), snap([node('a', '192.168.1.1')], { ipalloc: '10.64.0.0/12' }), 'kubeadm'))).toEqual(['weave-cidr-mismatch']);
  });

  it('rejects IPv6 node addresses as not supported yet', () => {
    expect(() => planNetwork(net(), snap([node('a', 'fd00::1')]), 'kubeadm')).toThrow(/nodes\[name=a\]\.internalIP.*IPv6 is not supported yet/);
  });
});
