/**
 * One measured run of child.js in its own process, one whole process timed from outside, and the
 * medians every bench reports.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const CHILD = path.join(__dirname, 'child.js');

/** The command users run (build/bench/ → the repository's bin/). */
export const CLI = path.join(__dirname, '..', '..', 'bin', 'cni-migrate.js');

/** What child.js prints for one run. */
export interface RunResult {
  readonly wallMs: number;
  readonly maxRssMiB: number;
  /** The floor's loading of the objects it writes, before its clock starts (0 for the app). */
  readonly setupMs?: number;
}

/** Runs `node child.js ...args` once, after emptying its output folders (args[2] and its -gitops sibling). */
export function runChild(args: readonly string[]): RunResult {
  fs.rmSync(args[2], { recursive: true, force: true });
  fs.rmSync(`${args[2]}-gitops`, { recursive: true, force: true });
  return JSON.parse(execFileSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim()) as RunResult;
}

/**
 * The wall time of one whole `node <args>` process, from its spawn to its exit: node's start-up,
 * loading the program and the work, what a user waits for. Fails when the process does.
 */
export function timeProcess(args: readonly string[], cwd: string): { wallMs: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const stdout = execFileSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] });
  return { wallMs: Number(process.hrtime.bigint() - t0) / 1e6, stdout };
}

/** The middle value (the upper one of an even count). */
export function middle(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * The lower and upper quartiles of `values` (nearest rank): the middle half of the runs. On this
 * kind of machine a step's median moves by about their width from one bench to the next, so a
 * ratio whose quartiles straddle a goal has shown neither that it meets it nor that it misses it.
 */
export function quartiles(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return [at(0.25), at(0.75)];
}

/** The median wall time of `all`, with the peak memory of any of them. */
export function median(all: readonly RunResult[]): RunResult {
  return { wallMs: middle(all.map((r) => r.wallMs)), maxRssMiB: Math.max(...all.map((r) => r.maxRssMiB)) };
}
