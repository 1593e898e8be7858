/**
 * Hand-made mutants of the shell scripts the Jobs run (StrykerJS mutates TypeScript only): each is
 * a one-line break of a behaviour the script's own tests claim to cover. Each is applied to a copy
 * of the source tree, and the script's test file is run there with jest: it must fail. The same
 * tests on the unmutated copy must pass, so a failure is the mutant's doing, not the sandbox's.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from './support/workspace';

interface ScriptMutant {
  /** The behaviour the mutant breaks. */
  readonly breaks: string;
  readonly script: string;
  /** A line of the script, exactly once in it, and what it becomes. */
  readonly line: string;
  readonly becomes: string;
  /** The test file (and test names, a jest -t pattern) that must catch it. */
  readonly testFile: string;
  readonly tests: string;
}

const MUTANTS: readonly ScriptMutant[] = [
  {
    breaks: 'calico-first refuses a Calico conflist that is not valid JSON with name and plugins',
    script: 'node-switch.sh',
    line: '    valid_conflist "$SRC" || die "Calico\'s conflist $SRC is not a valid conflist (JSON with name and plugins). Refusing to switch."',
    becomes: '    true || die "Calico\'s conflist $SRC is not a valid conflist (JSON with name and plugins). Refusing to switch."',
    testFile: 'node-switch-script.test.ts',
    tests: 'node-switch.sh',
  },
  {
    breaks: 'the copy replaces the old one by rename, never in place',
    script: 'node-switch.sh',
    line: '      mv -f "$TMP" "$DST"',
    becomes: '      cp "$TMP" "$DST"',
    testFile: 'node-switch-script.test.ts',
    tests: 'node-switch.sh',
  },
  {
    breaks: 'the Weave gate leaves Failed pods out (they hold no network)',
    script: 'gate-no-pods-in-cidr.sh',
    line: '    | select(.status.phase != "Succeeded" and .status.phase != "Failed")',
    becomes: '    | select(.status.phase != "Succeeded")',
    testFile: 'weave-removal.test.ts',
    tests: 'the weave-removed gate',
  },
  {
    breaks: 'the calico-node gate fails when a node has no Ready calico-node',
    script: 'gate-calico-ready.sh',
    line: '  exit 1',
    becomes: '  exit 0',
    testFile: 'gates.test.ts',
    tests: 'gate-calico-ready.sh',
  },
  {
    breaks: 'the Weave cleanup fails the Job when something could not be removed',
    script: 'weave-cleanup.sh',
    line: '[ "$failed" = 0 ] || exit 1',
    becomes: 'true',
    testFile: 'weave-removal.test.ts',
    tests: 'weave-cleanup.sh',
  },
  {
    breaks: 'the uncordon gives the drain lane back',
    script: 'node-drain.sh',
    line: '      write_lane replace "" "$LEASE_RV" && { log "gave drain lane $LANE back"; break; }',
    becomes: '      break',
    testFile: 'node-job-rerun.test.ts',
    tests: 'PodDisruptionBudget',
  },
];

let sandbox: string;
beforeAll(() => {
  sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-script-mutants-'));
  for (const d of ['src', 'test', 'imports', 'cluster']) fs.cpSync(path.join(REPO_ROOT, d), path.join(sandbox, d), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json', 'jest.config.js', 'migration.yaml']) fs.copyFileSync(path.join(REPO_ROOT, f), path.join(sandbox, f));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(sandbox, 'node_modules'));
  // The test files themselves stay out of it: a run of this file must not start itself again.
  fs.rmSync(path.join(sandbox, 'test', 'script-mutants.test.ts'));
});
afterAll(() => fs.rmSync(sandbox, { recursive: true, force: true }));

function runTests(m: ScriptMutant): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', 'jest.config.js', '--runTestsByPath', path.join('test', m.testFile), ...(m.tests ? ['-t', m.tests] : [])], {
    cwd: sandbox, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 600_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The unmutated runs, once per test selection. */
const controls = new Map<string, { code: number | null; out: string }>();

describe('hand-made mutants of the node scripts are caught by the scripts\' tests', () => {
  it.each(MUTANTS.map((m) => [m.breaks, m] as const))('%s', (_name, m) => {
    const file = path.join(sandbox, 'src', 'scripts', m.script);
    const original = fs.readFileSync(file, 'utf8');
    // The line is there once: a refactor that moves it makes this table say so, not go stale.
    expect(original.split('\n').filter((l) => l === m.line)).toHaveLength(1);
    const key = `${m.testFile} ${m.tests}`;
    const control = controls.get(key) ?? runTests(m);
    controls.set(key, control);
    expect([control.code, control.out.match(/Tests: .*/)?.[0]]).toEqual([0, expect.stringMatching(/passed/)]);
    try {
      fs.writeFileSync(file, original.split('\n').map((l) => (l === m.line ? m.becomes : l)).join('\n'));
      const mutated = runTests(m);
      expect([m.breaks, mutated.code, mutated.out.match(/Tests: .*/)?.[0]]).toEqual([m.breaks, 1, expect.stringMatching(/\d+ failed/)]);
    } finally {
      fs.writeFileSync(file, original);
    }
  });
});
