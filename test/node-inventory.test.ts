/**
 * nodes.yaml as synth reads it: validated, defaults filled in, sorted by name, and split into the
 * nodes that migrate and the others. The reader builds every node in one field order (so the
 * passes over 5,000 nodes stay fast); these tests hold it to what the spread copy it replaced did.
 */
import { parseNodeInventory, splitInventory } from '../src/cluster/snapshot';
import { InputError } from '../src/config/errors';

const inventory = (nodes: unknown[]) => ({ apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NodeInventory', nodes });
const node = (name: string, extra: Record<string, unknown> = {}) => ({ name, roles: [], internalIP: '10.0.0.1', containerRuntime: 'containerd://1.7.24', ...extra });

describe('parseNodeInventory', () => {
  it('sorts an inventory written out of order, and keeps a sorted one in its order', () => {
    expect(parseNodeInventory(inventory([node('w-3'), node('w-1'), node('cp-1'), node('w-2')]), 'nodes.yaml').map((n) => n.name)).toEqual(['cp-1', 'w-1', 'w-2', 'w-3']);
    expect(parseNodeInventory(inventory([node('a'), node('b'), node('c')]), 'nodes.yaml').map((n) => n.name)).toEqual(['a', 'b', 'c']);
    // Sorted but for the last pair: the check that skips the sort must look at every pair.
    expect(parseNodeInventory(inventory([node('a'), node('b'), node('d'), node('c')]), 'nodes.yaml').map((n) => n.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fills the defaults, sorts the roles, and keeps an optional field only where it is given', () => {
    const [bare, full] = parseNodeInventory(inventory([
      node('a', { roles: ['worker', 'control-plane', 'master'] }),
      node('b', { podCIDRs: ['10.32.0.0/24'], taints: [{ key: 'k', effect: 'NoSchedule' }], cniConfigFiles: ['10-weave.conflist'], providerID: 'aws:///x', os: 'linux', virtualKubelet: false }),
    ]), 'nodes.yaml');
    expect(bare).toEqual({ name: 'a', roles: ['control-plane', 'master', 'worker'], internalIP: '10.0.0.1', podCIDRs: [], containerRuntime: 'containerd://1.7.24', taints: [] });
    expect(Object.keys(bare)).toEqual(['name', 'roles', 'internalIP', 'podCIDRs', 'containerRuntime', 'taints']);
    expect(full).toEqual({ name: 'b', roles: [], internalIP: '10.0.0.1', podCIDRs: ['10.32.0.0/24'], containerRuntime: 'containerd://1.7.24', taints: [{ key: 'k', effect: 'NoSchedule' }], cniConfigFiles: ['10-weave.conflist'], providerID: 'aws:///x', os: 'linux', virtualKubelet: false });
  });

  it('gives every node the same field order, whatever order the file wrote them in', () => {
    const nodes = parseNodeInventory(inventory([
      { containerRuntime: 'containerd://1.7.24', internalIP: '10.0.0.2', roles: [], name: 'b' },
      node('a'),
    ]), 'nodes.yaml');
    expect(Object.keys(nodes[0])).toEqual(Object.keys(nodes[1]));
  });

  it('does not share the roles list with the parsed document', () => {
    const doc = inventory([node('a', { roles: ['worker'] })]);
    const [a] = parseNodeInventory(doc, 'nodes.yaml');
    (doc.nodes[0] as { roles: string[] }).roles.push('control-plane');
    expect(a.roles).toEqual(['worker']);
  });

  it('refuses a node listed twice, naming the second entry', () => {
    expect(() => parseNodeInventory(inventory([node('a'), node('b'), node('a')]), 'cluster/nodes.yaml'))
      .toThrow(new InputError('cluster/nodes.yaml', 'nodes[2].name', '"a" is listed twice', 'each node once'));
  });
});

describe('splitInventory', () => {
  it('puts virtual kubelets and non-Linux nodes aside, each side in inventory order', () => {
    const all = parseNodeInventory(inventory([
      node('a'),
      node('b', { virtualKubelet: true }),
      node('c', { taints: [{ key: 'virtual-kubelet.io/provider', value: 'azure', effect: 'NoSchedule' }] }),
      node('d', { os: 'windows' }),
      node('e', { os: 'linux' }),
    ]), 'nodes.yaml');
    const { nodes, otherNodes } = splitInventory(all);
    expect(nodes.map((n) => n.name)).toEqual(['a', 'e']);
    expect(otherNodes.map((n) => n.name)).toEqual(['b', 'c', 'd']);
  });
});
