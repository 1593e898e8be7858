/**
 * migration.yaml is read by js-yaml when it can (fast on the 5,000-name wave lists of a large
 * cluster) and by `yaml` otherwise (its errors carry the line). Both must read every document the
 * same way, or a value would change with the size of the file.
 */
import * as YAML from 'yaml';
import { parseYamlDocument } from '../src/config/yaml-file';

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
