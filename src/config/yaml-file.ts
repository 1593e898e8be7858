/**
 * Strict YAML reading shared by every input file: duplicate keys, syntax errors and multi-document
 * surprises are errors with the file and line, never silently resolved.
 */
import * as fs from 'fs';
import * as jsYaml from 'js-yaml';
import * as YAML from 'yaml';
import { InputError } from './errors';

/** Parse one YAML document from `text`; `file` names it in errors. */
export function parseYamlDocument(text: string, file: string): unknown {
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

/** Values an expanded document may hold; past it, aliases are being used to exhaust memory. */
const MAX_EXPANDED_VALUES = 2_000_000;

/** Throws when `value`, with every alias expanded, holds more than MAX_EXPANDED_VALUES values. */
function assertBounded(value: unknown, file: string): void {
  let budget = MAX_EXPANDED_VALUES;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (--budget < 0) {
      throw new InputError(file, '(document)', `expands to more than ${MAX_EXPANDED_VALUES} values (aliases used as a resource-exhaustion attack?)`, 'one Kubernetes object as the snapshot writes it');
    }
    if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
}

/** The text of `file`; a missing or unreadable file is an InputError naming it. */
function readText(file: string, shownAs: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(shownAs, '(file)', code === 'ENOENT' ? 'file not found' : `cannot read: ${code ?? String(e)}`, 'a readable YAML file');
  }
}

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
    assertBounded(value, shownAs);
    return value;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as jsYaml.YAMLException;
    const line = err.mark ? err.mark.line + 1 : undefined;
    throw new InputError(shownAs, line ? `line ${line}` : '(document)', `invalid YAML: ${err.reason ?? err.message.split('\n')[0]}`, 'one YAML mapping');
  }
}
