/**
 * What the cluster-cidr Jobs write, in process: the YAML text edits that change one value and keep
 * every other byte (kube-proxy's config.conf, kubeadm's ClusterConfiguration in its v1beta3 map and
 * v1beta4 list forms), the flag edit of a kube-proxy that takes flags, and the targets per phase
 * for each way kube-proxy and kube-controller-manager can be set up.
 */
import * as YAML from 'yaml';
import type { ClusterSnapshot, KubeObject } from '../src/kube/objects';
import { clusterCidrTargets, kubeadmClusterConfiguration, textDigest, withFlag } from '../src/model/cluster-cidr-targets';
import { setYamlValue } from '../src/model/yaml-text-edit';
import { kubeProxyConfigClusterCidr } from '../src/kube/control-plane-facts';
import { Cidr } from '../src/network/cidr';
import type { NetworkPlan } from '../src/network/network-plan';

describe('YAML text edits', () => {
  it('replace one scalar and keep every other byte, comments included', () => {
    const text = '# kube-proxy\napiVersion: x\nclusterCIDR: "10.32.0.0/12"   # pods\nmode: ""\n';
    expect(setYamlValue(text, ['clusterCIDR'], '10.32.0.0/11')).toBe(text.replace('"10.32.0.0/12"', '"10.32.0.0/11"'));
    expect(setYamlValue(text, ['clusterCIDR'], '10.32.0.0/12')).toBe(text);
    expect(YAML.parse(setYamlValue('a: 1\n', ['clusterCIDR'], '10.32.0.0/11'))).toEqual({ a: 1, clusterCIDR: '10.32.0.0/11' });
    expect(setYamlValue('a: 1\nclusterCIDR: x\n', ['clusterCIDR'], undefined)).toBe('a: 1\n');
  });

  it('kubeadm ClusterConfiguration: podSubnet and extraArgs in v1beta3 and v1beta4 forms', () => {
    const v3 = 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n    cluster-cidr: 10.32.0.0/12\nnetworking:\n  podSubnet: 10.32.0.0/12\n  serviceSubnet: 10.96.0.0/12\n';
    expect(kubeadmClusterConfiguration(v3, '10.32.0.0/11', false)).toBe(v3.replace(/10\.32\.0\.0\/12/g, '10.32.0.0/11'));
    expect(YAML.parse(kubeadmClusterConfiguration(v3, '10.48.0.0/12', true)).controllerManager.extraArgs).toEqual({ 'cluster-cidr': '10.48.0.0/12', 'allocate-node-cidrs': 'false' });
    const v4 = 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n  - name: cluster-cidr\n    value: 10.32.0.0/12\nnetworking:\n  podSubnet: 10.32.0.0/12\n';
    expect(kubeadmClusterConfiguration(v4, '10.32.0.0/11', false)).toBe(v4.replace(/10\.32\.0\.0\/12/g, '10.32.0.0/11'));
    expect(YAML.parse(kubeadmClusterConfiguration(v4, '10.48.0.0/12', true)).controllerManager.extraArgs).toEqual([{ name: 'cluster-cidr', value: '10.48.0.0/12' }, { name: 'allocate-node-cidrs', value: 'false' }]);
    // No podSubnet (a cluster built without one): nothing to keep in step with.
    const none = 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  serviceSubnet: 10.96.0.0/12\n';
    expect(kubeadmClusterConfiguration(none, '10.32.0.0/11', false)).toBe(none);
  });

  it('flags: replace either form, append when missing', () => {
    expect(withFlag(['kube-proxy', '--cluster-cidr=a', '--v=2'], 'cluster-cidr', 'b')).toEqual(['kube-proxy', '--cluster-cidr=b', '--v=2']);
    expect(withFlag(['kube-proxy', '--cluster-cidr', 'a'], 'cluster-cidr', 'b')).toEqual(['kube-proxy', '--cluster-cidr=b']);
    expect(withFlag(['kube-proxy'], 'cluster-cidr', 'b')).toEqual(['kube-proxy', '--cluster-cidr=b']);
  });
});


describe('more YAML text edits', () => {
  it('keep single quotes, replace a block scalar through the document, refuse text that is not YAML', () => {
    expect(setYamlValue("a: 'x'\n", ['a'], 'y')).toBe("a: 'y'\n");
    expect(setYamlValue('a: x\n', ['a'], 'y')).toBe('a: y\n');
    expect(YAML.parse(setYamlValue('a: |\n  x\n', ['a'], 'y'))).toEqual({ a: 'y' });
    expect(setYamlValue('a: 1\n', ['missing'], undefined)).toBe('a: 1\n');
    expect(setYamlValue('a:\n  b: 1\n  c: 2\n', ['a', 'b'], undefined)).toBe('a:\n  c: 2\n');
    expect(() => setYamlValue('a: [1\n', ['a'], 'x')).toThrow(/^not valid YAML: /);
  });

  it('kubeadm: allocation turned off where there were no extraArgs, in the form each API version reads', () => {
    const v3 = 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 10.32.0.0/12\n';
    expect(YAML.parse(kubeadmClusterConfiguration(v3, '10.48.0.0/12', true))).toEqual({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'ClusterConfiguration', networking: { podSubnet: '10.48.0.0/12' }, controllerManager: { extraArgs: { 'allocate-node-cidrs': 'false' } } });
    const v4 = v3.replace('v1beta3', 'v1beta4');
    expect(YAML.parse(kubeadmClusterConfiguration(v4, '10.48.0.0/12', true)).controllerManager).toEqual({ extraArgs: [{ name: 'allocate-node-cidrs', value: 'false' }] });
    // Without the switch, nothing is added.
    expect(kubeadmClusterConfiguration(v3, '10.48.0.0/12', false)).toBe(v3.replace('10.32.0.0/12', '10.48.0.0/12'));
    // No phase value (original): the text as captured.
    expect(kubeadmClusterConfiguration(v3, undefined, true)).toBe(v3);
  });

  it('kubeadm: an existing allocate-node-cidrs is changed in place; extraArgs without cluster-cidr get none added', () => {
    const map = 'apiVersion: kubeadm.k8s.io/v1beta3\ncontrollerManager:\n  extraArgs:\n    allocate-node-cidrs: "true"\n    bind-address: 0.0.0.0\n';
    expect(kubeadmClusterConfiguration(map, '10.48.0.0/12', true)).toBe(map.replace('"true"', '"false"'));
    expect(kubeadmClusterConfiguration(map, '10.48.0.0/12', false)).toBe(map);
    const list = 'apiVersion: kubeadm.k8s.io/v1beta4\ncontrollerManager:\n  extraArgs:\n  - name: bind-address\n    value: 0.0.0.0\n  - name: allocate-node-cidrs\n    value: "true"\n';
    expect(kubeadmClusterConfiguration(list, '10.48.0.0/12', true)).toBe(list.replace('"true"', '"false"'));
    const other = 'apiVersion: kubeadm.k8s.io/v1beta4\ncontrollerManager:\n  extraArgs:\n  - name: bind-address\n    value: 0.0.0.0\n';
    expect(YAML.parse(kubeadmClusterConfiguration(other, '10.48.0.0/12', true)).controllerManager.extraArgs).toEqual([{ name: 'bind-address', value: '0.0.0.0' }, { name: 'allocate-node-cidrs', value: 'false' }]);
    expect(kubeadmClusterConfiguration(other, '10.48.0.0/12', false)).toBe(other);
  });

  it('kubeadm: a key added to a ClusterConfiguration written as kubeadm writes it (sequences at their key\'s indentation) changes only its own line', () => {
    const lines = ['apiServer:', '  certSANs:', '  - cp.example.internal', '  - 10.0.0.10', '  extraArgs:', '    authorization-mode: Node,RBAC', 'apiVersion: kubeadm.k8s.io/v1beta3',
      'controllerManager:', '  extraArgs:', '    bind-address: 0.0.0.0', 'kind: ClusterConfiguration', 'networking:', '  podSubnet: 10.244.0.0/16', '  serviceSubnet: 10.96.0.0/12', ''];
    const want = [...lines];
    want.splice(10, 0, '    allocate-node-cidrs: "false"');
    want[13] = '  podSubnet: 10.32.0.0/11';
    expect(kubeadmClusterConfiguration(lines.join('\n'), '10.32.0.0/11', true)).toBe(want.join('\n'));
    // Indented sequences stay indented.
    expect(setYamlValue('a:\n  - x\n', ['b'], 'y')).toBe('a:\n  - x\nb: y\n');
  });

  it('flags: every occurrence replaced; a flag with no value after it is left and the value appended', () => {
    expect(withFlag(['--cluster-cidr=a', '--v=2', '--cluster-cidr', 'c'], 'cluster-cidr', 'b')).toEqual(['--cluster-cidr=b', '--v=2', '--cluster-cidr=b']);
    expect(withFlag(['kube-proxy', '--cluster-cidr'], 'cluster-cidr', 'b')).toEqual(['kube-proxy', '--cluster-cidr', '--cluster-cidr=b']);
    expect(withFlag(['kube-proxy', '--cluster-cidr', '--v=2'], 'cluster-cidr', 'b')).toEqual(['kube-proxy', '--cluster-cidr', '--v=2', '--cluster-cidr=b']);
    expect(withFlag(['--cluster-cidr-extra=x'], 'cluster-cidr', 'b')).toEqual(['--cluster-cidr-extra=x', '--cluster-cidr=b']);
  });

  it('a text digest is the first 16 hex digits of its SHA-256', () => {
    expect(textDigest('')).toBe('e3b0c44298fc1c14');
    expect(textDigest('a')).toMatch(/^[0-9a-f]{16}$/);
    expect(textDigest('a')).not.toBe(textDigest('b'));
  });
});

describe('targets per phase', () => {
  const NET = { supernet: Cidr.parse('10.32.0.0/11'), finalClusterCidr: Cidr.parse('10.48.0.0/12'), disableAllocationAtFinal: false, disableAllocationAtSupernet: false } as NetworkPlan;
  const pod = (flags: string[], name = 'kube-controller-manager'): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kcm' }, spec: { containers: [{ name: 'sidecar', command: ['sleep'] }, { name, command: ['kube-controller-manager', ...flags] }] } });
  const proxyDs = (container: object): KubeObject => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-proxy' }, spec: { template: { spec: { containers: [{ name: 'other' }, { name: 'kube-proxy', ...container }] } } } });
  const snapshot = (cp: { ds?: KubeObject; cm?: KubeObject; kubeadm?: KubeObject; kcm?: [string, KubeObject][] }): ClusterSnapshot =>
    ({ dir: 'cluster', controlPlane: { kubeProxyDaemonSet: cp.ds, kubeProxyConfigMap: cp.cm, kubeadmConfig: cp.kubeadm, controllerManagers: new Map(cp.kcm ?? []) } }) as unknown as ClusterSnapshot;
  const cm = (conf?: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-proxy' }, data: conf === undefined ? {} : { 'config.conf': conf } });

  it('kube-proxy with flags: the args (or command) with --cluster-cidr set per phase', () => {
    const args = clusterCidrTargets(snapshot({ ds: proxyDs({ command: ['/usr/local/bin/kube-proxy'], args: ['--cluster-cidr=10.32.0.0/12', '--v=2'] }) }), NET, 'managed').kubeProxy;
    expect(args).toEqual({ mode: 'flag', field: 'args', arrays: { original: ['--cluster-cidr=10.32.0.0/12', '--v=2'], supernet: ['--cluster-cidr=10.32.0.0/11', '--v=2'], final: ['--cluster-cidr=10.48.0.0/12', '--v=2'] } });
    const command = clusterCidrTargets(snapshot({ ds: proxyDs({ command: ['kube-proxy', '--v=2'] }) }), NET, 'managed').kubeProxy;
    expect(command).toEqual({ mode: 'flag', field: 'command', arrays: { original: ['kube-proxy', '--v=2'], supernet: ['kube-proxy', '--v=2', '--cluster-cidr=10.32.0.0/11'], final: ['kube-proxy', '--v=2', '--cluster-cidr=10.48.0.0/12'] } });
  });

  it('kube-proxy with a --config file: its ConfigMap per phase; none, with why, when something is missing', () => {
    const conf = 'clusterCIDR: 10.32.0.0/12\nmode: iptables\n';
    expect(clusterCidrTargets(snapshot({ ds: proxyDs({ command: ['kube-proxy', '--config=/var/lib/kube-proxy/config.conf'] }), cm: cm(conf) }), NET, 'managed').kubeProxy)
      .toEqual({ mode: 'configmap', texts: { original: conf, supernet: 'clusterCIDR: 10.32.0.0/11\nmode: iptables\n', final: 'clusterCIDR: 10.48.0.0/12\nmode: iptables\n' } });
    // No DaemonSet in the snapshot, but the ConfigMap: the file is what it reads.
    expect(clusterCidrTargets(snapshot({ cm: cm(conf) }), NET, 'managed').kubeProxy.mode).toBe('configmap');
    expect(clusterCidrTargets(snapshot({ ds: proxyDs({ command: ['kube-proxy', '--config', '/x'] }), cm: cm() }), NET, 'managed').kubeProxy)
      .toEqual({ mode: 'none', why: 'kube-proxy reads a --config file, but no ConfigMap kube-system/kube-proxy with config.conf is in the snapshot' });
    expect(clusterCidrTargets(snapshot({}), NET, 'managed').kubeProxy).toEqual({ mode: 'none', why: 'no kube-proxy DaemonSet or ConfigMap is in the snapshot' });
  });

  it('kube-proxy v1alpha2 (decoded strictly, no clusterCIDR): detectLocal.clusterCIDRs per phase, and the facts and status read it there', () => {
    const one = 'apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\ndetectLocal:\n  clusterCIDRs:\n  - 10.32.0.0/12\ndetectLocalMode: ClusterCIDR\nmode: nftables\n';
    const t = clusterCidrTargets(snapshot({ cm: cm(one) }), NET, 'managed').kubeProxy as { texts: Record<string, string> };
    expect(t.texts).toEqual({ original: one, supernet: one.replace('10.32.0.0/12', '10.32.0.0/11'), final: one.replace('10.32.0.0/12', '10.48.0.0/12') });
    for (const text of Object.values(t.texts)) expect(YAML.parse(text).clusterCIDR).toBeUndefined();
    // Flow style kept; an absent list is added under detectLocal, next to what is there.
    const flow = 'apiVersion: "kubeproxy.config.k8s.io/v1alpha2"\nkind: KubeProxyConfiguration\ndetectLocal: {clusterCIDRs: ["10.32.0.0/12"]}\n';
    expect((clusterCidrTargets(snapshot({ cm: cm(flow) }), NET, 'managed').kubeProxy as { texts: Record<string, string> }).texts.supernet).toBe(flow.replace('10.32.0.0/12', '10.32.0.0/11'));
    const none = 'apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\ndetectLocal:\n  bridgeInterface: ""\nmode: nftables\n';
    const added = YAML.parse((clusterCidrTargets(snapshot({ cm: cm(none) }), NET, 'managed').kubeProxy as { texts: Record<string, string> }).texts.final);
    expect(added).toEqual({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha2', kind: 'KubeProxyConfiguration', detectLocal: { bridgeInterface: '', clusterCIDRs: ['10.48.0.0/12'] }, mode: 'nftables' });
    expect([kubeProxyConfigClusterCidr(one), kubeProxyConfigClusterCidr(none), kubeProxyConfigClusterCidr('clusterCIDR: 10.32.0.0/12\n')]).toEqual(['10.32.0.0/12', undefined, '10.32.0.0/12']);
    // Dual-stack lists are for plan to refuse; the edit never drops one half silently.
    const dual = one.replace('  - 10.32.0.0/12\n', '  - 10.32.0.0/12\n  - fd00:10:244::/56\n');
    expect(kubeProxyConfigClusterCidr(dual)).toBe('10.32.0.0/12,fd00:10:244::/56');
    expect(() => clusterCidrTargets(snapshot({ cm: cm(dual) }), NET, 'managed')).toThrow('cluster/control-plane/kube-proxy-configmap.yaml: data["config.conf"].detectLocal.clusterCIDRs: holds 10.32.0.0/12,fd00:10:244::/56: dual-stack is not supported yet; allowed: one IPv4 CIDR');
  });

  it('refuses a config.conf it cannot read, naming the file and field', () => {
    expect(() => clusterCidrTargets(snapshot({ cm: cm('a: [1\n') }), NET, 'managed')).toThrow('cluster/control-plane/kube-proxy-configmap.yaml: data["config.conf"]: cannot be read: not valid YAML: ');
  });

  it('kube-controller-manager: each node that sets either flag, sorted; allocation off at the end only when asked', () => {
    const t = clusterCidrTargets(snapshot({ kcm: [['cp-2', pod(['--cluster-cidr=10.32.0.0/12'])], ['cp-1', pod(['--allocate-node-cidrs=true', '--cluster-cidr=10.32.0.0/12'])], ['cp-3', pod(['--v=2'])]] }), { ...NET, disableAllocationAtFinal: true }, 'kubeadm');
    expect(t.controllerManagers).toEqual([
      { node: 'cp-1', cidr: { original: '10.32.0.0/12', supernet: '10.32.0.0/11', final: '10.48.0.0/12' }, allocate: { original: 'true', supernet: 'true', final: 'false' } },
      { node: 'cp-2', cidr: { original: '10.32.0.0/12', supernet: '10.32.0.0/11', final: '10.48.0.0/12' }, allocate: { original: 'keep', supernet: 'keep', final: 'false' } },
    ]);
    expect(t.controllerManagerSkipped).toBeUndefined();
    // Nodes with podCIDRs outside the supernet: off already in the edit that widens the CIDR.
    const early = clusterCidrTargets(snapshot({ kcm: [['cp-1', pod(['--allocate-node-cidrs=true', '--cluster-cidr=10.244.0.0/16'])]] }), { ...NET, disableAllocationAtFinal: true, disableAllocationAtSupernet: true }, 'kubeadm');
    expect(early.controllerManagers).toEqual([{ node: 'cp-1', cidr: { original: '10.244.0.0/16', supernet: '10.32.0.0/11', final: '10.48.0.0/12' }, allocate: { original: 'true', supernet: 'false', final: 'false' } }]);
    const only = clusterCidrTargets(snapshot({ kcm: [['cp-1', pod(['--allocate-node-cidrs=false'])]] }), NET, 'kubeadm').controllerManagers;
    expect(only).toEqual([{ node: 'cp-1', cidr: { original: '', supernet: '10.32.0.0/11', final: '10.48.0.0/12' }, allocate: { original: 'keep', supernet: 'keep', final: 'keep' } }]);
  });

  it('says why no controller-manager is changed', () => {
    expect(clusterCidrTargets(snapshot({}), NET, 'kubeadm').controllerManagerSkipped).toBe('no kube-controller-manager mirror pod is in the snapshot');
    expect(clusterCidrTargets(snapshot({ kcm: [['cp-1', pod(['--v=2'])]] }), NET, 'kubeadm').controllerManagerSkipped).toBe('kube-controller-manager runs with neither --cluster-cidr nor --allocate-node-cidrs, so there is nothing to change');
  });

  it('kubeadm\'s ClusterConfiguration per phase, left out when no phase changes it', () => {
    const kubeadm = (text: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubeadm-config' }, data: { ClusterConfiguration: text } });
    const text = 'apiVersion: kubeadm.k8s.io/v1beta3\nnetworking:\n  podSubnet: 10.32.0.0/12\n';
    expect(clusterCidrTargets(snapshot({ kubeadm: kubeadm(text) }), NET, 'kubeadm').kubeadmConfig).toEqual({ original: text, supernet: text.replace('10.32.0.0/12', '10.32.0.0/11'), final: text.replace('10.32.0.0/12', '10.48.0.0/12') });
    expect(clusterCidrTargets(snapshot({ kubeadm: kubeadm('apiVersion: kubeadm.k8s.io/v1beta3\n') }), NET, 'kubeadm').kubeadmConfig).toBeUndefined();
    // Allocation off from the supernet phase on: kubeadm's extraArgs say so too, or `kubeadm upgrade` turns it back on.
    const early = clusterCidrTargets(snapshot({ kubeadm: kubeadm(text) }), { ...NET, disableAllocationAtFinal: true, disableAllocationAtSupernet: true }, 'kubeadm').kubeadmConfig!;
    expect([early.original, early.supernet, early.final].map((t) => t.includes('allocate-node-cidrs'))).toEqual([false, true, true]);
    expect(() => clusterCidrTargets(snapshot({ kubeadm: kubeadm('a: [1\n') }), NET, 'kubeadm')).toThrow('cluster/control-plane/kubeadm-config.yaml: data.ClusterConfiguration: cannot be read: ');
    // Managed: the provider owns it.
    expect(clusterCidrTargets(snapshot({ kubeadm: kubeadm(text) }), NET, 'managed').kubeadmConfig).toBeUndefined();
  });
});
