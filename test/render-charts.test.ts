/**
 * renderCharts renders every chart in one pass instead of cdk8s's Chart.toJson(), which prepares the
 * whole app again per chart. These tests hold it to cdk8s's own rendering at every step of the demo,
 * for both engines, and to its one assumption: no construct declares a dependency.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { loadPlan } from '../src/plan/migration-plan';
import { stepList } from '../src/steps/steps';
import { buildStepApp } from '../src/step-app';
import { renderCharts } from '../src/synth/render-charts';
import { demoWorkspace, editConfig, setStep } from './support/workspace';

const STEPS = stepList(5).map((s) => s.name);
const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe.each(['argocd', 'flux'])('renderCharts (%s)', (engine) => {
  const ws = demoWorkspace();
  editConfig(ws, (d) => {
    d.spec.gitops.engine = engine;
    d.spec.probe = { enabled: true };
  });

  it.each(STEPS)('renders at %s exactly the objects Chart.toJson() renders, chart by chart', (step) => {
    setStep(ws, step);
    const plan = loadPlan({ configFile: ws.config });
    const ours = renderCharts(buildStepApp(plan));
    // A second app of the same plan: cdk8s's own rendering, untouched by ours.
    const theirs = buildStepApp(plan).charts;
    expect([...ours.keys()]).toEqual([...theirs.keys()]);
    let objects = 0;
    for (const [layer, chart] of theirs) {
      const expected = (chart.toJson() as any[]).sort((a, b) => (key(a) < key(b) ? -1 : 1));
      const got = [...ours.get(layer)!].sort((a, b) => (key(a) < key(b) ? -1 : 1));
      // Key order too: it is the order of the lines in the YAML file.
      expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
      objects += got.length;
    }
    expect(objects).toBeGreaterThan(0);
  });
});

describe('renderCharts and dependencies', () => {
  it('keeps each object in its closest chart only, and refuses a construct that declares a dependency', () => {
    const app = new App({ outdir: '.cdk8s-unused' });
    const outer = new Chart(app, 'outer');
    const inner = new Chart(outer, 'inner');
    const a = new ApiObject(outer, 'a', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
    new ApiObject(inner, 'b', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } });
    const charts = new Map([['00-gate', outer], ['10-calico', inner]]) as any;
    const rendered = renderCharts({ app, charts });
    expect(rendered.get('00-gate' as any)!.map((o) => o.metadata.name)).toEqual(['a']);
    expect(rendered.get('10-calico' as any)!.map((o) => o.metadata.name)).toEqual(['b']);

    const c = new ApiObject(outer, 'c', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    c.addDependency(a);
    expect(() => renderCharts({ app, charts })).toThrow('outer/c declares a dependency on outer/a; renderCharts does not order objects by dependencies');
  });
});
