/**
 * Replace whole output folders at once: everything is written beside the target first, and the
 * targets are swapped in only when every file is written. A failure before the swap leaves the
 * old folders exactly as they were.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Relative path (with "/") → file content. */
export type FileTree = ReadonlyMap<string, string>;

export interface TreeTarget {
  /** Folder to replace. */
  readonly dir: string;
  readonly files: FileTree;
}

export function writeTreesAtomically(targets: readonly TreeTarget[]): void {
  const staged: { dir: string; tmp: string; old: string }[] = [];
  try {
    for (const t of targets) {
      const abs = path.resolve(t.dir);
      const tag = `${process.pid}-${Date.now()}`;
      const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}-new-${tag}`);
      const old = path.join(path.dirname(abs), `.${path.basename(abs)}-old-${tag}`);
      staged.push({ dir: abs, tmp, old });
      fs.mkdirSync(tmp, { recursive: true });
      for (const [rel, content] of [...t.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (rel.split('/').some((p) => p === '..' || p === '') || path.isAbsolute(rel)) {
          throw new Error(`refusing to write outside the output folder: ${JSON.stringify(rel)}`);
        }
        const file = path.join(tmp, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
      }
    }
  } catch (e) {
    for (const s of staged) fs.rmSync(s.tmp, { recursive: true, force: true });
    throw e;
  }
  // Swap: move each old folder aside, move the new one in; undo the earlier swaps if one fails.
  const done: typeof staged = [];
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
    throw e;
  }
  for (const s of staged) fs.rmSync(s.old, { recursive: true, force: true });
}
