/**
 * A write the file system refuses (here a real full disk: a small tmpfs in a private mount
 * namespace) ends in one line naming the path and the errno, exit 2, and leaves every output as
 * it was: synth's dist/ and gitops/, advance's migration.yaml.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { asWriteFailure, InputError } from '../src/config/errors';
import { canMountPrivately, requirePeer } from './support/peers';
import { REPO_ROOT } from './support/workspace';

const haveMount = requirePeer(canMountPrivately(), 'root and unshare (a private tmpfs)', 'the full-disk tests');

describe('asWriteFailure', () => {
  it('turns the file system refusing a write into one line, and passes anything else through', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/repo/dist/a.yaml' });
    const e = asWriteFailure(enospc, 'dist/ kept as it was') as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe('/repo/dist/a.yaml: (file): cannot write: ENOSPC (no space left on the device); dist/ kept as it was; allowed: a folder this user can write, with room for the output');
    const bug = new TypeError('x is undefined');
    expect(asWriteFailure(bug, 'kept')).toBe(bug);
    const input = new InputError('m.yaml', 'spec.step', 'got "x"');
    expect(asWriteFailure(input, 'kept')).toBe(input);
    const missing = Object.assign(new Error('ENOENT'), { code: 'ENOENT', syscall: 'open', path: '/x' });
    expect(asWriteFailure(missing, 'kept')).toBe(missing);
  });
});

(haveMount ? describe : describe.skip)('on a full disk', () => {
  it('synth and advance say so in one line, exit 2, and keep dist/, gitops/ and migration.yaml as they were', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-full-'));
    try {
      const disk = path.join(work, 'disk');
      fs.mkdirSync(disk);
      // 512 KiB holds the demo's inputs and its adopt output (about 260 KiB in 4 KiB pages), not
      // the calico step's (about 560 KiB more). Results go to `work`, outside the tmpfs.
      // An inventory commit's pair (snapshot --nodes-only): migration.yaml fits, nodes.yaml (1 MiB) does not.
      const pair = `try { require(${JSON.stringify(path.join(REPO_ROOT, 'build', 'src', 'steps', 'transitions.js'))}).writeFilesAtomically([{ file: 'migration.yaml', text: 'x' }, { file: 'cluster/nodes.yaml', text: 'y'.repeat(1 << 20) }]); } catch (e) { console.error(e.message); process.exit(2); }`;
      const driver = `
        set -u
        mount -t tmpfs -o size=512k tmpfs "$DISK" || exit 99
        cp -r "$SRC/migration.yaml" "$SRC/cluster" "$DISK/" && cd "$DISK"
        node "$CLI" synth > /dev/null 2>&1 || exit 98
        digest() { find dist gitops -type f | sort | xargs sha256sum; }
        digest > "$OUT/before"
        sed -i 's/^  step: adopt$/  step: calico/' migration.yaml
        node "$CLI" synth > /dev/null 2> "$OUT/synth.err"; echo $? > "$OUT/synth.rc"
        digest > "$OUT/after"
        ls -A > "$OUT/entries"
        cp migration.yaml "$OUT/migration.before"
        cp cluster/nodes.yaml "$OUT/nodes.before"
        node -e "$PAIR" 2> "$OUT/pair.err"; echo $? > "$OUT/pair.rc"
        cmp -s migration.yaml "$OUT/migration.before" && cmp -s cluster/nodes.yaml "$OUT/nodes.before"; echo $? > "$OUT/pair.cmp"
        ls -A cluster > "$OUT/entries.cluster"
        dd if=/dev/zero of=fill bs=4k 2> /dev/null
        node "$CLI" advance > /dev/null 2> "$OUT/advance.err"; echo $? > "$OUT/advance.rc"
        cmp -s migration.yaml "$OUT/migration.before"; echo $? > "$OUT/advance.cmp"
        ls -A > "$OUT/entries.advance"`;
      const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', driver], {
        encoding: 'utf8',
        env: { ...process.env, DISK: disk, SRC: REPO_ROOT, CLI: path.join(REPO_ROOT, 'build', 'src', 'cli.js'), OUT: work, PAIR: pair },
      });
      expect([r.status, r.stderr]).toEqual([0, '']);
      const read = (f: string) => fs.readFileSync(path.join(work, f), 'utf8');

      expect(read('synth.rc').trim()).toBe('2');
      const line = read('synth.err').trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toMatch(/^\S+\/disk\/(dist|gitops)\/\S+: \(file\): cannot (write|open|mkdir): ENOSPC \(no space left on the device\); dist\/ and gitops\/ kept as they were/);
      expect(read('after')).toBe(read('before'));
      // No staged tree, journal or lock left behind to fill the disk further.
      expect(read('entries').trim().split('\n').sort()).toEqual(['cluster', 'dist', 'gitops', 'migration.yaml']);

      expect([read('pair.rc').trim(), read('pair.cmp').trim()]).toEqual(['2', '0']);
      expect(read('entries.cluster').trim().split('\n').sort()).toEqual(['control-plane', 'networkpolicies', 'nodes.yaml', 'weave']);
      expect(read('pair.err').trim()).toBe('cluster/nodes.yaml: (file): cannot write: ENOSPC (no space left on the device); migration.yaml and nodes.yaml unchanged; allowed: a folder this user can write, with room for the output');

      expect(read('advance.rc').trim()).toBe('2');
      expect(read('advance.err').trim()).toMatch(/^\S+\/migration\.yaml: \(file\): cannot write: ENOSPC \(no space left on the device\); migration\.yaml unchanged/);
      expect(read('advance.cmp').trim()).toBe('0');
      expect(read('entries.advance').trim().split('\n').sort()).toEqual(['cluster', 'dist', 'fill', 'gitops', 'migration.yaml']);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
