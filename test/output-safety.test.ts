/**
 * Output folders are ours alone, and dist/ and gitops/ switch as one: synth and snapshot refuse
 * any target that is the repository, an ancestor, an input or not a previous output; a run killed
 * between the renames is completed by the next one; a failed write or rename leaves the old pair;
 * two runs cannot interleave; leftovers are removed and ignored by git.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { completeInterruptedSwitch, JOURNAL_FILE, LOCK_FILE, writeTreesAtomically } from '../src/synth/atomic-write';
import { cli, demoWorkspace, editConfig, REPO_ROOT, setStep, treeDigest, type Workspace } from './support/workspace';

/** Failures injected into the fs calls of the code under test (passed through when unset). */
const mockFaults: { write?: (file: string) => void; rename?: (from: string, to: string) => void } = {};
jest.mock('fs', () => {
  const real = jest.requireActual('fs');
  return {
    ...real,
    writeFileSync: (file: any, ...rest: any[]) => {
      mockFaults.write?.(String(file));
      return real.writeFileSync(file, ...rest);
    },
    renameSync: (from: any, to: any) => {
      mockFaults.rename?.(String(from), String(to));
      return real.renameSync(from, to);
    },
  };
});

function gitWorkspace(): Workspace {
  const ws = demoWorkspace();
  spawnSync('git', ['init', '-q'], { cwd: ws.dir });
  return ws;
}

/** Every file under the workspace (.git aside), with its digest. */
const everything = (ws: Workspace) => new Map([...treeDigest(ws.dir)].filter(([f]) => !f.startsWith('.git/')));

describe('output targets', () => {
  const refused = async (ws: Workspace, args: string[], why: RegExp) => {
    const before = everything(ws);
    const r = await cli(ws, ...args);
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(r.stderr).toMatch(why);
    expect(everything(ws)).toEqual(before);
    expect(fs.existsSync(path.join(ws.dir, '.git', 'HEAD'))).toBe(true);
  };

  it('never the repository, an ancestor of it, a .git folder, an input, or the other target', async () => {
    const ws = gitWorkspace();
    await cli(ws, 'synth');
    process.chdir(ws.dir);
    try {
      await refused(ws, ['synth', '--gitops', '.'], /^--gitops: \(option\): ".*" is the repository itself; allowed: a gitops\/ folder written by `cni-migrate synth`/);
      await refused(ws, ['synth', '--out', '..'], /--out: .*holds the repository/);
      await refused(ws, ['synth', '--out', '.git/x'], /--out: .*is inside \.git/);
      await refused(ws, ['synth', '--out', 'cluster'], /--out: .*holds an input of this command \(cluster\)/);
      await refused(ws, ['synth', '--out', 'cluster/weave'], /--out: .*is inside an input of this command \(cluster\)/);
      await refused(ws, ['synth', '--out', 'dist', '--gitops', 'dist'], /--gitops: .*is also given as --out/);
      await refused(ws, ['snapshot', '--out', '.'], /^--out: .*is the repository itself; allowed: a cluster\/ folder written by `cni-migrate snapshot`/);
    } finally {
      process.chdir(REPO_ROOT);
    }
  });

  it('never a folder that is not a previous output, a symlink or a file', async () => {
    const ws = gitWorkspace();
    await cli(ws, 'synth');
    fs.mkdirSync(path.join(ws.dir, 'mydocs'));
    fs.writeFileSync(path.join(ws.dir, 'mydocs', 'thesis.tex'), 'years of work');
    await refused(ws, ['synth', '--out', path.join(ws.dir, 'mydocs')], /holds "thesis.tex", which this tool does not write: it is not a previous output/);
    await refused(ws, ['synth', '--gitops', path.join(ws.dir, 'mydocs')], /--gitops: .*holds "thesis.tex"/);
    await refused(ws, ['snapshot', '--out', path.join(ws.dir, 'mydocs')], /--out: .*holds "thesis.tex"/);
    fs.writeFileSync(path.join(ws.dist, 'notes.md'), 'mine');
    await refused(ws, ['synth'], /--out: .*holds "notes.md"/);
    fs.rmSync(path.join(ws.dist, 'notes.md'));
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-elsewhere-'));
    fs.symlinkSync(path.join(ws.dir, 'mydocs'), path.join(elsewhere, 'link'));
    await refused(ws, ['synth', '--out', path.join(elsewhere, 'link')], /is a symbolic link/);
    fs.writeFileSync(path.join(elsewhere, 'afile'), 'x');
    await refused(ws, ['synth', '--out', path.join(elsewhere, 'afile')], /is not a folder/);
    // A previous output, an empty folder and a new path are fine.
    fs.mkdirSync(path.join(ws.dir, 'empty'));
    for (const out of [ws.dist, path.join(ws.dir, 'empty'), path.join(ws.dir, 'new')]) expect((await cli(ws, 'synth', '--out', out)).code).toBe(0);
  });
});

describe('dist/ and gitops/ switch as one', () => {
  /** The demo at nodes-2 with a gitops/ that differs from the committed one (another revision). */
  const changed = (ws: Workspace) => {
    setStep(ws, 'nodes-2');
    editConfig(ws, (d) => (d.spec.gitops.revision = 'release'));
  };
  const expected = async () => {
    const ws = demoWorkspace();
    changed(ws);
    expect((await cli(ws, 'synth')).code).toBe(0);
    return { dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) };
  };
  const leftovers = (ws: Workspace) => fs.readdirSync(ws.dir).filter((n) => n.startsWith('.') && n !== '.git').sort();

  it.each([2, 3, 4, 5])('a run killed at rename %i is completed by the next run', async (at) => {
    const want = await expected();
    const ws = gitWorkspace();
    expect((await cli(ws, 'synth')).code).toBe(0);
    const old = { dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) };
    changed(ws);
    const killed = spawnSync(process.execPath, ['-r', path.join(__dirname, 'support', 'crash-on-rename.js'), path.join(REPO_ROOT, 'build', 'src', 'cli.js'), 'synth'], { cwd: ws.dir, env: { ...process.env, CRASH_ON_RENAME: String(at) }, encoding: 'utf8' });
    expect(killed.signal).toBe('SIGKILL');
    // The renames: journal into place (1), dist aside (2), new dist in (3), gitops aside (4), new gitops in (5).
    const now = { dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) };
    expect(fs.existsSync(path.join(ws.dir, JOURNAL_FILE))).toBe(at >= 2);
    if (at === 3) expect(now.dist.size).toBe(0); // dist/ gone: moved aside, the new one not in yet.
    if (at === 4) expect([now.dist, now.gitops]).toEqual([want.dist, old.gitops]); // a mixed pair
    // The next run, of anything that writes, first completes the interrupted switch.
    expect(completeInterruptedSwitch(ws.dir)).toBe(at >= 2);
    expect({ dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) }).toEqual(at >= 2 ? want : old);
    expect((await cli(ws, 'synth')).code).toBe(0);
    expect({ dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) }).toEqual(want);
    expect(leftovers(ws)).toEqual([]);
  });

  it('a failed write or rename leaves the old pair whole, and nothing beside it', () => {
    const ws = demoWorkspace();
    const put = (marker: string) => writeTreesAtomically([
      { dir: ws.dist, files: new Map([['PLAN.md', marker], ['10-calico/a.yaml', marker]]) },
      { dir: ws.gitops, files: new Map([['application.yaml', marker]]) },
    ], { stateDir: ws.dir });
    put('old');
    const before = { dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) };
    // The disk fills up while the new trees are written.
    mockFaults.write = (file) => {
      if (file.endsWith('a.yaml')) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    expect(() => put('new')).toThrow(/ENOSPC/);
    delete mockFaults.write;
    expect({ dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) }).toEqual(before);
    expect(leftovers(ws)).toEqual([]);
    // Swapping the new gitops/ in fails (once): dist/ goes back to the old one too.
    mockFaults.rename = (from, to) => {
      if (to === ws.gitops && from.includes('-new-')) {
        delete mockFaults.rename;
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      }
    };
    expect(() => put('new')).toThrow(/EACCES/);
    delete mockFaults.rename;
    expect({ dist: treeDigest(ws.dist), gitops: treeDigest(ws.gitops) }).toEqual(before);
    expect(leftovers(ws)).toEqual([]);
    put('new');
    expect(fs.readFileSync(path.join(ws.gitops, 'application.yaml'), 'utf8')).toBe('new');
  });

  it('two runs cannot interleave; a lock left by a killed run is taken over', async () => {
    const ws = demoWorkspace();
    expect((await cli(ws, 'synth')).code).toBe(0);
    const before = everything(ws);
    fs.writeFileSync(path.join(ws.dir, LOCK_FILE), `${process.pid}\n`);
    setStep(ws, 'calico');
    const r = await cli(ws, 'synth');
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(new RegExp(`^.*\\.cni-migrate\\.lock: \\(lock\\): another cni-migrate \\(pid ${process.pid}\\) is writing beside`));
    expect(treeDigest(ws.dist)).toEqual(new Map([...before].filter(([f]) => f.startsWith('dist/')).map(([f, d]) => [f.slice(5), d])));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.writeFileSync(path.join(ws.dir, LOCK_FILE), `${dead}\n`);
    expect((await cli(ws, 'synth')).code).toBe(0);
    expect(fs.existsSync(path.join(ws.dir, LOCK_FILE))).toBe(false);
  });

  it('removes what killed runs left beside the outputs, which git ignores', async () => {
    const ws = gitWorkspace();
    fs.copyFileSync(path.join(REPO_ROOT, '.gitignore'), path.join(ws.dir, '.gitignore'));
    const junk = ['.dist-old-123-456', '.dist-new-123-456', '.gitops-new-123-456', '.cluster-new-123-456'];
    for (const j of junk) fs.mkdirSync(path.join(ws.dir, j));
    fs.writeFileSync(path.join(ws.dir, '.dist-new-123-456', 'x.yaml'), 'x');
    const ignored = spawnSync('git', ['check-ignore', ...junk, LOCK_FILE, JOURNAL_FILE], { cwd: ws.dir, encoding: 'utf8' }).stdout.trim().split('\n');
    expect(ignored).toEqual([...junk, LOCK_FILE, JOURNAL_FILE]);
    expect((await cli(ws, 'synth')).code).toBe(0);
    expect(leftovers(ws).filter((n) => n !== '.gitignore')).toEqual(['.cluster-new-123-456']); // cluster/'s own leftovers go with the next snapshot
  });
});
