/**
 * The node and API scripts run under busybox ash (the shell image), dash (the kubectl image's
 * Debian /bin/sh) and calico/node's sh: each script as it is shipped (libraries copied in) must
 * pass ShellCheck as POSIX sh at warning level, so a bashism or an unassigned variable is caught
 * here and not on a node half-way through a wave.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readScript, scriptPath } from '../src/scripts/read-script';
import { requirePeer } from './support/peers';

const SCRIPTS = fs.readdirSync(path.dirname(scriptPath('node-switch.sh'))).filter((f) => f.endsWith('.sh')).sort();
const HAVE_SHELLCHECK = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).status === 0;

/** ShellCheck's findings (warning and error) for `text` as POSIX sh: "SC<code> line <n>: <message>". */
function shellcheck(text: string): string[] {
  const r = spawnSync('shellcheck', ['--shell=sh', '--severity=warning', '--format=json', '-'], { input: text, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { code: number; line: number; message: string }[]).map((f) => `SC${f.code} line ${f.line}: ${f.message}`);
}

const describeLint = requirePeer(HAVE_SHELLCHECK, 'shellcheck (Debian package shellcheck)', 'the POSIX lint of src/scripts') ? describe : describe.skip;

describeLint('ShellCheck, POSIX sh, warning level', () => {
  it('finds every script', () => {
    expect(SCRIPTS).toEqual(expect.arrayContaining(['node-switch.sh', 'node-drain.sh', 'weave-cleanup.sh', 'hostport-cleanup.sh', 'list-pages.sh']));
  });

  it.each(SCRIPTS)('%s as shipped has no finding', (name) => {
    expect(shellcheck(readScript(name))).toEqual([]);
  });

  // The lint can fail: a bashism and an unassigned variable in a shipped script are findings.
  it.each([
    ['$RANDOM (undefined in POSIX sh)', (t: string) => t.replace('\nset -eu\n', '\nset -eu\necho "$RANDOM"\n'), /^SC3028 /],
    ['[[ ]] (a bash test)', (t: string) => t.replace('\nset -eu\n', '\nset -eu\n[[ -n "$HOME" ]] && echo home\n'), /^SC3010 /],
    ['a variable never assigned', (t: string) => t.replace('\nset -eu\n', '\nset -eu\necho "$never_assigned_here"\n'), /^SC2154 /],
  ])('reports %s', (_n, mutate, code) => {
    const text = readScript('node-switch.sh');
    const mutant = mutate(text);
    expect(mutant).not.toBe(text);
    expect(shellcheck(mutant)).toEqual([expect.stringMatching(code)]);
  });
});
