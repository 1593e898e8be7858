/**
 * A scratch folder of input files for the reader tests, and the parts of the InputError a call
 * throws (file, field, problem, allowed), so a test states the whole refusal.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../../src/config/errors';

/** A temporary folder removed after the file's tests; `file` writes `text` to `name` in it. */
export function scratchInputs(prefix: string): { dir: string; file: (name: string, text: string) => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file: (name, text) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, text);
      return p;
    },
  };
}

/** [file, field, problem, allowed] of the InputError `f` throws; fails when `f` returns. */
export function refusal(f: () => unknown): [string, string, string, string | undefined] {
  try {
    f();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return [e.file, e.field, e.problem, e.allowed];
  }
  throw new Error('accepted');
}
