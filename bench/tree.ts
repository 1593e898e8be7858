/**
 * The files synth wrote, read back for the bench: to count their bytes, to give the floor the same
 * objects to write, and to diff two steps.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import type { FloorFile } from './child';

export interface TreeFile {
  /** Path relative to the folder read, with "/" separators. */
  readonly file: string;
  readonly text: string;
}

/** Every file under `dir`, sorted by path; a folder that does not exist has none. */
export function readTree(dir: string): TreeFile[] {
  const out: TreeFile[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push({ file: r, text: fs.readFileSync(path.join(dir, r), 'utf8') });
    }
  };
  if (fs.existsSync(dir)) walk('');
  return out;
}

/**
 * Every file synth wrote to `out` and `out`-gitops, as the floor writes them again: YAML as objects
 * (written by the same library), the rest as text.
 */
export function synthFloorFiles(out: string): FloorFile[] {
  const asFloor = (files: readonly TreeFile[], prefix: string): FloorFile[] =>
    files.map((f) => (f.file.endsWith('.yaml') ? { file: `${prefix}${f.file}`, obj: YAML.parse(f.text) } : { file: `${prefix}${f.file}`, text: f.text }));
  return [...asFloor(readTree(out), ''), ...asFloor(readTree(`${out}-gitops`), 'gitops/')];
}
