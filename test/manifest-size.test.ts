/**
 * Argo CD's repo server refuses a directory Application whose .yaml/.yml/.json files pass
 * reposerver.max.combined.directory.manifests.size (10M = 10,000,000 bytes by default): a step
 * over it says so, with the setting to raise, in `plan` and in PLAN.md; Flux has no such cap.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ARGO_CD_DIRECTORY_LIMIT_BYTES, countedManifestBytes, manifestSizeFinding } from '../src/plan/manifest-size';
import { cli, demoWorkspace, editConfig } from './support/workspace';

describe('Argo CD\'s directory size limit', () => {
  it('counts .yaml, .yml and .json files only, and warns only above the limit and only for Argo CD', () => {
    // step.json is excluded by the Application's directory source; the Markdown files are not manifests.
    const files = new Map([['a/x.yaml', 'ab'], ['b.yml', 'c'], ['c.json', 'de'], ['step.json', 'fg'], ['PLAN.md', 'x'.repeat(100)], ['waves.md', 'y']]);
    expect(countedManifestBytes(files)).toBe(5);
    expect(manifestSizeFinding('argocd', ARGO_CD_DIRECTORY_LIMIT_BYTES)).toBeUndefined();
    const over = manifestSizeFinding('argocd', ARGO_CD_DIRECTORY_LIMIT_BYTES + 1)!;
    expect(over).toMatchObject({ severity: 'warning', code: 'argocd-manifest-size' });
    expect(over.fix).toContain('reposerver.max.combined.directory.manifests.size: "20M" in the argocd-cmd-params-cm ConfigMap');
    expect(manifestSizeFinding('argocd', 31_500_000)!.fix).toContain('"37M"');
    expect(manifestSizeFinding('flux', 50_000_000)).toBeUndefined();
  });

  it('a step with over 10 MB of NetworkPolicies: plan and PLAN.md name the setting; the same with Flux says nothing', async () => {
    const ws = demoWorkspace();
    const dir = path.join(ws.cluster, 'networkpolicies', 'bulk');
    fs.mkdirSync(dir, { recursive: true });
    // 60 policies of 4,000 ipBlock peers each: over 10 MB as synth writes them.
    for (let p = 0; p < 60; p++) {
      const peers = Array.from({ length: 4000 }, (_, i) => `    - ipBlock: {cidr: 192.168.${i >> 8}.${i & 255}/32}`).join('\n');
      fs.writeFileSync(path.join(dir, `bulk-${p}.yaml`), `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bulk-${p}\n  namespace: bulk\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n${peers}\n`);
    }
    const plan = await cli(ws, 'plan');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/WARNING argocd-manifest-size: this step's manifests are 1\d,\d{3},\d{3} bytes, over the 10,000,000/);
    expect((await cli(ws, 'synth')).code).toBe(0);
    expect(fs.readFileSync(path.join(ws.dist, 'PLAN.md'), 'utf8')).toContain('reposerver.max.combined.directory.manifests.size');
    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    expect((await cli(ws, 'plan')).stdout).not.toContain('argocd-manifest-size');
  }, 120000);
});
