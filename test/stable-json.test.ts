/**
 * stableJson is what content-addressed names and pod-spec labels hash: the same content must give
 * the same text whatever its key order, and a list of strings (node names) goes through
 * JSON.stringify at once, which must give the text the element-by-element path gives.
 */
import { stableJson } from '../src/util/stable-json';

describe('stableJson', () => {
  it('sorts keys at every depth and drops undefined values', () => {
    expect(stableJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  });

  it('writes a list of strings as JSON.stringify does, escapes included', () => {
    const names = ['node-1', 'quote"d', 'back\\slash', 'line\nbreak', 'ünïcode', '\u2028', ''];
    expect(stableJson(names)).toBe(JSON.stringify(names));
    expect(JSON.parse(stableJson(names))).toEqual(names);
  });

  it('keeps the element-by-element path for mixed lists (undefined and objects inside)', () => {
    expect(stableJson(['a', 1, null, { b: 2, a: 1 }])).toBe('["a",1,null,{"a":1,"b":2}]');
    expect(stableJson([])).toBe('[]');
  });

  it('gives, for any JSON-like value, the text of the plain recursive form the names were first hashed with', () => {
    // The first form, kept as the oracle: a changed text would rename every content-addressed object.
    const reference = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
      if (value && typeof value === 'object') {
        const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
        entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
      }
      return JSON.stringify(value);
    };
    const values: unknown[] = [
      {}, [], [[]], [{}], { a: [] }, null, 0, -1.5, true, 'x', '',
      { z: 1, a: { c: [3, 'b', null, { y: undefined, x: [true, false] }], b: '' }, 'ä': 1, 'A': 2, '10': 3, '9': 4 },
      [undefined, 'a', () => 1, 2], { f: () => 1, u: undefined, n: null },
      { containers: [{ name: 'c', env: [{ name: 'A', value: '1' }], resources: { limits: { memory: '16Mi' } } }], affinity: { values: ['n-2', 'n-1'] } },
    ];
    for (const v of values) expect(stableJson(v)).toBe(reference(v));
  });
});
