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
    expect(r.stderr).toMatch(/node worker-3 moves from wave 2, already switched to Calico, to wave 3; switched waves cannot be edited/);
  });

  it('refuses a commit that deletes migration.yaml, naming the revision', async () => {
    commit(ws, 'adopt');
    git(ws, 'rm', '-q', 'migration.yaml');
    commit(ws, 'gone');
    expect(await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).toMatchObject({ code: 1, stderr: 'guard: refused: migration.yaml does not exist at HEAD\n' });
    // Without --to, the working tree is the target.
    expect(await cli(ws, 'guard', '--from', 'HEAD~1')).toMatchObject({ code: 1, stderr: 'guard: refused: migration.yaml does not exist at the working tree\n' });
  });

  it('refuses a commit that deletes a backup the target step needs (Weave while it is applied; the policies always), at a revision and in the working tree', async () => {
    setStep(ws, 'calico');
    commit(ws, 'at calico');
    fs.rmSync(path.join(ws.cluster, 'weave', 'daemonset-kube-system-weave-net.yaml'));
    expect(await cli(ws, 'guard', '--from', 'HEAD')).toMatchObject({ code: 1, stderr: 'guard: refused: cluster/weave/daemonset-kube-system-weave-net.yaml is missing at the working tree, but step calico applies it: the engine would prune Weave Net from the cluster while pods use it; restore it from git history\n' });
    git(ws, 'checkout', '-q', '--', 'cluster');
    setStep(ws, 'cluster-cidr');
    fs.rmSync(path.join(ws.cluster, 'networkpolicies'), { recursive: true });
    commit(ws, 'policies gone');
    expect(await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).toMatchObject({ code: 1, stderr: 'guard: refused: cluster/networkpolicies is missing at HEAD, but step cluster-cidr applies it: the engine would delete every NetworkPolicy in the cluster; restore it from git history\n' });
    git(ws, 'revert', '--no-edit', 'HEAD');
    setStep(ws, 'policies-suspended');
    fs.rmSync(path.join(ws.cluster, 'networkpolicies'), { recursive: true });
    commit(ws, 'suspended, backup gone');
    expect(await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).toMatchObject({ code: 1, stderr: 'guard: refused: cluster/networkpolicies is missing at HEAD, but step policies-suspended keeps it as the only backup of the suspended NetworkPolicies; restore it from git history\n' });
  });

  it('refuses a revision that is not one (an option in disguise, a name git does not know) and an inventory missing at one, exit 2', async () => {
    commit(ws, 'adopt');
    for (const rev of ['-x', '--output=/tmp/x', 'HEAD;rm', 'a b']) {
      const r = await cli(ws, 'guard', '--from', rev);
      expect([rev, r.code, r.stderr]).toEqual([rev, 2, expect.stringContaining(`--from/--to: revision: got ${JSON.stringify(rev)}`)]);
    }
    const r = await cli(ws, 'guard', '--from', 'no-such-branch');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--from/--to: revision: "no-such-branch" is not a commit in this repository')]);
    git(ws, 'rm', '-q', 'cluster/nodes.yaml');
    commit(ws, 'inventory gone');
    const n = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect([n.code, n.stderr]).toEqual([2, expect.stringContaining('cluster/nodes.yaml@HEAD: (file): file not found')]);
  });

  it('refuses a commit that changes the number of waves and moves the step', async () => {
    setStep(ws, 'nodes-1');
    commit(ws, 'at nodes-1');
    const doc = YAML.parse(fs.readFileSync(ws.config, 'utf8'));
    // The demo's four workers in waves of 1, 2, 1, then the two control-plane nodes: 5 waves. Growing by 3 up to 3: 4.
    doc.spec.nodes.waveStrategy.growthFactor = 3;
    doc.spec.nodes.waveStrategy.maxWaveSize = 3;
    doc.spec.step = 'nodes-2';
    fs.writeFileSync(ws.config, YAML.stringify(doc));
    commit(ws, 'fewer waves and a step');
    const r = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect([r.code, r.stderr]).toEqual([1, 'guard: refused: the number of waves changed (5 → 4) in the same commit as the step (nodes-1 → nodes-2); change the waves in a commit of its own\n']);
  });

  it('accepts an inventory-only commit (a node gone from a switched wave, a new node in a wave not yet switched), and refuses a move between them', async () => {
    const nodesFile = path.join(ws.cluster, 'nodes.yaml');
    const explicit = (waves: string[][]) => {
      const doc = YAML.parseDocument(fs.readFileSync(ws.config, 'utf8'));
      doc.deleteIn(['spec', 'nodes', 'waveStrategy']);
      doc.setIn(['spec', 'nodes', 'waves'], waves);
      fs.writeFileSync(ws.config, doc.toString());
    };
    explicit([['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1'], ['cp-2']]);
    setStep(ws, 'nodes-3');
    commit(ws, 'at nodes-3');
    // Moving worker-3 from switched wave 2 to wave 5 would put it back on Weave: refused.
    explicit([['worker-1'], ['worker-2'], ['worker-gpu-1'], ['cp-1'], ['cp-2', 'worker-3']]);
    commit(ws, 'move worker-3');
    const moved = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/refused: node worker-3 moves from wave 2, already switched to Calico, to wave 5/);
    git(ws, 'reset', '-q', '--hard', 'HEAD~1');
    // worker-3 was deleted from the cluster; worker-new-1 joined.
    const inv = YAML.parse(fs.readFileSync(nodesFile, 'utf8'));
    inv.nodes = inv.nodes.filter((n: any) => n.name !== 'worker-3');
    inv.nodes.push({ name: 'worker-new-1', roles: [], internalIP: '192.168.56.30', podCIDRs: ['10.32.9.0/24'], containerRuntime: 'containerd://1.7.24' });
    fs.writeFileSync(nodesFile, YAML.stringify(inv));
    explicit([['worker-1'], ['worker-2'], ['worker-gpu-1'], ['cp-1'], ['cp-2', 'worker-new-1']]);
    commit(ws, 'inventory: worker-3 gone, worker-new-1 joined');
    expect(await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD')).toMatchObject({
      code: 0,
      stdout: 'guard: ok: step unchanged (nodes-3); settings changed: spec.nodes; inventory: removed worker-3 (1 from switched waves); added worker-new-1 to wave 5\n',
    });
    // Swapping a switched node with one not switched adds the latter to a switched wave: refused.
    explicit([['worker-1'], ['cp-1'], ['worker-gpu-1'], ['worker-2'], ['cp-2', 'worker-new-1']]);
    commit(ws, 'swap worker-2 and cp-1');
    const swapped = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toMatch(/wave 2 is already switched to Calico, but the commit adds cp-1 to it; add new nodes to a wave not yet switched/);
    // A node gone from a switched wave in the same commit as a step move: refused.
    git(ws, 'reset', '-q', '--hard', 'HEAD~2');
    fs.writeFileSync(nodesFile, YAML.stringify(inv));
    explicit([['worker-1'], ['worker-2'], ['worker-gpu-1'], ['cp-1'], ['cp-2', 'worker-new-1']]);
    setStep(ws, 'nodes-4');
    commit(ws, 'inventory and step');
    const both = await cli(ws, 'guard', '--from', 'HEAD~1', '--to', 'HEAD');
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/refused: the commit moves the step \(nodes-3 → nodes-4\) and also changes other settings in migration.yaml \(spec.nodes\)/);
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

  it('refuses a change of GitOps engine once the migration has begun, and accepts it at adopt', async () => {
    commit(ws, 'adopt');
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('engine: argocd', 'engine: flux'));
    expect(await cli(ws, 'guard', '--from', 'HEAD')).toMatchObject({ code: 0, stdout: 'guard: ok: step unchanged (adopt); settings changed: spec.gitops\n' });
    git(ws, 'checkout', '-q', '--', '.');
    setStep(ws, 'calico');
    commit(ws, 'calico');
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('engine: argocd', 'engine: flux'));
    const r = await cli(ws, 'guard', '--from', 'HEAD');
    expect([r.code, r.stderr]).toEqual([1, 'guard: refused: spec.gitops.engine changed (argocd → flux) mid-migration; the new engine would not own what the old one applied\n']);
  });

  it('refuses a change of control-plane mode once the cluster CIDR was set, not before', async () => {
    setStep(ws, 'calico');
    commit(ws, 'calico');
    const managed = () => fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('mode: kubeadm', 'mode: managed'));
    managed();
    expect((await cli(ws, 'guard', '--from', 'HEAD')).code).toBe(0);
    git(ws, 'checkout', '-q', '--', '.');
    setStep(ws, 'cluster-cidr');
    commit(ws, 'cluster-cidr');
    managed();
    const r = await cli(ws, 'guard', '--from', 'HEAD');
    expect([r.code, r.stderr]).toEqual([1, 'guard: refused: spec.controlPlane.mode changed after the cluster CIDR was set\n']);
  });

  it('refuses reverting weave-removed unless told to accept what it cannot restore (flag or environment)', async () => {
    setStep(ws, 'weave-removed');
    commit(ws, 'weave-removed');
    setStep(ws, 'nodes-5');
    const r = await cli(ws, 'guard', '--from', 'HEAD');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^guard: refused: reverting weave-removed brings Weave back, but not the state its cleanup removed from the nodes/);
    expect(await cli(ws, 'guard', '--from', 'HEAD', '--allow-weave-revert')).toMatchObject({ code: 0, stdout: 'guard: ok: one step back: weave-removed → nodes-5\n' });
    process.env.CNI_MIGRATE_ALLOW_WEAVE_REVERT = '1';
    try {
      expect(await cli(ws, 'guard', '--from', 'HEAD')).toMatchObject({ code: 0, stdout: 'guard: ok: one step back: weave-removed → nodes-5\n' });
    } finally {
      delete process.env.CNI_MIGRATE_ALLOW_WEAVE_REVERT;
    }
    // One step forward from nodes-5 needs no flag: only the way back loses state.
    commit(ws, 'nodes-5');
    setStep(ws, 'weave-removed');
    expect(await cli(ws, 'guard', '--from', 'HEAD')).toMatchObject({ code: 0, stdout: 'guard: ok: one step forward: nodes-5 → weave-removed\n' });
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
