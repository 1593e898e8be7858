/** File names made from Kubernetes names stay within NAME_MAX, unchanged where they already fit. */
import { fileNameWithin, MAX_FILE_NAME_BYTES } from '../src/util/file-name';

describe('fileNameWithin', () => {
  it('leaves a name that fits as it is, up to exactly 255 bytes', () => {
    expect(fileNameWithin('networkpolicy-shop-default-deny-all')).toBe('networkpolicy-shop-default-deny-all.yaml');
    const exact = 'a'.repeat(MAX_FILE_NAME_BYTES - '.yaml'.length);
    expect(fileNameWithin(exact)).toBe(`${exact}.yaml`);
  });

  it('shortens one byte past it to exactly 255 bytes, keeping the start and adding a hash of the whole', () => {
    const stem = 'a'.repeat(MAX_FILE_NAME_BYTES - '.yaml'.length + 1);
    const name = fileNameWithin(stem);
    expect(Buffer.byteLength(name)).toBe(MAX_FILE_NAME_BYTES);
    expect(name).toMatch(/^a{233}-[0-9a-f]{16}\.yaml$/);
    expect(fileNameWithin(stem)).toBe(name);
  });

  it('gives two long names that share their first 233 bytes different file names', () => {
    const head = 'networkpolicy-team-a-'.padEnd(300, 'x');
    expect(fileNameWithin(`${head}1`)).not.toBe(fileNameWithin(`${head}2`));
    expect(fileNameWithin(`${head}1`).slice(0, 233)).toBe(fileNameWithin(`${head}2`).slice(0, 233));
  });

  it('never splits a multi-byte character, and counts bytes, not characters', () => {
    const name = fileNameWithin('é'.repeat(200));
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(name).toMatch(/^é{116}-[0-9a-f]{16}\.yaml$/);
    expect(fileNameWithin('x'.repeat(10), '.md')).toBe('xxxxxxxxxx.md');
  });
});
