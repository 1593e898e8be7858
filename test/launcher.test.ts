/**
 * The `cni-migrate` launcher (bin/cni-migrate.js) compiles a changed checkout before it runs it.
 * When it cannot (a compile error, a build/ this user cannot write), it says why in a few lines
 * and exits non-zero; it never runs the stale build. Proved on a small project with the repo's
 * own launcher and TypeScript, so that each case compiles in a second or two.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { canMountPrivately, requirePeer } from './support/peers';
import { REPO_ROOT } from './support/workspace';

const MODULES = 40;

/** A project the launcher can build: its bin/, a cli.ts whose main prints `ran <mark>`, and MODULES more modules. */
function smallProject(mark: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-launcher-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  for (const f of ['cni-migrate.js', 'build-if-stale.js']) fs.copyFileSync(path.join(REPO_ROOT, 'bin', f), path.join(dir, 'bin', f));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', outDir: 'build', rootDir: '.', strict: true, types: [] }, include: ['src/**/*.ts'] }));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), '{}');
  fs.mkdirSync(path.join(dir, 'src', 'config'), { recursive: true });
  for (let i = 0; i < MODULES; i++) fs.writeFileSync(path.join(dir, 'src', `m${i}.ts`), `export const v${i} = ${i};\n`);
  fs.writeFileSync(path.join(dir, 'src', 'config', 'write-validators.ts'), 'export {};\n');
  setMark(dir, mark);
  return dir;
}

function setMark(dir: string, mark: string): void {
  fs.writeFileSync(path.join(dir, 'src', 'cli.ts'), `export async function main(): Promise<number> { console.log(${JSON.stringify(`ran ${mark}`)}); return 0; }\n`);
}

/** Runs the launcher in `dir`, inside a private mount namespace after `before` (shell) when given. */
function launch(dir: string, before = ''): { status: number | null; stdout: string; stderr: string } {
  const run = 'node bin/cni-migrate.js';
  const r = before
    ? spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${before} && ${run}`], { cwd: dir, encoding: 'utf8' })
    : spawnSync('sh', ['-c', run], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

describe('the launcher', () => {
  it('compiles changed sources once, then runs them', () => {
    const dir = smallProject('first');
    made.push(dir);
    expect(launch(dir)).toEqual({ status: 0, stdout: 'ran first\n', stderr: '' });
    setMark(dir, 'second');
    expect(launch(dir)).toEqual({ status: 0, stdout: 'ran second\n', stderr: '' });
    // Unchanged sources: the compiled CLI runs as it is (a build/ file changed by hand shows it).
    const built = path.join(dir, 'build', 'src', 'cli.js');
    fs.writeFileSync(built, fs.readFileSync(built, 'utf8').replace('ran second', 'ran as built'));
    expect(launch(dir).stdout).toBe('ran as built\n');
  });

  it('shows a compile error as the compiler gives it, and does not run the stale build', () => {
    const dir = smallProject('good');
    made.push(dir);
    expect(launch(dir).stdout).toBe('ran good\n');
    fs.appendFileSync(path.join(dir, 'src', 'm3.ts'), 'export const broken: number = "text";\n');
    const r = launch(dir);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/src\/m3\.ts\(2,\d+\): error TS2322: /);
    expect(r.stderr.trimEnd().split('\n').pop()).toBe('cni-migrate: compiling the sources failed (see above)');
  });
});

const haveMount = requirePeer(canMountPrivately(), 'root and unshare (a read-only build/)', 'the launcher\'s unwritable build/ test');
(haveMount ? describe : describe.skip)('the launcher with a build/ it cannot write', () => {
  it('says so in three lines, names the reason and what to do, and does not run the stale build', () => {
    const dir = smallProject('old');
    made.push(dir);
    expect(launch(dir).stdout).toBe('ran old\n');
    setMark(dir, 'new');
    // build/ read-only (EROFS), as for a user who does not own the checkout (EACCES).
    const r = launch(dir, 'mount --bind -o ro build build');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    // Without the summary: one TS5033 line per output file (MODULES + 2 here, about 250 in this repo).
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^error TS5033: Could not write file '.*\/build\/src\/\S+\.js': EROFS: read-only file system/);
    expect(lines[1]).toBe(`(and ${MODULES + 1} more file(s) the compiler could not write)`);
    expect(lines[2]).toBe('cni-migrate: build/ is out of date and cannot be written here (EROFS): run `npm run build` where it can be (as its owner, with room on the disk), or use a checkout of your own');
  });
});
