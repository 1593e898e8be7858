/**
 * Strict YAML reading shared by every input file: duplicate keys, syntax errors and multi-document
 * surprises are errors with the file and line, never silently resolved.
 */
import * as fs from 'fs';
import * as jsYaml from 'js-yaml';
import * as YAML from 'yaml';
import { InputError } from './errors';

/**
 * Parse one YAML document from `text`; `file` names it in errors. A well-formed document is read by
 * js-yaml (same YAML 1.2 core schema, as strict about duplicate keys and multiple documents, and
 * about eight times faster on the 5,000-name wave lists of a large cluster's migration.yaml);
 * anything it refuses, an empty text and a text that may hold anchors or aliases are read by
 * `yaml`, whose messages carry the line.
 */
export function parseYamlDocument(text: string, file: string): unknown {
  // Aliases go to `yaml`, which caps their use (maxAliasCount) where js-yaml would not.
  const fast = /[&*]/.test(text) ? undefined : loadOneDocument(text);
  if (fast !== undefined) return fast;
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const nonEmpty = list.filter((d) => d.contents !== null || d.errors.length > 0);
  for (const doc of nonEmpty) {
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const line = err.linePos?.[0]?.line;
      throw new InputError(file, line ? `line ${line}` : '(document)', `invalid YAML: ${err.message.split('\n')[0]}`, 'one YAML mapping');
    }
  }
  if (nonEmpty.length !== 1) {
    throw new InputError(file, '(document)', `expected exactly one YAML document, found ${nonEmpty.length}`, 'one YAML mapping');
  }
  try {
    return nonEmpty[0].toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new InputError(file, '(document)', `invalid YAML: ${(e as Error).message}`, 'one YAML mapping without alias expansion bombs');
  }
}

/** The one document of `text` as js-yaml reads it, or undefined when it refuses it or it is empty. */
function loadOneDocument(text: string): unknown {
  try {
    const value = jsYaml.load(text, { json: false, schema: jsYaml.CORE_SCHEMA });
    return value === null ? undefined : value;
  } catch {
    return undefined;
  }
}

/** Values an expanded document may hold; past it, aliases are being used to exhaust memory. */
const MAX_EXPANDED_VALUES = 2_000_000;

/** Throws when `value`, with every alias expanded, holds more than MAX_EXPANDED_VALUES values. */
export function assertBounded(value: unknown, file: string, allowed = 'one Kubernetes object as the snapshot writes it'): void {
  let budget = MAX_EXPANDED_VALUES;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (--budget < 0) {
      throw new InputError(file, '(document)', `expands to more than ${MAX_EXPANDED_VALUES} values (aliases used as a resource-exhaustion attack?)`, allowed);
    }
    // One push per value: spreading a list of a few hundred thousand values into push() overflows the call stack.
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
}

/** The largest input file read (a 5,000-node calico.yaml or nodes.yaml is a few MiB). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * The text of an input file. Only a regular file is read: a symlink could bring in a file from
 * outside the repository (its content would reach dist/, which is committed and applied), and a
 * device or FIFO (/dev/zero) would be read until memory runs out. Errors name the file, never its
 * content.
 */
export function readInputText(file: string, shownAs: string, field = '(file)', allowed = 'a readable YAML file'): string {
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink fails the open itself (ELOOP), so the check and the read see one file.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new InputError(shownAs, field, 'is a symbolic link; inputs are read from regular files inside the repository only', allowed);
    throw new InputError(shownAs, field, code === 'ENOENT' ? 'file not found' : `cannot read: ${code ?? String(e)}`, allowed);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new InputError(shownAs, field, 'is not a regular file', allowed);
    if (st.size > MAX_INPUT_BYTES) throw new InputError(shownAs, field, `is ${st.size} bytes, more than the ${MAX_INPUT_BYTES} an input may have`, allowed);
    return fs.readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(shownAs, field, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, allowed);
  } finally {
    fs.closeSync(fd);
  }
}

const readText = (file: string, shownAs: string) => readInputText(file, shownAs);

/** Read and parse `file` (migration.yaml): strict, with line numbers in errors. */
export function readYamlFile(file: string, shownAs: string = file): unknown {
  return parseYamlDocument(readText(file, shownAs), shownAs);
}

/**
 * Read one YAML document from a cluster/ file. cluster/ can hold tens of thousands of small
 * machine-written files, so this uses js-yaml, about eight times faster than `yaml` here; it is
 * just as strict about duplicate keys and multiple documents, and uses the same YAML 1.2 core
 * schema (no timestamps: an unquoted date stays a string, as the API server sees it).
 */
export function readObjectFile(file: string, shownAs: string = file): unknown {
  const text = readText(file, shownAs);
  try {
    const value = jsYaml.load(text, { filename: shownAs, json: false, schema: jsYaml.CORE_SCHEMA });
    // Only an alias (`*name`) makes a document hold more values than its text has characters;
    // without one, the text's own size bounds it, and the walk is skipped (the generated nodes.yaml
    // of 5,000 nodes holds 35,000 values in 833 KB).
    if (text.includes('*') || text.length > MAX_EXPANDED_VALUES) assertBounded(value, shownAs);
    return value;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as jsYaml.YAMLException;
    const line = err.mark ? err.mark.line + 1 : undefined;
    throw new InputError(shownAs, line ? `line ${line}` : '(document)', `invalid YAML: ${err.reason ?? err.message.split('\n')[0]}`, 'one YAML mapping');
  }
}
