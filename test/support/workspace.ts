/**
 * Test workspaces: a temporary copy of the demo (migration.yaml + cluster/), the CLI run in-process
 * with captured output, and byte-exact snapshots of output folders.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { main } from '../../src/cli';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface Workspace {
  readonly dir: string;
  readonly config: string;
  readonly cluster: string;
  readonly dist: string;
  readonly gitops: string;
}

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh copy of the committed demo inputs in a temporary folder. */
export function demoWorkspace(): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-test-'));
  made.push(dir);
  fs.copyFileSync(path.join(REPO_ROOT, 'migration.yaml'), path.join(dir, 'migration.yaml'));
  fs.cpSync(path.join(REPO_ROOT, 'cluster'), path.join(dir, 'cluster'), { recursive: true });
  return { dir, config: path.join(dir, 'migration.yaml'), cluster: path.join(dir, 'cluster'), dist: path.join(dir, 'dist'), gitops: path.join(dir, 'gitops') };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `cni-migrate <args>` in-process with `--config` pointing into the workspace. */
export async function cli(ws: Workspace, ...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'cni-migrate', '--config', ws.config, ...args], {
    out: (s) => (stdout += s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => (stderr += s.endsWith('\n') ? s : `${s}\n`),
  });
  return { code, stdout, stderr };
}

/** Relative path → sha256 of every file under `dir` (empty map when it does not exist). */
export function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    if (!fs.existsSync(abs)) return;
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.set(r, createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex'));
    }
  };
  walk('');
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Edit migration.yaml as data (comments are not kept; tests that need them edit text). */
export function editConfig(ws: Workspace, edit: (doc: any) => void): void {
  const doc = YAML.parse(fs.readFileSync(ws.config, 'utf8'));
  edit(doc);
  fs.writeFileSync(ws.config, YAML.stringify(doc));
}

/** Set spec.step by a text edit that keeps the rest of the file. */
export function setStep(ws: Workspace, step: string): void {
  const text = fs.readFileSync(ws.config, 'utf8');
  fs.writeFileSync(ws.config, text.replace(/^(\s*step:\s*).*$/m, `$1${step}`));
}

/** Every YAML document under `dir` (recursively), with its relative path. */
export function readManifests(dir: string): { file: string; obj: any }[] {
  const out: { file: string; obj: any }[] = [];
  for (const [rel] of treeDigest(dir)) {
    if (!rel.endsWith('.yaml') || rel.endsWith('kustomization.yaml')) continue;
    out.push({ file: rel, obj: YAML.parse(fs.readFileSync(path.join(dir, rel), 'utf8')) });
  }
  return out;
}

/**
 * Shell run in the CLI's folder in a mount namespace of its own (root, unshare), so that the mounts
 * it makes (a full tmpfs, a read-only bind) are seen by that run only and vanish with it.
 */
export interface PrivateMounts {
  /** Before the CLI: makes the mounts; the run fails (99) if this does. */
  readonly before: string;
  /** After the CLI, whatever its exit: copies out what the test reads from the mounts. @default nothing */
  readonly after?: string;
}

/** Run the compiled CLI in a child process (the commands that load @kubernetes/client-node, an ES module). */
export function runCompiledCli(args: string[], cwd: string, mounts?: PrivateMounts): Promise<CliRun> {
  const command = [process.execPath, path.join(REPO_ROOT, 'build', 'src', 'cli.js'), ...args];
  const argv = mounts === undefined
    ? command
    : ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${mounts.before} || exit 99; "$0" "$@"; rc=$?; ${mounts.after ?? 'true'}; exit $rc`, ...command];
  return new Promise((resolve) => {
    const p = spawn(argv[0], argv.slice(1), { cwd, env: { PATH: process.env.PATH, HOME: cwd } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
