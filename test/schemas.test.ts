/**
 * The schema check used by the synth tests must itself catch what it claims to catch.
 */
import { checkSchemas } from './support/schemas';

const job = () => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'j', namespace: 'kube-system' },
  spec: { backoffLimit: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36.1' }] } } },
});

describe('checkSchemas', () => {
  it('passes a valid Job', () => expect(checkSchemas([{ file: 'ok.yaml', obj: job() }])).toEqual([]));

  it('reports a misspelled field, which the JSON schemas allow', () => {
    const bad: any = job();
    bad.spec.backofLimit = 3;
    const problems = checkSchemas([{ file: 'ok.yaml', obj: job() }, { file: 'typo.yaml', obj: bad }]);
    expect(problems).toHaveLength(1);
    expect(problems[0].file).toBe('typo.yaml');
    expect(problems[0].problem).toMatch(/backofLimit/);
  });

  it('reports a nested unknown field', () => {
    const bad: any = job();
    bad.spec.template.spec.containers[0].securityContext = { privilegd: true };
    expect(checkSchemas([{ file: 'nested.yaml', obj: bad }]).map((p) => p.file)).toEqual(['nested.yaml']);
  });

  it('reports a wrong type through the model validator', () => {
    const bad: any = job();
    bad.spec.backoffLimit = 'three';
    expect(checkSchemas([{ file: 'type.yaml', obj: bad }]).some((p) => /backoffLimit|integer|number/.test(p.problem))).toBe(true);
  });

  it('reports an Argo CD Application without a project and a Flux Kustomization with an unknown field', () => {
    const app = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'a' }, spec: { source: { repoURL: 'x' }, destination: {} } };
    const ks = { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'k' }, spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: 'r' }, wiat: true } };
    const files = checkSchemas([{ file: 'app.yaml', obj: app }, { file: 'ks.yaml', obj: ks }]).map((p) => p.file);
    expect(files).toContain('app.yaml');
    expect(files).toContain('ks.yaml');
  });

  it('reports kinds it has no schema for', () => {
    expect(checkSchemas([{ file: 'x.yaml', obj: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } } }])[0].problem).toMatch(/no schema model/);
  });
});
