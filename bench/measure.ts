/**
 * One measured run of child.js in its own process, and the medians every bench reports.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const CHILD = path.join(__dirname, 'child.js');

/** What child.js prints for one run. */
export interface RunResult {
  readonly wallMs: number;
  readonly maxRssMiB: number;
}

/** Runs `node child.js ...args` once, after emptying its output folders (args[2] and its -gitops sibling). */
export function runChild(args: readonly string[]): RunResult {
  fs.rmSync(args[2], { recursive: true, force: true });
  fs.rmSync(`${args[2]}-gitops`, { recursive: true, force: true });
  return JSON.parse(execFileSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim()) as RunResult;
}

/** The middle value (the upper one of an even count). */
export function middle(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** The median wall time of `all`, with the peak memory of any of them. */
export function median(all: readonly RunResult[]): RunResult {
  return { wallMs: middle(all.map((r) => r.wallMs)), maxRssMiB: Math.max(...all.map((r) => r.maxRssMiB)) };
}
