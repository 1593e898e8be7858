/**
 * Real peers the tests prove the code against (containerd, busybox, kubectl, the CNI plugins, the
 * upstream Calico manifests). Where one is missing, a test cannot prove anything: under CI
 * (CI=true) that fails the suite, naming the peer; elsewhere it says loudly what it skips.
 */
import { spawnSync } from 'child_process';

/** Whether this process may mount in a private mount namespace of its own (root, with unshare). */
export function canMountPrivately(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
}

/** True when `available`; otherwise throws under CI, or warns and returns false. */
export function requirePeer(available: boolean, peer: string, what: string): boolean {
  if (available) return true;
  const message = `${what} need ${peer}, which is missing here`;
  if (process.env.CI === 'true') throw new Error(`${message}: CI must run them (scripts/install-test-deps.sh installs the Debian packages; shared/ holds the reference files)`);
  process.stderr.write(`\n*** SKIPPING: ${message} ***\n\n`);
  return false;
}
