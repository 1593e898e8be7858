/**
 * PLAN.md on a large cluster: what a reviewer reads first fits a pull-request comment, the wave
 * being switched is named node by node, the rest is summarized and linked (dist/waves.md); the
 * workflow's "Post the plan" step never fails for size, checked with a stand-in `gh` that refuses
 * bodies over GitHub's 65,536 characters.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { generateCluster } from '../bench/generate';
import { loadPlan } from '../src/plan/migration-plan';
import { GITHUB_COMMENT_MAX_CHARS, prCommentBody } from '../src/synth/pr-comment';
import { renderStep } from '../src/synth/render';
import { demoWorkspace, REPO_ROOT, setStep } from './support/workspace';

const PLAN_MAX = 60000;

function bigCluster(explicitWaves: boolean, edit?: (dir: string) => void, strategy?: Record<string, number | string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-plan-size-'));
  const g = generateCluster(dir, 5000, 3000, 5, 'adopt');
  if (!explicitWaves) {
    const doc = YAML.parse(fs.readFileSync(g.config, 'utf8'));
    delete doc.spec.nodes.waves;
    if (strategy) doc.spec.nodes.waveStrategy = strategy;
    fs.writeFileSync(g.config, YAML.stringify(doc));
  }
  edit?.(dir);
  return { dir, config: g.config, base: loadPlan({ configFile: g.config }) };
}

/**
 * dist/ files of `steps`, rendered by the compiled app in a child process: rendering 5,000 nodes'
 * Jobs takes seconds a step natively and several times that inside Jest's module sandbox.
 */
function renderedFiles(config: string, steps: readonly string[], files: readonly string[]): Record<string, Record<string, string>> {
  const script = `
    const { loadPlan, buildPlan } = require(${JSON.stringify(path.join(REPO_ROOT, 'build', 'src', 'plan', 'migration-plan.js'))});
    const { renderStep } = require(${JSON.stringify(path.join(REPO_ROOT, 'build', 'src', 'synth', 'render.js'))});
    const [config, steps, files] = JSON.parse(process.argv[1]);
    const base = loadPlan({ configFile: config });
    const out = {};
    for (const step of steps) {
      const dist = renderStep(buildPlan({ ...base.migration, spec: { ...base.migration.spec, step } }, base.snapshot, config, config)).dist;
      out[step] = Object.fromEntries(files.map((f) => [f, dist.get(f)]));
    }
    process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify([config, steps, files])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe('PLAN.md at 5,000 nodes and 3,000 policies', () => {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('stays within a comment at every sampled step with ~500 small waves, naming every node of the wave', () => {
    // Small waves (at most 10 nodes, as the defaults were once): a waves table far past a comment.
    const c = bigCluster(false, undefined, { canary: 1, growthFactor: 2, maxWaveSize: 10 });
    made.push(c.dir);
    const w = c.base.waves.length;
    expect(w).toBeGreaterThan(16);
    // A sample: every step from calico on renders 5,000 Jobs (15,000 from weave-removed on).
    const sampled = ['adopt', 'policies-suspended', 'nodes-1', 'nodes-3', `nodes-${Math.floor(w / 2)}`, `nodes-${w}`];
    const rendered = renderedFiles(c.config, sampled, ['PLAN.md', 'waves.md']);
    const wavesMd = new Set<string>();
    for (const step of sampled) {
      const md = rendered[step]['PLAN.md'];
      expect([step, md.length <= PLAN_MAX]).toEqual([step, true]);
      const wave = step.startsWith('nodes-') ? c.base.waves[Number(step.slice(6)) - 1] : [];
      for (const n of wave) expect(md).toContain(n);
      // The summary says where the full lists are; that file is the same at every step.
      expect(md).toContain('`dist/waves.md`');
      wavesMd.add(rendered[step]['waves.md']);
      expect(md).toMatch(/^\| … \| \d+ more wave steps/m);
    }
    expect(wavesMd.size).toBe(1);
    const all = [...wavesMd][0];
    for (const n of c.base.snapshot.nodes) expect(all).toContain(`- ${n.name}\n`);
  });

  it('with the default waves (14, the largest 1,249 nodes) the largest wave\'s step stays within a comment, and every node of that wave is named in PLAN.md or dist/waves.md', () => {
    const c = bigCluster(false);
    made.push(c.dir);
    expect(c.base.waves.length).toBe(14);
    const largest = c.base.waves.reduce((a, b, i) => (b.length > c.base.waves[a].length ? i : a), 0);
    const step = `nodes-${largest + 1}`;
    const rendered = renderedFiles(c.config, [step], ['PLAN.md', 'waves.md'])[step];
    expect(rendered['PLAN.md'].length).toBeLessThanOrEqual(PLAN_MAX);
    for (const n of c.base.waves[largest]) expect([n, rendered['PLAN.md'].includes(n) || rendered['waves.md'].includes(`- ${n}\n`)]).toEqual([n, true]);
  });

  it('names all 1,000 nodes of an explicit wave once, and groups findings that repeat per node', () => {
    // Every node carries a CNI file that sorts first: one finding per node.
    const c = bigCluster(true, (dir) => {
      const inv = YAML.parse(fs.readFileSync(path.join(dir, 'cluster', 'nodes.yaml'), 'utf8'));
      inv.nodes.forEach((n: any) => (n.cniConfigFiles = ['00-leftover.conflist', '10-weave.conflist']));
      fs.writeFileSync(path.join(dir, 'cluster', 'nodes.yaml'), YAML.stringify(inv));
    });
    made.push(c.dir);
    const wave = c.base.waves[1];
    expect(wave.length).toBeGreaterThanOrEqual(1000);
    const md = renderedFiles(c.config, ['nodes-2'], ['PLAN.md'])['nodes-2']['PLAN.md'];
    expect(md.length).toBeLessThanOrEqual(PLAN_MAX);
    const section = md.slice(md.indexOf('## Wave 2 ('), md.indexOf('\n## ', md.indexOf('## Wave 2 (') + 1));
    for (const n of wave) expect(section.split(`${n},`).length + section.split(`${n}\n`).length - 2).toBe(1);
    // The other sections refer to the wave, they do not repeat it (the waves summary names only
    // its first and last node).
    for (const n of wave.slice(1, 6)) expect(md.split(n).length - 1).toBe(1);
    const grouped = md.split('\n').filter((l) => l.includes('`cni-file-sorts-first`'));
    expect(grouped).toHaveLength(1);
    expect(grouped[0]).toMatch(/\(5000 times\).* and 4997 more/);
    expect(c.base.findings.filter((f) => f.code === 'cni-file-sorts-first')).toHaveLength(5000);
  });
});

describe('the 6-node demo', () => {
  it('keeps its full steps and waves tables', () => {
    const ws = demoWorkspace();
    setStep(ws, 'nodes-2');
    const plan = loadPlan({ configFile: ws.config });
    const md = renderStep(plan).dist.get('PLAN.md')!;
    for (const s of plan.steps) expect(md).toContain(`| \`${s.name}\` |`);
    plan.waves.forEach((w, i) => expect(md).toContain(`| ${i + 1} | ${w.join(', ')} | ${i < 2 ? 'Calico first' : 'Weave first'} |`));
    expect(md).not.toContain('more wave steps');
  });
});

describe('the comment body', () => {
  const plan = `# title\n\n## A\n\n${'a'.repeat(30000)}\n\n## B\n\n${'b'.repeat(30000)}\n\n## C\n\n${'c'.repeat(30000)}\n`;

  it('is PLAN.md itself when it fits', () => {
    expect(prCommentBody('# small\n', 65000)).toBe('# small\n');
  });

  it('is cut before the first section that does not fit, with a link to the rest', () => {
    const body = prCommentBody(plan, 65000, 'https://git.example.com/x/blob/abc/dist/PLAN.md');
    expect(body.length).toBeLessThanOrEqual(65000);
    expect(body).toContain('## B');
    expect(body).not.toContain('## C');
    expect(body).toMatch(new RegExp(`PLAN\\.md is ${plan.length.toLocaleString("en-US")} characters`));
    expect(body).toMatch(/characters.*\[dist\/PLAN\.md\]\(https:\/\/git\.example\.com\/x\/blob\/abc\/dist\/PLAN\.md\)/);
    // One section longer than the whole budget: cut at a line.
    const one = prCommentBody(`# t\n\n${'x\n'.repeat(50000)}`, 20000);
    expect(one.length).toBeLessThanOrEqual(20000);
    expect(() => prCommentBody(plan, 10)).toThrow(/at least 1000, got 10/);
  });
});

describe('the workflow\'s "Post the plan" step', () => {
  const workflow = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, '.github', 'workflows', 'cni-migrate.yml'), 'utf8'));
  const post = workflow.jobs.check.steps.find((s: any) => s.name === 'Post the plan');

  /** Runs the step's own script, as the runner would, with a stand-in gh enforcing GitHub's limit. */
  function runPost(planText: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-post-'));
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.mkdirSync(path.join(dir, 'stub'));
    fs.mkdirSync(path.join(dir, 'runner'));
    fs.writeFileSync(path.join(dir, 'dist', 'PLAN.md'), planText);
    fs.symlinkSync(path.join(REPO_ROOT, 'bin'), path.join(dir, 'bin'));
    // gh pr comment PR --body-file F [--edit-last]: refuses a body GitHub would refuse; with
    // --edit-last and no earlier comment it fails as gh does, so the fallback creates one.
    fs.writeFileSync(path.join(dir, 'stub', 'gh'), `#!/bin/sh
set -eu
file=""; edit=""
while [ $# -gt 0 ]; do case "$1" in --body-file) file="$2"; shift 2;; --edit-last) edit=1; shift;; *) shift;; esac; done
n=$(node -e 'process.stdout.write(String(require("fs").readFileSync(process.argv[1], "utf8").length))' "$file")
if [ "$n" -gt ${GITHUB_COMMENT_MAX_CHARS} ]; then echo "HTTP 422: Validation Failed: body is too long (maximum is ${GITHUB_COMMENT_MAX_CHARS} characters)" >&2; exit 1; fi
if [ -n "$edit" ] && [ ! -f "$COMMENTS" ]; then echo "no comments found for current user" >&2; exit 1; fi
cp "$file" "$COMMENTS"
`, { mode: 0o755 });
    const env = {
      PATH: `${path.join(dir, 'stub')}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
      RUNNER_TEMP: path.join(dir, 'runner'),
      GITHUB_STEP_SUMMARY: path.join(dir, 'runner', 'summary.md'),
      COMMENTS: path.join(dir, 'runner', 'comment.md'),
      PR: '7',
      GH_TOKEN: 'x',
      PLAN_URL: 'https://github.example/acme/net/blob/0123abc/dist/PLAN.md',
    };
    // stdin not a socket: bash reads ~/.bashrc when it thinks a remote shell started it.
    const r = spawnSync('bash', ['-eo', 'pipefail', '-c', post.run], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined);
    const out = { code: r.status, stderr: r.stderr, comment: read(env.COMMENTS), summary: read(env.GITHUB_STEP_SUMMARY) };
    fs.rmSync(dir, { recursive: true, force: true });
    return out;
  }

  it('posts a small PLAN.md whole', () => {
    const r = runPost('# plan\n\n## Checks\n\n- ok\n');
    expect(r).toMatchObject({ code: 0, comment: '# plan\n\n## Checks\n\n- ok\n', summary: '# plan\n\n## Checks\n\n- ok\n' });
  });

  it('posts what fits of a PLAN.md too long for a comment, links the rest, and passes', () => {
    const big = `# plan\n\n## What applying this step changes\n\n- x\n\n## Waves\n\n${Array.from({ length: 4000 }, (_, i) => `| ${i} | node-${String(i).padStart(5, '0')}.pool.example.internal | Weave first |`).join('\n')}\n`;
    expect(big.length).toBeGreaterThan(GITHUB_COMMENT_MAX_CHARS);
    const r = runPost(big);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/too long/);
    expect(r.comment!.length).toBeLessThanOrEqual(GITHUB_COMMENT_MAX_CHARS);
    expect(r.comment).toContain('## What applying this step changes');
    expect(r.comment).toContain('Read the rest in [dist/PLAN.md](https://github.example/acme/net/blob/0123abc/dist/PLAN.md)');
    expect(Buffer.byteLength(r.summary!)).toBeLessThan(1024 * 1024);
    // The stand-in does refuse what GitHub refuses: the whole file, posted as the old step did.
    const raw = spawnSync('sh', ['-c', 'printf %s "$BODY" > /tmp/cni-migrate-raw-body.md; gh pr comment 7 --body-file /tmp/cni-migrate-raw-body.md'], {
      env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, BODY: big, COMMENTS: '/dev/null' },
      encoding: 'utf8',
    });
    expect(raw.status).not.toBe(0);
  });
});
