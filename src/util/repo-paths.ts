/**
 * Where inputs may come from and outputs may go: the repository that holds migration.yaml. Both
 * are decided on real paths (symlinks resolved), so a link cannot take a read or a write outside.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The repository that holds `dir`: the nearest folder upwards with a .git entry, else `dir`. */
export function repositoryRoot(dir: string): string {
  let d = path.resolve(dir);
  for (;;) {
    if (fs.existsSync(path.join(d, '.git'))) return d;
    const up = path.dirname(d);
    if (up === d) return path.resolve(dir);
    d = up;
  }
}

/** `p` with every symlink resolved; for a path that does not exist yet, its existing part resolved. */
export function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    const up = path.dirname(p);
    return up === p ? p : path.join(realPath(up), path.basename(p));
  }
}

/** Whether `child` is `parent` or below it (both already resolved). */
export function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : `${parent}${path.sep}`);
}

/**
 * Whether `p` is itself a symbolic link; a path that cannot be read (missing, under a file, not
 * permitted) is not. A missing path, the common case, is answered without making an exception.
 */
export function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
  } catch {
    return false;
  }
}
