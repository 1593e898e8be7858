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
});
