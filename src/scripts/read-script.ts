/**
 * The shell scripts that Jobs run live in src/scripts/*.sh so tests can run them directly; synth
 * reads them from there (from the source tree, whether running from build/ or under ts-jest).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

let root: string | undefined;

/** The package root: the nearest folder above this file that holds src/scripts. */
function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'src', 'scripts'))) {
      return (root = dir);
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find src/scripts above ${__dirname}`);
    dir = up;
  }
}

const cache = new Map<string, string>();

/**
 * A script's line that sources a library from beside itself (which works when the file is run
 * from src/scripts), replaced by the library's text: a Job's script is one self-contained file.
 */
const SOURCE_LIBRARY = /^\. "\$\(dirname "\$0"\)\/([a-z0-9-]+\.sh)"$/gm;

/** The text of src/scripts/<name>, with the libraries it sources copied in. */
export function readScript(name: string): string {
  if (!/^[a-z0-9-]+\.sh$/.test(name)) throw new Error(`bad script name ${JSON.stringify(name)}`);
  let text = cache.get(name);
  if (text === undefined) {
    const own = fs.readFileSync(path.join(packageRoot(), 'src', 'scripts', name), 'utf8');
    text = own.replace(SOURCE_LIBRARY, (_, lib: string) => {
      if (lib === name) throw new Error(`${name} sources itself`);
      return readScript(lib).trimEnd();
    });
    cache.set(name, text);
  }
  return text;
}

/** Path of src/scripts/<name>, for tests that run it. */
export function scriptPath(name: string): string {
  return path.join(packageRoot(), 'src', 'scripts', name);
}

/** SHA-256 of src/scripts/<name>, so content hashes need not carry the whole text. */
export function scriptDigest(name: string): string {
  const key = `sha256:${name}`;
  let d = cache.get(key);
  if (d === undefined) {
    d = createHash('sha256').update(readScript(name)).digest('hex');
    cache.set(key, d);
  }
  return d;
}
