/**
 * Replace whole output folders at once, as one switch: everything is written beside the targets
 * first; a journal naming every swap is written; the targets are swapped in; the journal is
 * removed. A failure before the journal leaves the old folders as they were; a failure during the
 * swaps is undone; a process killed during the swaps leaves the journal, and the next run
 * completes the switch before anything else (so dist/ and gitops/ are never a mixed pair). A
 * lock file keeps two runs from interleaving, and leftovers of earlier runs are removed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { asWriteFailure, InputError } from '../config/errors';

/** Relative path (with "/") → file content. */
export type FileTree = ReadonlyMap<string, string>;

export interface TreeTarget {
  /** Folder to replace. */
  readonly dir: string;
  readonly files: FileTree;
}

export interface AtomicWriteOptions {
  /**
   * Where the lock and the journal live (the folder of migration.yaml).
   * @default the parent folder of the first target
   */
  readonly stateDir?: string;
  /**
   * Checks the staged trees (their folders, in target order) before anything is swapped; a throw
   * leaves every target as it was.
   * @default - no check
   */
  readonly validate?: (staged: readonly string[]) => void;
}

export const LOCK_FILE = '.cni-migrate.lock';
export const JOURNAL_FILE = '.cni-migrate-switch.json';

interface Swap {
  readonly dir: string;
  readonly tmp: string;
  readonly old: string;
}

export function writeTreesAtomically(targets: readonly TreeTarget[], opts: AtomicWriteOptions = {}): void {
  const stateDir = path.resolve(opts.stateDir ?? path.dirname(path.resolve(targets[0].dir)));
  const names = targets.map((t) => `${path.basename(t.dir)}/`).join(' and ');
  try {
    switchTrees(stateDir, targets, opts);
  } catch (e) {
    // Every failure before the swaps leaves the old folders; one during them is undone, or, if the
    // undo fails too, completed by the next run from the journal.
    throw asWriteFailure(e, `${names} kept as ${targets.length > 1 ? 'they were' : 'it was'} (or, if this run stopped mid-switch, completed by the next one)`);
  }
}

function switchTrees(stateDir: string, targets: readonly TreeTarget[], opts: AtomicWriteOptions): void {
  withLock(stateDir, () => {
    completeInterruptedSwitch(stateDir);
    for (const t of targets) removeLeftovers(path.resolve(t.dir));
    const tag = `${process.pid}-${Date.now()}`;
    const staged: Swap[] = targets.map((t) => {
      const abs = path.resolve(t.dir);
      return { dir: abs, tmp: sibling(abs, 'new', tag), old: sibling(abs, 'old', tag) };
    });
    const journal = path.join(stateDir, JOURNAL_FILE);
    try {
      targets.forEach((t, i) => stageTree(staged[i].tmp, t.files));
      opts.validate?.(staged.map((s) => s.tmp));
      writeFileDurably(journal, JSON.stringify(staged));
    } catch (e) {
      // Nothing swapped yet: drop the staged trees now (on a full disk they hold the space it lacks).
      for (const s of staged) fs.rmSync(s.tmp, { recursive: true, force: true });
      // A refused write names the file it was for (dist/…), not the staged copy that is gone.
      const err = e as NodeJS.ErrnoException;
      const s = staged.find((x) => err.path?.startsWith(x.tmp));
      if (s && err.path) err.path = s.dir + err.path.slice(s.tmp.length);
      throw e;
    }
    // Swap: move each old folder aside, move the new one in; undo the earlier swaps if one fails.
    const done: Swap[] = [];
    try {
      for (const s of staged) {
        if (fs.existsSync(s.dir)) fs.renameSync(s.dir, s.old);
        fs.renameSync(s.tmp, s.dir);
        done.push(s);
      }
    } catch (e) {
      for (const s of [...done].reverse()) {
        fs.rmSync(s.dir, { recursive: true, force: true });
        if (fs.existsSync(s.old)) fs.renameSync(s.old, s.dir);
      }
      for (const s of staged) {
        if (!done.includes(s) && fs.existsSync(s.old) && !fs.existsSync(s.dir)) fs.renameSync(s.old, s.dir);
        fs.rmSync(s.tmp, { recursive: true, force: true });
      }
      fs.rmSync(journal, { force: true });
      throw e;
    }
    fs.rmSync(journal, { force: true });
    for (const s of staged) fs.rmSync(s.old, { recursive: true, force: true });
  });
}

/** `.<name>-<what>-<tag>` beside `dir`: ignored by git (.gitignore) and by the engines. */
function sibling(dir: string, what: 'new' | 'old', tag: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}-${what}-${tag}`);
}

function stageTree(tmp: string, files: FileTree): void {
  fs.mkdirSync(tmp, { recursive: true });
  for (const [rel, content] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (rel.split('/').some((p) => p === '..' || p === '' || p === '.') || path.isAbsolute(rel)) {
      throw new Error(`refusing to write outside the output folder: ${JSON.stringify(rel)}`);
    }
    const file = path.join(tmp, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    namingFile(file, () => fs.writeFileSync(file, content));
  }
}

/** Runs `write`; a failure that names no file (Node's failed write(2), as on a full disk) is made to name `file`. */
function namingFile(file: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    (e as NodeJS.ErrnoException).path ??= file;
    throw e;
  }
}

/** A small file written whole or not at all: written aside, flushed, renamed into place. */
function writeFileDurably(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeNewFile(tmp, content, { flush: true, flag: 'w' });
  fs.renameSync(tmp, file);
}

/**
 * Creates `file` (by default only if it does not exist: EEXIST) holding `content`. A write that
 * fails after the create (a full disk: the create needs no data block, the write does) removes
 * the file, so that no empty lock or journal is left for the next run to misread, and names it:
 * Node's write errors carry no path.
 */
function writeNewFile(file: string, content: string, opts: { readonly flush?: boolean; readonly flag?: 'w' | 'wx' } = {}): void {
  const fd = fs.openSync(file, opts.flag ?? 'wx');
  try {
    namingFile(file, () => {
      try {
        fs.writeSync(fd, content);
        if (opts.flush) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw e;
  }
}

/**
 * A run killed during the swaps left the journal: finish what it started. Every new tree was
 * complete before the journal was written, so rolling forward gives a consistent pair.
 */
export function completeInterruptedSwitch(stateDir: string): boolean {
  const journal = path.join(stateDir, JOURNAL_FILE);
  let swaps: Swap[];
  try {
    swaps = JSON.parse(fs.readFileSync(journal, 'utf8')) as Swap[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // A journal that cannot be read was never completely written: no swap had started.
    fs.rmSync(journal, { force: true });
    return false;
  }
  for (const s of swaps) {
    if (!fs.existsSync(s.tmp)) continue; // Already swapped in.
    if (fs.existsSync(s.dir)) fs.renameSync(s.dir, s.old);
    fs.renameSync(s.tmp, s.dir);
  }
  fs.rmSync(journal, { force: true });
  for (const s of swaps) fs.rmSync(s.old, { recursive: true, force: true });
  return true;
}

/** Remove `.<name>-new-*` and `.<name>-old-*` beside `dir`, left by runs that died (we hold the lock). */
function removeLeftovers(dir: string): void {
  const parent = path.dirname(dir);
  const prefix = `.${path.basename(dir)}-`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(prefix) && /^(new|old)-\d+-\d+$/.test(n.slice(prefix.length))) fs.rmSync(path.join(parent, n), { recursive: true, force: true });
  }
}

/**
 * Run `fn` holding `stateDir/.cni-migrate.lock` (created exclusively, holding our pid). A lock
 * whose process is gone is taken over; a live one is an error naming its pid.
 */
export function withLock<T>(stateDir: string, fn: () => T): T {
  const lock = path.join(stateDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeNewFile(lock, `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = NaN;
      try {
        pid = Number(fs.readFileSync(lock, 'utf8').trim());
      } catch {
        // Removed meanwhile: try again.
      }
      if (attempt > 0 || (Number.isInteger(pid) && pid > 0 && alive(pid))) {
        throw new InputError(lock, '(lock)', `another cni-migrate${Number.isInteger(pid) ? ` (pid ${pid})` : ''} is writing beside ${stateDir}`, 'one synth or snapshot at a time: wait for it, or remove the lock file if that process is not cni-migrate');
      }
      // The process that held it is gone (killed): take the lock over.
      fs.rmSync(lock, { force: true });
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
