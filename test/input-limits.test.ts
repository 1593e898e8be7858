/**
 * The limits on what an input may cost to read: a file over MAX_INPUT_BYTES is refused before it is
 * read, and a cluster/ file whose aliases expand past two million values is refused (an alias
 * bomb). Kept apart from yaml-file.test.ts because each case handles millions of values: under a
 * mutation run's instrumentation that is minutes per mutant.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../src/config/errors';
import { assertBounded, MAX_INPUT_BYTES, readInputText, readObjectFile } from '../src/config/yaml-file';
import { refusal, scratchInputs } from './support/input-files';

describe('input limits', () => {
  const { dir, file } = scratchInputs('cni-migrate-limits-');

  it('refuses a file over the size limit without reading it, and takes one at the limit', () => {
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, MAX_INPUT_BYTES + 1);
    expect(refusal(() => readInputText(big, 'big.yaml'))).toEqual(['big.yaml', '(file)', `is ${MAX_INPUT_BYTES + 1} bytes, more than the ${MAX_INPUT_BYTES} an input may have`, 'a readable YAML file']);
    fs.truncateSync(big, MAX_INPUT_BYTES);
    expect(readInputText(big, 'big.yaml')).toHaveLength(MAX_INPUT_BYTES);
    fs.rmSync(big);
  });

  it('refuses a cluster/ file whose aliases expand past two million values, and takes a large plain one', () => {
    const levels = ['a: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 7; i++) levels.push(`b${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    expect(refusal(() => readObjectFile(file('bomb.yaml', `${levels.join('\n')}\n`), 'cluster/bomb.yaml'))).toEqual(['cluster/bomb.yaml', '(document)', 'expands to more than 2000000 values (aliases used as a resource-exhaustion attack?)', 'one Kubernetes object as the snapshot writes it']);
    // The budget counts every value, nested in lists and mappings alike; exactly at it passes.
    const flat = Array.from({ length: 1_999_998 }, () => 0);
    expect(() => assertBounded({ a: flat }, 'f')).not.toThrow();
    expect(() => assertBounded({ a: [...flat, 0] }, 'f', 'less')).toThrow(new InputError('f', '(document)', 'expands to more than 2000000 values (aliases used as a resource-exhaustion attack?)', 'less'));
    expect(() => assertBounded([{ b: flat }], 'f')).toThrow(/expands to more than/);
    expect(() => assertBounded('text', 'f')).not.toThrow();
  });
});
