/**
 * The command surface: help everywhere, plan's findings and exit codes, usage errors.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli, demoWorkspace, editConfig, REPO_ROOT } from './support/workspace';

describe('cni-migrate', () => {
  it.each(['synth', 'steps', 'advance', 'retreat', 'guard', 'plan', 'snapshot', 'status', 'comment'])('%s --help exits 0 and describes it', async (cmd) => {
    const ws = demoWorkspace();
    const r = await cli(ws, cmd, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Usage: cni-migrate ${cmd}`));
  });

  it('an unknown command or option is a usage error (exit 2), one message', async () => {
    const ws = demoWorkspace();
    const r = await cli(ws, 'synht');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'synht'/);
    expect((await cli(ws, 'synth', '--outt', 'x')).code).toBe(2);
  });

  it('plan prints steps, waves, CIDRs and findings, and exits 0 without errors', async () => {
    const ws = demoWorkspace();
    const r = await cli(ws, 'plan');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('steps: adopt → calico → cluster-cidr → policies-suspended → nodes-1');
    expect(r.stdout).toContain('wave 2: worker-2, worker-3');
    expect(r.stdout).toContain('supernet 10.32.0.0/11');
    expect(r.stdout).toMatch(/^INFO final-cidr-keeps-supernet: .*Fix: /m);
  });

  it('plan --json is machine-readable and exits 1 on an error finding', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.network.calicoCIDR = '10.96.0.0/16'));
    const r = await cli(ws, 'plan', '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.network).toEqual({ weaveCIDR: '10.32.0.0/12', calicoCIDR: '10.96.0.0/16', serviceCIDR: '10.96.0.0/12', supernet: '10.0.0.0/9', finalClusterCIDR: '10.0.0.0/9' });
    const err = doc.findings.find((f: any) => f.code === 'calico-overlaps-service');
    expect(err).toMatchObject({ severity: 'error', field: 'spec.network.calicoCIDR' });
    expect(err.fix).toBeTruthy();
    expect(doc.waves).toHaveLength(5);
  });

  it('plan warns when explicit waves switch control-plane nodes before workers', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => {
      delete d.spec.nodes.waveStrategy;
      d.spec.nodes.waves = [['cp-1'], ['worker-1', 'worker-2', 'worker-3', 'worker-gpu-1', 'cp-2']];
    });
    const r = await cli(ws, 'plan', '--json');
    expect(r.code).toBe(0);
    const codes = JSON.parse(r.stdout).findings.map((f: any) => `${f.severity} ${f.code}`);
    expect(codes).toContain('warning control-plane-not-last');
    expect(codes).not.toContain('info no-canary');
  });

  it('the package bin runs the compiled CLI and exits with its code', () => {
    const bin = path.join(REPO_ROOT, 'bin', 'cni-migrate.js');
    expect(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).bin).toEqual({ 'cni-migrate': 'bin/cni-migrate.js' });
    const ok = spawnSync(process.execPath, [bin, 'steps'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout.split('\n')[0]).toMatch(/^[> ✓] +1\. adopt/);
    const bad = spawnSync(process.execPath, [bin, '--config', 'no-such.yaml', 'plan'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('no-such.yaml: (file): file not found; allowed: a readable YAML file');
  });

  it('the bin compiles a fresh checkout itself, and only again when a source changed', () => {
    // A checkout as `npm ci` or `npm link` leaves it: sources and node_modules, no build/.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-fresh-'));
    try {
      for (const f of ['src', 'imports', 'bench', 'bin', 'cluster', 'test']) fs.cpSync(path.join(REPO_ROOT, f), path.join(dir, f), { recursive: true });
      for (const f of ['tsconfig.json', 'package.json', 'package-lock.json', 'migration.yaml']) fs.copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
      fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      const bin = path.join(dir, 'bin', 'cni-migrate.js');
      const first = spawnSync(process.execPath, [bin, 'steps'], { cwd: dir, encoding: 'utf8' });
      expect([first.status, first.stderr]).toEqual([0, '']);
      expect(first.stdout.split('\n')[0]).toMatch(/^> +1\. adopt/);
      const stamp = path.join(dir, 'build', '.sources-digest');
      const built = fs.statSync(path.join(dir, 'build', 'src', 'cli.js')).mtimeMs;
      // Nothing changed (a touch is no change): no compile.
      fs.utimesSync(path.join(dir, 'src', 'cli.ts'), new Date(), new Date());
      expect(spawnSync(process.execPath, [bin, 'steps'], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
      expect(fs.statSync(path.join(dir, 'build', 'src', 'cli.js')).mtimeMs).toBe(built);
      // A changed source is compiled before the command runs.
      const digest = fs.readFileSync(stamp, 'utf8');
      fs.appendFileSync(path.join(dir, 'src', 'cli.ts'), '\n// changed\n');
      expect(spawnSync(process.execPath, [bin, 'steps'], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
      expect(fs.readFileSync(stamp, 'utf8')).not.toBe(digest);
      expect(fs.readFileSync(path.join(dir, 'build', 'src', 'cli.js'), 'utf8')).toMatch(/\/\/ changed/);
      // A source that does not compile: one message, exit non-zero, and the command does not run.
      fs.appendFileSync(path.join(dir, 'src', 'cli.ts'), '\nconst broken: number = "x";\n');
      const bad = spawnSync(process.execPath, [bin, 'steps'], { cwd: dir, encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/cni-migrate: compiling the sources failed/);
      expect(bad.stdout).not.toMatch(/adopt/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
