/**
 * NodeDaemonSet adds its node names after cdk8s has resolved the rest of the object (a JSON patch),
 * so thousands of names skip cdk8s's per-value resolvers. These tests hold the rendered object to
 * what the names are for: the scheduler's matchFields term, and the pod-spec label that rolls the
 * set when its nodes change.
 */
import { Testing } from 'cdk8s';
import { NodeDaemonSet, type NodeSelection } from '../src/constructs/node-switch-set';

function render(nodes: NodeSelection): any {
  const chart = Testing.chart();
  new NodeDaemonSet(chart, 'Set', {
    name: 'cni-migrate-switch-wave-1',
    labels: { 'app.kubernetes.io/name': 'cni-migrate' },
    pod: { containers: [{ name: 'switch', image: 'busybox:1.36.1', command: ['/bin/true'] }] },
    holdImage: 'busybox:1.36.1',
    nodes,
  });
  const objs = Testing.synth(chart);
  expect(objs).toHaveLength(1);
  return objs[0];
}
const term = (ds: any) => ds.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0];
const podSpecLabel = (ds: any) => ds.spec.template.metadata.labels['cni-migrate.io/pod-spec'];

describe('NodeDaemonSet', () => {
  const many = Array.from({ length: 3000 }, (_, i) => `node-${String(i).padStart(5, '0')}.pool.example.internal`);

  it('names its nodes in a metadata.name In term, in the order given, beside the Linux and virtual-kubelet terms', () => {
    const ds = render({ only: many });
    expect(term(ds).matchFields).toEqual([{ key: 'metadata.name', operator: 'In', values: many }]);
    expect(term(ds).matchExpressions).toEqual([
      { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
      { key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] },
    ]);
  });

  it('leaves the named nodes out with NotIn, and selects every node without a name term', () => {
    expect(term(render({ except: ['a', 'b'] })).matchFields).toEqual([{ key: 'metadata.name', operator: 'NotIn', values: ['a', 'b'] }]);
    expect(term(render('all')).matchFields).toBeUndefined();
  });

  it('rolls its pods when only its node list changes (the pod-spec label covers the names)', () => {
    const a = podSpecLabel(render({ only: ['a', 'b'] }));
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(podSpecLabel(render({ only: ['a', 'b'] }))).toBe(a);
    expect(podSpecLabel(render({ only: ['a', 'c'] }))).not.toBe(a);
    expect(podSpecLabel(render({ except: ['a', 'b'] }))).not.toBe(a);
  });

  it('does not keep a reference to the caller\'s list', () => {
    const names = ['a', 'b'];
    const chart = Testing.chart();
    new NodeDaemonSet(chart, 'Set', { name: 's', labels: { x: 'y' }, pod: { containers: [{ name: 'c', image: 'i:1' }] }, holdImage: 'i:1', nodes: { only: names } });
    names.push('c');
    expect(term(Testing.synth(chart)[0]).matchFields[0].values).toEqual(['a', 'b']);
  });

  it('refuses an empty selection by name', () => {
    expect(() => render({ only: [] })).toThrow(/needs at least one name/);
  });
});
