/**
 * migration.yaml is read by js-yaml when it can (fast on the 5,000-name wave lists of a large
 * cluster) and by `yaml` otherwise (its errors carry the line). Both must read every document the
 * same way, or a value would change with the size of the file. Every input is read from a regular
 * file only (the size and alias-expansion limits: input-limits.test.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { parseYamlDocument, readInputText, readObjectFile, readYamlFile } from '../src/config/yaml-file';
import { refusal, scratchInputs } from './support/input-files';

describe('parseYamlDocument', () => {
  it.each([
    ['YAML 1.1 booleans stay strings', 'a: yes\nb: no\nc: on\nd: off\ne: y\n'],
    ['1.2 core booleans and nulls', 'a: true\nb: False\nc: TRUE\nd: ~\ne: null\nf:\n'],
    ['numbers in every core form', 'a: 0o17\nb: 0x1F\nc: 1e3\nd: -.inf\ne: .NaN\nf: 012\ng: +12\nh: 1_000\n'],
    ['dates stay strings', 'a: 2024-01-01\nb: 2024-01-01T10:00:00Z\n'],
    ['block and flow collections, quoting, multi-line strings', 'a: [x, "y", \'z\']\nb: {c: 1, d: [2, 3]}\ne: |\n  one\n  two\nf: >-\n  folded\n  text\ng: "esc\\t\\u00e9"\n'],
    ['a merge key is a plain key in YAML 1.2', 'a:\n  <<: {b: 1}\n'],
    ['comments only around a mapping', '# head\na: 1 # tail\n# foot\n'],
  ])('%s: js-yaml reads it as `yaml` does', (_name, text) => {
    expect(parseYamlDocument(text, 'm.yaml')).toEqual(YAML.parse(text, { version: '1.2', schema: 'core' }));
  });

  it('leaves a document with anchors to `yaml`, which refuses an alias bomb', () => {
    const bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    expect(() => parseYamlDocument(bomb, 'm.yaml')).toThrow(/m\.yaml: \(document\): invalid YAML: .*alias/i);
    expect(parseYamlDocument('a: &x 1\nb: *x\n', 'm.yaml')).toEqual({ a: 1, b: 1 });
  });

  it.each([
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', /m\.yaml: line 3: invalid YAML: Map keys must be unique/],
    ['a syntax error', 'a: [1, 2\nb: 3\n', /m\.yaml: line \d+: invalid YAML/],
    ['two documents', 'a: 1\n---\nb: 2\n', /m\.yaml: \(document\): expected exactly one YAML document, found 2/],
    ['an empty file', '# nothing\n', /m\.yaml: \(document\): expected exactly one YAML document, found 0/],
  ])('refuses %s with `yaml`\'s message and line', (_name, text, message) => {
    expect(() => parseYamlDocument(text, 'm.yaml')).toThrow(message);
  });
});

describe('reading input files', () => {
  const { dir, file } = scratchInputs('cni-migrate-inputs-');

  it('reads a regular file, and names it as shown in every refusal', () => {
    expect(readInputText(file('a.yaml', 'a: 1\n'), 'cluster/a.yaml')).toBe('a: 1\n');
    expect(refusal(() => readInputText(path.join(dir, 'missing.yaml'), 'cluster/missing.yaml'))).toEqual(['cluster/missing.yaml', '(file)', 'file not found', 'a readable YAML file']);
    fs.symlinkSync(file('target.yaml', 'x: 1\n'), path.join(dir, 'link.yaml'));
    expect(refusal(() => readInputText(path.join(dir, 'link.yaml'), 'cluster/link.yaml', 'nodes', 'a file'))).toEqual(['cluster/link.yaml', 'nodes', 'is a symbolic link; inputs are read from regular files inside the repository only', 'a file']);
    fs.mkdirSync(path.join(dir, 'folder.yaml'));
    expect(refusal(() => readInputText(path.join(dir, 'folder.yaml'), 'cluster/folder.yaml'))).toEqual(['cluster/folder.yaml', '(file)', 'is not a regular file', 'a readable YAML file']);
    expect(refusal(() => readInputText('/dev/null', 'dev-null'))).toEqual(['dev-null', '(file)', 'is not a regular file', 'a readable YAML file']);
    expect(refusal(() => readInputText(path.join(dir, 'a.yaml', 'below'), 'x'))).toEqual(['x', '(file)', 'cannot read: ENOTDIR', 'a readable YAML file']);
  });

  it('reads migration.yaml strictly and cluster/ files fast, with the line of a YAML error', () => {
    expect(readYamlFile(file('m.yaml', 'a: 1\n'), 'migration.yaml')).toEqual({ a: 1 });
    expect(refusal(() => readYamlFile(file('dup.yaml', 'a: 1\na: 2\n'), 'migration.yaml'))).toEqual(['migration.yaml', 'line 2', expect.stringMatching(/^invalid YAML: Map keys must be unique/), 'one YAML mapping']);
    expect(readObjectFile(file('o.yaml', 'kind: Node\nmetadata: {name: n, date: 2024-01-01}\n'))).toEqual({ kind: 'Node', metadata: { name: 'n', date: '2024-01-01' } });
    expect(refusal(() => readObjectFile(file('bad.yaml', 'kind: Node\nkind: Pod\n'), 'cluster/bad.yaml'))).toEqual(['cluster/bad.yaml', 'line 2', 'invalid YAML: duplicated mapping key', 'one YAML mapping']);
    expect(refusal(() => readObjectFile(file('two.yaml', 'a: 1\n---\nb: 2\n'), 'cluster/two.yaml'))).toEqual(['cluster/two.yaml', '(document)', 'invalid YAML: expected a single document in the stream, but found more', 'one YAML mapping']);
    expect(readObjectFile(file('empty.yaml', ''))).toBeUndefined();
  });
});
