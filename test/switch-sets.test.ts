/**
 * switchSets directly: how inventory nodes are grouped into the switch DaemonSets, and the two
 * checks that refuse to group nodes whose switches differ (a model change that broke the grouping
 * key must fail synth, not render one node's switch for another).
 */
import type { Migration } from '../src/config/types';
import type { NodeInfo } from '../src/kube/objects';
import type { NodeConvergence, NodeState } from '../src/model/node-states';
import { switchSets } from '../src/model/switch-sets';
import { stateAt, stepList } from '../src/steps/steps';

const state = (name: string) => stateAt(stepList(2).find((s) => s.name === name)!, 2);
const migration = (restartKubelet: boolean) => ({ spec: { nodes: { restartKubelet } } }) as unknown as Migration;
const info = (name: string, runtime = 'containerd://1.7.24') => ({ name, containerRuntime: runtime }) as unknown as NodeInfo;
const wave = (desired: NodeConvergence['desired']): NodeConvergence => ({ role: 'wave', desired, calicoConfName: '20-calico.conflist' });
const node = (name: string, w: number, convergences: NodeConvergence[]) => ({ name, wave: w, convergences }) as unknown as NodeState;

describe('switchSets', () => {
  it('one set per wave, in inventory order; one set of every node once Calico has its final name; none before Calico', () => {
    const nodes = [node('b', 2, [wave('weave-first')]), node('a', 1, [wave('calico-first')]), node('c', 2, [wave('weave-first')])];
    expect(switchSets(migration(false), nodes.map((n) => info(n.name)), nodes, state('nodes-1')).map((s) => [s.name, s.nodes])).toEqual([
      ['cni-migrate-switch-wave-2', ['b', 'c']], ['cni-migrate-switch-wave-1', ['a']],
    ]);
    const final: NodeConvergence = { role: 'final', desired: 'calico-first', calicoConfName: '10-calico.conflist' };
    const finals = nodes.map((n) => node(n.name, n.wave, [final]));
    expect(switchSets(migration(false), [], finals, state('weave-removed'))).toEqual([{ name: 'cni-migrate-switch-all', convergence: final }]);
    expect(switchSets(migration(false), [], nodes, state('adopt'))).toEqual([]);
  });

  it('splits a wave by runtime only when restarts are on and the wave mixes runtimes', () => {
    const nodes = [node('a', 1, [wave('calico-first')]), node('b', 1, [wave('calico-first')])];
    const inv = [info('a'), info('b', 'cri-o://1.30.4')];
    expect(switchSets(migration(true), inv, nodes, state('nodes-1')).map((s) => s.name)).toEqual(['cni-migrate-switch-wave-1-containerd', 'cni-migrate-switch-wave-1-crio']);
    expect(switchSets(migration(false), inv, nodes, state('nodes-1')).map((s) => s.name)).toEqual(['cni-migrate-switch-wave-1']);
  });

  it('groups nodes whose switches are equal but not the same object (as when nodeStates does not share them)', () => {
    const nodes = [node('a', 1, [wave('calico-first')]), node('b', 1, [wave('calico-first')])];
    expect(switchSets(migration(false), nodes.map((n) => info(n.name)), nodes, state('nodes-1')).map((s) => [s.name, s.nodes])).toEqual([['cni-migrate-switch-wave-1', ['a', 'b']]]);
    const finals = ['a', 'b'].map((n) => node(n, 1, [{ role: 'final', desired: 'calico-first', calicoConfName: '10-calico.conflist' }]));
    expect(switchSets(migration(false), [], finals, state('weave-removed')).map((s) => s.name)).toEqual(['cni-migrate-switch-all']);
  });

  it('refuses to group nodes whose switches differ, naming them', () => {
    const nodes = [node('a', 1, [wave('calico-first')]), node('b', 1, [wave('weave-first')])];
    expect(() => switchSets(migration(false), nodes.map((n) => info(n.name)), nodes, state('nodes-1'))).toThrow(/nodes of cni-migrate-switch-wave-1 need different switches: a .*calico-first.*, b .*weave-first/);
    const finals = [node('a', 1, [{ role: 'final', desired: 'calico-first', calicoConfName: '10-calico.conflist' }]), node('b', 1, [{ role: 'final', desired: 'calico-native', calicoConfName: '10-calico.conflist' }])];
    expect(() => switchSets(migration(false), [], finals, state('weave-removed'))).toThrow(/the final convergence differs between nodes/);
  });
});
