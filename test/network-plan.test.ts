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
    expect(f.fix).toContain('set spec.controlPlane.disableNodeCidrAllocation: true');
    expect(f.file).toBe('cluster/nodes.yaml');
    expect(p.disableAllocationAtSupernet).toBe(false);
    // Not also "the supernet stays" as if that were safe: the supernet does not hold them either.
    expect(p.findings.map((x) => x.code)).toEqual(['podcidr-outside-supernet']);
  });

  it('with disableNodeCidrAllocation, a podCIDR outside the supernet (kubeadm\'s podSubnet was not Weave\'s range) turns allocation off at cluster-cidr instead', () => {
    const s = snap([node('a', '192.168.1.10', ['10.244.0.0/24']), node('b', '192.168.1.11', ['10.244.1.0/24'])], { kcm: ['--allocate-node-cidrs=true', '--cluster-cidr=10.244.0.0/16'] });
    const p = planNetwork(net(), s, 'kubeadm', true);
    expect(codes(p)).toEqual([]);
    expect([p.disableAllocationAtSupernet, p.disableAllocationAtFinal, p.finalClusterCidr.toString()]).toEqual([true, true, '10.48.0.0/12']);
    expect(p.findings.find((f) => f.code === 'cidr-allocation-off-at-cluster-cidr')).toEqual({
      severity: 'info', code: 'cidr-allocation-off-at-cluster-cidr',
      message: '2 node podCIDR(s) lie outside the supernet 10.32.0.0/11 that step cluster-cidr gives kube-controller-manager: a 10.244.0.0/24, b 10.244.1.0/24, so step cluster-cidr turns node CIDR allocation off (spec.controlPlane.disableNodeCidrAllocation) in the same edit that widens --cluster-cidr',
      fix: 'nothing to do, unless something else reads Node.spec.podCIDR (kube-proxy in NodeCIDR mode, a cloud route controller): a node that joins from then on gets none',
    });
    // Every podCIDR inside the supernet: allocation stays on until finalized, as before.
    const inside = planNetwork(net(), snap([node('a', '192.168.1.10', ['10.32.5.0/24'])], { kcm: ['--allocate-node-cidrs=true'] }), 'kubeadm', true);
    expect([inside.disableAllocationAtSupernet, inside.disableAllocationAtFinal]).toEqual([false, true]);
  });

  it('checks the Weave CIDR against IPALLOC_RANGE, and the default when unset', () => {
    expect(codes(planNetwork(net('10.48.0.0/12'), snap([node('a', '192.168.1.1')], { ipalloc: '' }), 'kubeadm'))).toEqual([]);
    expect(codes(planNetwork(net('10.80.0.0/12', '10.64.0.0/12'), snap([node('a', '192.168.1.1')], { ipalloc: '' }), 'kubeadm'))).toEqual(['weave-cidr-mismatch']);
    expect(codes(planNetwork(net('10.80.0.0/12', '10.64.0.0/12'), snap([node('a', '192.168.1.1')], { ipalloc: '10.64.0.0/12' }), 'kubeadm'))).toEqual([]);
    expect(codes(planNetwork(net(), snap([node('a', '192.168.1.1')], { ipalloc: '10.64.0.0/12' }), 'kubeadm'))).toEqual(['weave-cidr-mismatch']);
  });

  it('takes a node address only in four-part decimal as written (forms the parser would also read are refused)', () => {
    for (const ip of ['010.0.0.5', '10.1', '0x0a.0.0.1', '10.0.0.256', ' 10.0.0.5', '10.0.0.5 ', '']) {
      expect(() => planNetwork(net(), snap([node('a', ip)]), 'kubeadm')).toThrow(`nodes[name=a].internalIP: got ${JSON.stringify(ip)}`);
    }
    expect(() => planNetwork(net(), snap([node('a', 123 as unknown as string)]), 'kubeadm')).toThrow('nodes[name=a].internalIP: got 123');
    expect(codes(planNetwork(net(), snap([node('a', '192.168.1.1')]), 'kubeadm'))).toEqual([]);
  });

  it('rejects IPv6 node addresses as not supported yet', () => {
    expect(() => planNetwork(net(), snap([node('a', 'fd00::1')]), 'kubeadm')).toThrow(/nodes\[name=a\]\.internalIP.*IPv6 is not supported yet/);
  });
});

describe('planNetwork findings, word for word (what the operator reads in plan and PLAN.md)', () => {
  const weaveDs = (env: unknown[]): KubeObject => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'weave-net', namespace: 'kube-system' }, spec: { template: { spec: { containers: [{ name: 'weave', env }] } } } });
  const kcms = (...clusterCidrs: string[]) => new Map(clusterCidrs.map((c, i) => [`cp-${i + 1}`, kcm(`cp-${i + 1}`, ['--allocate-node-cidrs=true', `--cluster-cidr=${c}`])] as [string, KubeObject]));

  it('a range from a ConfigMap, a service CIDR the snapshot disagrees with, node IPs in the Calico range (listed up to three), controller-managers that disagree', () => {
    const s: ClusterSnapshot = {
      dir: 'cluster', networkPolicies: [],
      nodes: ['a', 'b', 'c', 'd', 'e'].map((n, i) => node(n, `10.4${8 + (i % 2)}.0.${i + 1}`)),
      weaveObjects: [weaveDs([{ name: 'IPALLOC_RANGE', valueFrom: { configMapKeyRef: { name: 'weave', key: 'range' } } }])],
      networkFacts: { serviceCIDR: '10.100.0.0/16', serviceCIDRSource: 'kube-apiserver --service-cluster-ip-range' },
      controlPlane: { controllerManagers: kcms('10.32.0.0/12', '10.32.0.0/11') },
    } as ClusterSnapshot;
    expect(planNetwork(net(), s, 'kubeadm').findings).toEqual([
      { severity: 'warning', code: 'weave-cidr-unverified', message: 'Weave\'s DaemonSet takes IPALLOC_RANGE from a ConfigMap or Secret, so the snapshot cannot confirm spec.network.weaveCIDR 10.32.0.0/12', fix: 'check it by hand: `kubectl exec -n kube-system <weave-net pod> -c weave -- /home/weave/weave --local status ipam`', field: 'spec.network.weaveCIDR' },
      { severity: 'error', code: 'service-cidr-mismatch', message: 'the snapshot found service CIDR 10.100.0.0/16 (kube-apiserver --service-cluster-ip-range) but spec.network.serviceCIDR is 10.96.0.0/12', fix: 'set spec.network.serviceCIDR: 10.100.0.0/16', field: 'spec.network.serviceCIDR' },
      { severity: 'error', code: 'calico-holds-node-ip', message: '5 node InternalIP(s) lie inside the Calico CIDR 10.48.0.0/12: a 10.48.0.1, b 10.49.0.2, c 10.48.0.3 and 2 more', fix: 'choose a spec.network.calicoCIDR that holds no node address', field: 'spec.network.calicoCIDR' },
      { severity: 'warning', code: 'kcm-cluster-cidr-differs', message: 'the controller-managers disagree on --cluster-cidr: 10.32.0.0/11, 10.32.0.0/12', fix: 'make them agree before migrating; leader election hides the difference until a failover' },
    ]);
  });

  it('a controller-manager\'s --service-cluster-ip-range that spec.network.serviceCIDR contradicts, when the snapshot has no answer from the API server', () => {
    const withKcms = (flags: Record<string, string>, facts?: ClusterSnapshot['networkFacts']): ClusterSnapshot => ({
      ...snap([node('a', '192.168.1.10')]), ...(facts ? { networkFacts: facts } : {}),
      controlPlane: { controllerManagers: new Map(Object.entries(flags).map(([n, range]) => [n, kcm(n, [`--service-cluster-ip-range=${range}`])] as [string, KubeObject])) },
    });
    const mismatches = (s: ClusterSnapshot) => planNetwork(net(), s, 'kubeadm').findings.filter((f) => f.code === 'service-cidr-mismatch');
    expect(mismatches(withKcms({ 'cp-2': '172.20.0.0/16', 'cp-1': '172.20.0.0/16', 'cp-3': '10.96.0.0/12' }))).toEqual([
      { severity: 'error', code: 'service-cidr-mismatch', message: 'kube-controller-manager on cp-1, cp-2 runs with --service-cluster-ip-range=172.20.0.0/16 but spec.network.serviceCIDR is 10.96.0.0/12', fix: 'set spec.network.serviceCIDR: 172.20.0.0/16, the cluster\'s service range, so that the Calico CIDR is checked against it', field: 'spec.network.serviceCIDR' },
    ]);
    // Dual-stack: the IPv4 range is the one compared; a value that is no CIDR is kube-controller-manager's own problem.
    expect(mismatches(withKcms({ 'cp-1': 'fd00::/108,10.96.0.0/12', 'cp-2': 'not-a-cidr' }))).toEqual([]);
    // The API server's own answer (network facts) is what counts when the snapshot has it.
    expect(mismatches(withKcms({ 'cp-1': '172.20.0.0/16' }, { serviceCIDR: '10.96.0.0/12', serviceCIDRSource: 'kube-apiserver --service-cluster-ip-range' }))).toEqual([]);
  });

  it('refuses a dual-stack cluster CIDR wherever the control plane holds one, naming the file and field (the steps would drop its IPv6 half)', () => {
    const dual = '10.32.0.0/12,fd00:10:244::/56';
    const withControlPlane = (value: string): ClusterSnapshot => ({
      ...snap([node('a', '192.168.1.10')]),
      controlPlane: {
        controllerManagers: new Map([['cp-1', kcm('cp-1', [`--cluster-cidr=${value}`])]]),
        kubeProxyConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-proxy', namespace: 'kube-system' }, data: { 'config.conf': `mode: iptables\nclusterCIDR: ${value}\n` } },
        kubeProxyDaemonSet: { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy', namespace: 'kube-system' }, spec: { template: { spec: { containers: [{ name: 'kube-proxy', command: ['kube-proxy', `--cluster-cidr=${value}`] }] } } } },
        kubeadmConfig: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubeadm-config', namespace: 'kube-system' }, data: { ClusterConfiguration: `networking:\n  podSubnet: ${value}\n` } },
      },
    } as ClusterSnapshot);
    const found = planNetwork(net(), withControlPlane(dual), 'kubeadm').findings.filter((f) => f.code === 'dual-stack-cluster-cidr');
    expect(found.map((f) => [f.severity, f.file, f.field, f.message.split(':')[0]])).toEqual([
      ['error', 'cluster/control-plane/kube-proxy-configmap.yaml', 'data["config.conf"].clusterCIDR', "kube-proxy's clusterCIDR is \"10.32.0.0/12,fd00"],
      ['error', 'cluster/control-plane/kube-proxy-daemonset.yaml', 'containers[name=kube-proxy] --cluster-cidr', "kube-proxy's --cluster-cidr is \"10.32.0.0/12,fd00"],
      ['error', 'cluster/control-plane/kube-controller-manager/cp-1.yaml', '--cluster-cidr', "kube-controller-manager's --cluster-cidr on cp-1 is \"10.32.0.0/12,fd00"],
      ['error', 'cluster/control-plane/kubeadm-config.yaml', 'data.ClusterConfiguration.networking.podSubnet', "kubeadm's podSubnet is \"10.32.0.0/12,fd00"],
    ]);
    expect(planNetwork(net(), withControlPlane('10.32.0.0/12'), 'kubeadm').findings.filter((f) => f.code === 'dual-stack-cluster-cidr')).toEqual([]);
  });

  it('with disableNodeCidrAllocation, podCIDRs outside Calico turn allocation off at finalized instead of keeping the supernet', () => {
    const s = snap([node('a', '192.168.0.1', ['10.32.5.0/24'])], { kcm: ['--allocate-node-cidrs=true'] });
    const p = planNetwork(net(), s, 'kubeadm', true);
    expect([p.finalClusterCidr.toString(), p.disableAllocationAtFinal, p.finalReason]).toEqual(['10.48.0.0/12', true, '1 node podCIDR(s) (e.g. a: 10.32.5.0/24) lie outside the Calico CIDR, so node CIDR allocation is turned off (spec.controlPlane.disableNodeCidrAllocation) before --cluster-cidr narrows to 10.48.0.0/12']);
    expect(p.findings.map((f) => [f.severity, f.code, f.fix])).toEqual([['info', 'final-cidr-allocation-off', 'nothing to do, unless something else reads Node.spec.podCIDR (kube-proxy in NodeCIDR mode, a cloud route controller): then keep allocation on']]);
    // Without it the supernet stays, and says why.
    const kept = planNetwork(net(), s, 'kubeadm');
    expect([kept.finalClusterCidr.toString(), kept.disableAllocationAtFinal, kept.finalReason]).toEqual(['10.32.0.0/11', false, 'kube-controller-manager allocates node CIDRs and 1 node podCIDR(s) (e.g. a: 10.32.5.0/24) lie outside the Calico CIDR; narrowing --cluster-cidr would crash-loop it, so the supernet 10.32.0.0/11 stays']);
  });

  it('with disableNodeCidrAllocation and every podCIDR inside Calico, narrows with nothing to turn off', () => {
    const p = planNetwork(net(), snap([node('a', '192.168.1.10', ['10.48.5.0/24'])], { kcm: ['--allocate-node-cidrs=true', '--cluster-cidr=10.32.0.0/11'] }), 'kubeadm', true);
    expect([p.finalClusterCidr.toString(), p.finalReason]).toEqual(['10.48.0.0/12', 'every pod is on Calico by then, so the cluster CIDR narrows to the Calico CIDR 10.48.0.0/12']);
    expect(p.findings).toEqual([]);
  });

  it('overlaps with the service CIDR name both blocks', () => {
    const msg = (network: ReturnType<typeof net>, code: string) => planNetwork(network, snap([node('ok', '192.168.1.1')]), 'kubeadm').findings.find((f) => f.code === code)!.message;
    expect(msg(net('10.48.0.0/12', '10.32.0.0/12', '10.33.0.0/16'), 'weave-overlaps-service')).toBe('the Weave CIDR 10.32.0.0/12 overlaps the service CIDR 10.33.0.0/16');
    expect(msg(net('10.112.0.0/12'), 'supernet-holds-service')).toBe('the supernet 10.0.0.0/9 of 10.32.0.0/12 and 10.112.0.0/12 overlaps the service CIDR 10.96.0.0/12');
    expect(msg(net('10.96.0.0/16'), 'calico-overlaps-service')).toBe('the Calico CIDR 10.96.0.0/16 overlaps the service CIDR 10.96.0.0/12');
    expect(msg(net('10.40.0.0/13'), 'calico-overlaps-weave')).toBe('the Calico CIDR 10.40.0.0/13 overlaps the Weave CIDR 10.32.0.0/12');
  });

  it('a node podCIDR that is not a CIDR is one error naming the node and the index', () => {
    expect(() => planNetwork(net(), snap([node('a', '192.168.0.1', ['10.32.0.0/24', '10.32.1.0'])]), 'kubeadm'))
      .toThrow('cluster/nodes.yaml: nodes[name=a].podCIDRs[1]: got "10.32.1.0": expected an IPv4 CIDR such as 10.32.0.0/12 (four decimal octets, "/", a prefix length); allowed: an IPv4 CIDR');
  });
});
