/** Lists of names in messages stay one readable line however large the cluster. */
import { someOf } from '../src/util/name-list';

describe('someOf', () => {
  it('lists every name up to the limit, then the first ones and how many more', () => {
    expect(someOf([])).toBe('');
    expect(someOf(['a', 'b', 'c'])).toBe('a, b, c');
    expect(someOf(['a', 'b', 'c', 'd'])).toBe('a, b, c and 1 more');
    expect(someOf(['a', 'b', 'c', 'd', 'e'], 4)).toBe('a, b, c, d and 1 more');
  });

  it('keeps a 5,000-name list to the names it shows', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `ip-10-0-${Math.floor(i / 250)}-${i % 250}.eu-west-1.compute.internal`);
    const line = someOf(names, 10);
    expect(line.endsWith(' and 4990 more')).toBe(true);
    expect(line.split(', ')).toHaveLength(10);
  });

  it('refuses a limit that would show nothing', () => {
    expect(() => someOf(['a'], 0)).toThrow('max must be a whole number of at least 1, got 0');
  });
});
