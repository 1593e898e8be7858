/**
 * The atomic writer of dist/ and gitops/, in process on small trees (output-safety.test.ts covers
 * it through the compiled CLI and a SIGKILL between renames): whole folders replaced, the staged
 * trees checked before any swap, names that would leave the folder refused, every failure leaving
 * the old pair and nothing beside it, the journal that lets the next run finish a killed switch,
 * the lock, and the removal of exactly the leftovers of killed runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../src/config/errors';
import { completeInterruptedSwitch, JOURNAL_FILE, LOCK_FILE, withLock, writeTreesAtomically } from '../src/synth/atomic-write';

/** Failures (or observations) injected into the fs calls of the code under test. */
const mockFaults: { rename?: (from: string, to: string) => void; write?: (file: string) => void } = {};
jest.mock('fs', () => {
  const real = jest.requireActual('fs');
  // writeSync is given a descriptor: remember which file each one was opened for.
  const opened = new Map<number, string>();
  return {
    ...real,
    renameSync: (from: any, to: any) => {
      mockFaults.rename?.(String(from), String(to));
      return real.renameSync(from, to);
    },
    openSync: (file: any, ...rest: any[]) => {
      const fd = real.openSync(file, ...rest);
      opened.set(fd, String(file));
      return fd;
    },
    writeSync: (fd: number, ...rest: any[]) => {
      mockFaults.write?.(opened.get(fd) ?? '');
      return real.writeSync(fd, ...rest);
    },
  };
});

const roots: string[] = [];
afterEach(() => {
  delete mockFaults.rename;
  delete mockFaults.write;
});
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

/** Every file under `dir`, relative path → content ("(missing)" when `dir` is not there). */
function tree(dir: string): Record<string, string> | '(missing)' {
  if (!fs.existsSync(dir)) return '(missing)';
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return out;
}

function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-atomic-'));
  roots.push(root);
  const dist = path.join(root, 'dist');
  const gitops = path.join(root, 'gitops');
  const put = (marker: string, extra: [string, string][] = [], opts = {}) => writeTreesAtomically([
    { dir: dist, files: new Map([['PLAN.md', marker], ['10-calico/a.yaml', marker], ...extra]) },
    { dir: gitops, files: new Map([['application.yaml', marker]]) },
  ], { stateDir: root, ...opts });
  const state = () => ({ dist: tree(dist), gitops: tree(gitops), beside: fs.readdirSync(root).filter((n) => n !== 'dist' && n !== 'gitops').sort() });
  return { root, dist, gitops, put, state };
}

describe('writeTreesAtomically', () => {
  it('creates missing folders, then replaces each whole: a file the new tree lacks is gone', () => {
    const { put, state } = setup();
    put('one', [['20-weave/old.yaml', 'x']]);
    expect(state()).toEqual({ dist: { 'PLAN.md': 'one', '10-calico/a.yaml': 'one', '20-weave/old.yaml': 'x' }, gitops: { 'application.yaml': 'one' }, beside: [] });
    put('two');
    expect(state()).toEqual({ dist: { 'PLAN.md': 'two', '10-calico/a.yaml': 'two' }, gitops: { 'application.yaml': 'two' }, beside: [] });
  });

  it('keeps the lock and the journal beside the first target when no state folder is given, and removes both', () => {
    const { root, dist, gitops } = setup();
    let lockDuring = '';
    writeTreesAtomically([{ dir: dist, files: new Map([['a.yaml', 'a']]) }, { dir: gitops, files: new Map([['b.yaml', 'b']]) }], {
      validate: () => (lockDuring = fs.readFileSync(path.join(root, LOCK_FILE), 'utf8')),
    });
    expect(lockDuring).toBe(`${process.pid}\n`);
    expect(fs.readdirSync(root).sort()).toEqual(['dist', 'gitops']);
  });

  it('hands the staged trees to validate in target order, complete, before anything is swapped; a refusal leaves the old pair and nothing beside it', () => {
    const { put, state, dist } = setup();
    put('old');
    const before = state();
    const seen: unknown[] = [];
    expect(() => put('new', [], {
      validate: (staged: readonly string[]) => {
        seen.push(...staged.map((s) => path.basename(s).replace(/-\d+-\d+$/, '')), ...staged.map(tree));
        expect(tree(dist)).toEqual(before.dist); // nothing swapped yet
        throw new Error('refused');
      },
    })).toThrow('refused');
    expect(seen).toEqual(['.dist-new', '.gitops-new', { 'PLAN.md': 'new', '10-calico/a.yaml': 'new' }, { 'application.yaml': 'new' }]);
    expect(state()).toEqual(before);
  });

  it.each(['../escape.yaml', 'a/../../escape.yaml', './a.yaml', 'a//b.yaml', '/etc/passwd', 'a/.'])('refuses the file name %j, leaving the old pair', (name) => {
    const { put, state, root } = setup();
    put('old');
    const before = state();
    expect(() => put('new', [[name, 'x']])).toThrow(`refusing to write outside the output folder: ${JSON.stringify(name)}`);
    expect(state()).toEqual(before);
    expect(fs.existsSync(path.join(path.dirname(root), 'escape.yaml'))).toBe(false);
  });

  it('writes the journal (every swap) before the first rename of a target, and removes it after', () => {
    const { put, root, dist, gitops } = setup();
    put('old');
    let journal: { dir: string; tmp: string; old: string }[] | undefined;
    mockFaults.rename = (_from, to) => {
      if (to === path.join(root, 'dist') && journal === undefined) journal = JSON.parse(fs.readFileSync(path.join(root, JOURNAL_FILE), 'utf8'));
    };
    put('new');
    expect(journal!.map((s) => s.dir)).toEqual([dist, gitops]);
    expect(journal!.every((s) => path.dirname(s.tmp) === root && path.dirname(s.old) === root)).toBe(true);
    expect(journal!.map((s) => path.basename(s.tmp).replace(/-\d+-\d+$/, ''))).toEqual(['.dist-new', '.gitops-new']);
    expect(journal!.map((s) => path.basename(s.old).replace(/-\d+-\d+$/, ''))).toEqual(['.dist-old', '.gitops-old']);
    expect(fs.existsSync(path.join(root, JOURNAL_FILE))).toBe(false);
  });

  it.each([
    ['moving the old dist/ aside', (root: string) => (from: string, to: string) => from === path.join(root, 'dist') && to.includes('-old-')],
    ['moving the new dist/ in', (root: string) => (from: string, to: string) => to === path.join(root, 'dist') && from.includes('-new-')],
    ['moving the old gitops/ aside', (root: string) => (from: string, to: string) => from === path.join(root, 'gitops') && to.includes('-old-')],
    ['moving the new gitops/ in', (root: string) => (from: string, to: string) => to === path.join(root, 'gitops') && from.includes('-new-')],
  ])('a rename that fails while %s leaves the old pair and nothing beside it', (_what, matches) => {
    const { put, state, root } = setup();
    put('old');
    const before = state();
    const failing = matches(root);
    mockFaults.rename = (from, to) => {
      if (failing(from, to)) {
        delete mockFaults.rename; // once: the undo's own renames go through
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      }
    };
    expect(() => put('new')).toThrow(/EACCES/);
    expect(state()).toEqual(before);
    put('new');
    expect(state().gitops).toEqual({ 'application.yaml': 'new' });
  });

  it('a journal the disk refuses: one line naming it, the old pair, and neither staged trees nor a partial journal beside it', () => {
    const { put, state, root } = setup();
    put('old');
    const before = state();
    mockFaults.write = (file) => {
      if (path.basename(file).startsWith(`${JOURNAL_FILE}.tmp-`)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    };
    let thrown: unknown;
    try {
      put('new');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as Error).message).toBe(`${path.join(root, JOURNAL_FILE)}.tmp-${process.pid}: (file): cannot write: ENOSPC (no space left on the device); dist/ and gitops/ kept as they were (or, if this run stopped mid-switch, completed by the next one); allowed: a folder this user can write, with room for the output`);
    // The staged trees are gone at once (the next run would remove them too, but the disk is full now).
    expect(state()).toEqual(before);
  });

  it('creates a target whose parent folders do not exist yet', () => {
    const { root } = setup();
    const deep = path.join(root, 'a', 'b', 'dist');
    writeTreesAtomically([{ dir: deep, files: new Map([['x.yaml', 'x']]) }], { stateDir: root });
    expect(tree(deep)).toEqual({ 'x.yaml': 'x' });
    expect(fs.readdirSync(path.join(root, 'a', 'b'))).toEqual(['dist']);
  });

  it('names the first refused file in sorted order, whatever order the tree lists them in', () => {
    const { put } = setup();
    expect(() => put('new', [['z/../../z.yaml', 'x'], ['../a.yaml', 'x']])).toThrow('refusing to write outside the output folder: "../a.yaml"');
  });

  it('undoing a swap of a target that did not exist before removes it again and moves nothing back', () => {
    const { root, dist, gitops, state } = setup();
    writeTreesAtomically([{ dir: gitops, files: new Map([['b.yaml', 'old']]) }], { stateDir: root });
    mockFaults.rename = (from, to) => {
      if (to === gitops && from.includes('-new-')) throw Object.assign(new Error('EIO'), { code: 'EIO' });
    };
    expect(() => writeTreesAtomically([{ dir: dist, files: new Map([['a.yaml', 'new']]) }, { dir: gitops, files: new Map([['b.yaml', 'new']]) }], { stateDir: root })).toThrow('EIO');
    expect(state()).toEqual({ dist: '(missing)', gitops: { 'b.yaml': 'old' }, beside: [] });
  });

  it('a failed swap of a target that did not exist before leaves it missing, the other as it was', () => {
    const { root, dist, gitops, state } = setup();
    writeTreesAtomically([{ dir: dist, files: new Map([['a.yaml', 'old']]) }], { stateDir: root });
    mockFaults.rename = (from, to) => {
      if (to === gitops) throw Object.assign(new Error('EIO'), { code: 'EIO' });
    };
    expect(() => writeTreesAtomically([{ dir: dist, files: new Map([['a.yaml', 'new']]) }, { dir: gitops, files: new Map([['b.yaml', 'new']]) }], { stateDir: root })).toThrow('EIO');
    expect(state()).toEqual({ dist: { 'a.yaml': 'old' }, gitops: '(missing)', beside: [] });
  });
});

describe('completeInterruptedSwitch', () => {
  /** The state a run killed after swapping dist/ but before gitops/ leaves. */
  function killedHalfWay() {
    const s = setup();
    s.put('old');
    const tag = '123-456';
    const swaps = ['dist', 'gitops'].map((n) => ({ dir: path.join(s.root, n), tmp: path.join(s.root, `.${n}-new-${tag}`), old: path.join(s.root, `.${n}-old-${tag}`) }));
    for (const sw of swaps) {
      fs.mkdirSync(sw.tmp);
      fs.writeFileSync(path.join(sw.tmp, 'new.yaml'), 'new');
    }
    fs.writeFileSync(path.join(s.root, JOURNAL_FILE), JSON.stringify(swaps));
    fs.renameSync(swaps[0].dir, swaps[0].old);
    fs.renameSync(swaps[0].tmp, swaps[0].dir);
    return s;
  }

  it('rolls a half-done switch forward, so the pair is the new one, and clears the journal and the old trees', () => {
    const { root, state } = killedHalfWay();
    expect(state().dist).toEqual({ 'new.yaml': 'new' });
    expect(state().gitops).toEqual({ 'application.yaml': 'old' }); // a mixed pair until completed
    expect(completeInterruptedSwitch(root)).toBe(true);
    expect(state()).toEqual({ dist: { 'new.yaml': 'new' }, gitops: { 'new.yaml': 'new' }, beside: [] });
    expect(completeInterruptedSwitch(root)).toBe(false);
  });

  it('completes a switch whose targets did not exist before (nothing to move aside)', () => {
    const { root, state } = setup();
    const swaps = ['dist', 'gitops'].map((n) => ({ dir: path.join(root, n), tmp: path.join(root, `.${n}-new-1-2`), old: path.join(root, `.${n}-old-1-2`) }));
    for (const sw of swaps) {
      fs.mkdirSync(sw.tmp);
      fs.writeFileSync(path.join(sw.tmp, 'new.yaml'), 'new');
    }
    fs.writeFileSync(path.join(root, JOURNAL_FILE), JSON.stringify(swaps));
    expect(completeInterruptedSwitch(root)).toBe(true);
    expect(state()).toEqual({ dist: { 'new.yaml': 'new' }, gitops: { 'new.yaml': 'new' }, beside: [] });
  });

  it('is what every write does first', () => {
    const { root, dist, state } = killedHalfWay();
    let gitopsWhenStaged: unknown;
    writeTreesAtomically([{ dir: dist, files: new Map([['x.yaml', 'x']]) }], { stateDir: root, validate: () => (gitopsWhenStaged = state().gitops) });
    expect(gitopsWhenStaged).toEqual({ 'new.yaml': 'new' });
    expect(state()).toEqual({ dist: { 'x.yaml': 'x' }, gitops: { 'new.yaml': 'new' }, beside: [] });
  });

  it('removes a journal that was never completely written, touching nothing else', () => {
    const { root, put, state } = setup();
    put('old');
    const before = state();
    fs.writeFileSync(path.join(root, JOURNAL_FILE), '[{"dir": "/x", "tm');
    expect(completeInterruptedSwitch(root)).toBe(false);
    expect(state()).toEqual(before);
  });

  it('has nothing to do without a journal', () => {
    const { root, put, state } = setup();
    put('old');
    const before = state();
    expect(completeInterruptedSwitch(root)).toBe(false);
    expect(state()).toEqual(before);
  });
});

describe('leftovers of killed runs', () => {
  it('removes exactly the staged and old trees of the targets, nothing else beside them', () => {
    const { root, put } = setup();
    const junk = ['.dist-new-1-2', '.dist-old-33-44', '.gitops-new-5-6'];
    const kept = ['.dist-new-x', '.dist-other-1-2', '.distx-new-1-2', '.cluster-new-1-2', '.dist-new-1-2-3', 'dist-new-1-2', '.dist-new-1-', '.dist-renew-1-2', '.dist-old-1-2x'];
    for (const n of [...junk, ...kept]) {
      fs.mkdirSync(path.join(root, n));
      fs.writeFileSync(path.join(root, n, 'f'), n);
    }
    put('new');
    expect(fs.readdirSync(root).sort()).toEqual(['dist', 'gitops', ...kept].sort());
  });
});

describe('withLock', () => {
  it('refuses while a live process holds the lock, naming its pid, and leaves that lock alone', () => {
    const { root } = setup();
    fs.writeFileSync(path.join(root, LOCK_FILE), `${process.pid}\n`);
    let ran = false;
    let error: unknown;
    try {
      withLock(root, () => (ran = true));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const e = error as InputError;
    expect([e.file, e.field, e.problem, e.allowed]).toEqual([path.join(root, LOCK_FILE), '(lock)', `another cni-migrate (pid ${process.pid}) is writing beside ${root}`, 'one synth or snapshot at a time: wait for it, or remove the lock file if that process is not cni-migrate']);
    expect(ran).toBe(false);
    expect(fs.readFileSync(path.join(root, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
  });

  it.each([
    ['a process that is gone', () => String(require('child_process').spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout)],
    ['no pid (a truncated write)', () => ''],
    ['garbage', () => 'not a pid'],
    ['pid 0', () => '0'],
    ['a negative pid', () => '-1'],
  ])('takes over a lock holding %s, runs, returns its value and releases the lock', (_what, content) => {
    const { root } = setup();
    fs.writeFileSync(path.join(root, LOCK_FILE), `${content()}\n`);
    expect(withLock(root, () => fs.readFileSync(path.join(root, LOCK_FILE), 'utf8'))).toBe(`${process.pid}\n`);
    expect(fs.existsSync(path.join(root, LOCK_FILE))).toBe(false);
  });

  it('releases the lock when the work throws', () => {
    const { root } = setup();
    expect(() => withLock(root, () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(fs.existsSync(path.join(root, LOCK_FILE))).toBe(false);
    expect(withLock(root, () => 42)).toBe(42);
  });

  it('a lock the disk cannot hold (created, then its write refused) is named and removed, not left empty', () => {
    const { root } = setup();
    mockFaults.write = (file) => {
      if (file === path.join(root, LOCK_FILE)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    };
    let ran = false;
    expect(() => withLock(root, () => (ran = true))).toThrow(expect.objectContaining({ code: 'ENOSPC', path: path.join(root, LOCK_FILE) }));
    expect(ran).toBe(false);
    expect(fs.readdirSync(root)).toEqual([]);
    delete mockFaults.write;
    expect(withLock(root, () => 42)).toBe(42);
  });

  it('lets an error other than "exists" through (a folder that is not there)', () => {
    const { root } = setup();
    expect(() => withLock(path.join(root, 'missing'), () => 1)).toThrow(/ENOENT/);
  });
});
