/**
 * guard against a real temporary git repository: each scenario is a commit on top of the last.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { cli, demoWorkspace, setStep, type Workspace } from './support/workspace';

const git = (ws: Workspace, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: ws.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const commit = (ws: Workspace, msg: string) => {
  git(ws, 'add', '-A');
  git(ws, 'commit', '-q', '--allow-empty', '-m', msg);
  return git(ws, 'rev-parse', 'HEAD');
};

describe('guard', () => {
  let ws: Workspace;
  beforeEach(() => {
    ws = demoWorkspace();
    git(ws, 'init', '-q', '-b', 'main');
  });

  it('accepts the first commit at adopt and refuses one that starts later', async () => {
    git(ws, 'commit', '-q', '--allow-empty', '-m', 'empty');
    commit(ws, 'adopt');
    expect(await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).toMatchObject({ code: 0, stdout: 'guard: ok: migration starts at adopt\n' });
    setStep(ws, 'calico');
    const r = await cli(ws, 'guard', '--from', 'HEAD~1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/starts at step calico; a migration must start at adopt/);
  });

  it('accepts one step forward and one step back (a revert)', async () => {
    commit(ws, 'adopt');
    setStep(ws, 'calico');
    commit(ws, 'advance to calico');
    expect(await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).toMatchObject({ code: 0, stdout: 'guard: ok: one step forward: adopt → calico\n' });
    git(ws, 'revert', '--no-edit', 'HEAD');
    expect(await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).toMatchObject({ code: 0, stdout: 'guard: ok: one step back: calico → adopt\n' });
  });

  it('refuses a jump of two or more steps backwards, as forwards', async () => {
    setStep(ws, 'nodes-2');
    commit(ws, 'at nodes-2');
    setStep(ws, 'policies-suspended');
    commit(ws, 'jump back two');
    const r = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect([r.code, r.stderr]).toEqual([1, 'guard: refused: step moved from nodes-2 to policies-suspended, 2 positions; a commit may move it by one (cni-migrate advance / retreat)\n']);
  });

  it('refuses a skip of two steps', async () => {
    commit(ws, 'adopt');
    setStep(ws, 'cluster-cidr');
    commit(ws, 'skip');
    const r = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('guard: refused: step moved from adopt to cluster-cidr, 2 positions; a commit may move it by one (cni-migrate advance / retreat)\n');
  });

  it('refuses a wave list rewritten under a step already passed', async () => {
    const explicit = (waves: string[][]) => {
      const doc = YAML.parseDocument(fs.readFileSync(ws.config, 'utf8'));
      doc.deleteIn(['spec', 'nodes', 'waveStrategy']);
      doc.setIn(['spec', 'nodes', 'waves'], waves);
      fs.writeFileSync(ws.config, doc.toString());
    };
    explicit([['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1', 'cp-2']]);
    setStep(ws, 'nodes-2');
    commit(ws, 'at nodes-2');
    // Moving a node that is not switched yet between unswitched waves is fine.
    explicit([['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1', 'cp-1'], ['cp-2']]);
    commit(ws, 'reshape later waves');
    expect((await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).code).toBe(0);
    // Pulling worker-3 out of switched wave 2 is not.
    explicit([['worker-1'], ['worker-2'], ['worker-3', 'worker-gpu-1', 'cp-1'], ['cp-2']]);
    commit(ws, 'edit switched wave');
    const r = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wave 2 is already switched to Calico, but its nodes changed \(worker-2, worker-3 → worker-2\)/);
  });

  it('refuses a strategy change that reshapes switched waves through the inventory', async () => {
    setStep(ws, 'nodes-3');
    commit(ws, 'at nodes-3');
    const nodesFile = path.join(ws.cluster, 'nodes.yaml');
    // A new worker that sorts first shifts every strategy-built wave.
    const inv = YAML.parse(fs.readFileSync(nodesFile, 'utf8'));
    inv.nodes.push({ name: 'worker-0', roles: [], internalIP: '192.168.56.20', containerRuntime: 'containerd://1.7.24' });
    fs.writeFileSync(nodesFile, YAML.stringify(inv));
    commit(ws, 'new node');
    const r = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wave 1 is already switched/);
  });

  it('refuses a step move bundled with other settings, and network changes once Calico is in', async () => {
    setStep(ws, 'calico');
    commit(ws, 'calico');
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('step: calico', 'step: cluster-cidr').replace('maxWaveSize: 2', 'maxWaveSize: 3'));
    const bundled = await cli(ws, 'guard', '--from', 'HEAD');
    expect(bundled.code).toBe(1);
    expect(bundled.stderr).toMatch(/also changes other settings in migration.yaml \(spec.nodes\)/);

    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('step: cluster-cidr', 'step: calico').replace('maxWaveSize: 3', 'maxWaveSize: 2').replace('# calicoCIDR defaults', 'calicoCIDR: 10.64.0.0/12 #'));
    const net = await cli(ws, 'guard', '--from', 'HEAD');
    expect(net.code).toBe(1);
    expect(net.stderr).toMatch(/spec.network changed after step calico applied/);
  });

  it('reports a bad revision as invalid input', async () => {
    commit(ws, 'adopt');
    const r = await cli(ws, 'guard', '--from', 'no-such-branch');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"no-such-branch" is not a commit/);
    const inj = await cli(ws, 'guard', '--from', '--output=/tmp/x');
    expect(inj.code).toBe(2);
  });
});

describe('guard and the copy of Calico\'s conflist', () => {
  it.each([
    ['policies-suspended', false],
    ['nodes-1', true],
    ['nodes-3', true],
    ['weave-removed', true],
    ['policies-restored', true],
    ['finalized', false],
  ])('refuses a spec.calico change at %s: %s', async (step, refused) => {
    const ws = demoWorkspace();
    git(ws, 'init', '-q', '-b', 'main');
    setStep(ws, step);
    commit(ws, step);
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('    ipipMode: Always', '    ipipMode: Always\n    mtu: 1400'));
    const r = await cli(ws, 'guard', '--from', 'HEAD');
    expect(r.code).toBe(refused ? 1 : 0);
    if (refused) expect(r.stderr).toMatch(/spec\.calico changed while switched nodes run on a copy of Calico's conflist/);
  });
});
