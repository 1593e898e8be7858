/**
 * A test that cannot reach its real peer fails under CI, naming the peer, and skips loudly
 * elsewhere: a missing containerd, busybox, kubectl or reference file never passes unnoticed.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { requirePeer } from './support/peers';

describe('requirePeer', () => {
  const saved = process.env.CI;
  afterEach(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });

  it('fails under CI=true naming the peer, skips loudly elsewhere, and passes when the peer is there', () => {
    process.env.CI = 'true';
    expect(() => requirePeer(false, 'busybox (/usr/bin/busybox)', 'the probe script tests')).toThrow('the probe script tests need busybox (/usr/bin/busybox), which is missing here: CI must run them');
    expect(requirePeer(true, 'busybox', 'x')).toBe(true);
    delete process.env.CI;
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(requirePeer(false, 'containerd', 'the containerd tests')).toBe(false);
    expect(write).toHaveBeenCalledWith(expect.stringContaining('*** SKIPPING: the containerd tests need containerd, which is missing here ***'));
    write.mockRestore();
  });

  it('makes a suite fail under CI when its peer is taken away (the upstream manifests, here)', () => {
    // calico.test.ts with the reference folder pointed somewhere empty, as a clone without shared/ would be.
    const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--ci', 'test/calico.test.ts', '-t', 'upstream'], {
      cwd: path.join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, CI: 'true', CNI_MIGRATE_REFERENCE_DIR: '/nonexistent' },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/the comparisons with upstream calico\.yaml need the upstream Calico manifests in \/nonexistent, which is missing here/);
  }, 120000);
});
