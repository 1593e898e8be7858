#!/usr/bin/env node
/**
 * The score of a mutation run (reports/mutation/mutation.json, Stryker's mutation-testing-report
 * schema) per module: killed (or timed out) over every mutant that ran, one line each, the way
 * `npm run bench` prints its numbers. A module under GOAL_PERCENT is marked, and the exit code is 1
 * when any is, so the habit has teeth when run by hand.
 */
const fs = require('fs');
const path = require('path');

const GOAL_PERCENT = 80;
/** A file's module: its folder under src/, with the two single-file modules the issue names. */
const MODULE_OF = [
  [/^src\/steps\/guard\.ts$/, 'guard'],
  [/^src\/model\/policy-(rewrite|restore)\.ts$/, 'policy rewriting'],
  [/^src\/synth\/atomic-write\.ts$/, 'atomic writer'],
  [/^src\/model\//, 'step model'],
  [/^src\/([^/]+)\//, null],
];

function moduleOf(file) {
  for (const [re, name] of MODULE_OF) {
    const m = re.exec(file);
    if (m) return name ?? m[1];
  }
  return file;
}

const reportFile = path.resolve(process.argv[2] ?? 'reports/mutation/mutation.json');
if (!fs.existsSync(reportFile)) {
  console.error(`mutation-summary: ${reportFile} not found: run \`npm run mutate\` first`);
  process.exit(2);
}
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const root = path.dirname(path.dirname(path.dirname(reportFile)));
const rows = new Map();
for (const [file, { mutants }] of Object.entries(report.files)) {
  const rel = path.isAbsolute(file) ? path.relative(root, file) : file;
  const mod = moduleOf(rel.split(path.sep).join('/'));
  const row = rows.get(mod) ?? { killed: 0, survived: 0, noCoverage: 0, other: 0 };
  for (const m of mutants) {
    if (m.status === 'Killed' || m.status === 'Timeout') row.killed++;
    else if (m.status === 'Survived') row.survived++;
    else if (m.status === 'NoCoverage') row.noCoverage++;
    else row.other++; // CompileError, RuntimeError, Ignored: not counted
  }
  rows.set(mod, row);
}
let below = 0;
for (const [mod, r] of [...rows].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const ran = r.killed + r.survived + r.noCoverage;
  const score = ran ? (100 * r.killed) / ran : 100;
  if (score < GOAL_PERCENT) below++;
  console.log(`mutation ${mod.padEnd(17)} ${score.toFixed(1).padStart(5)}% killed (${r.killed} of ${ran}; ${r.survived} survived, ${r.noCoverage} not covered)${score < GOAL_PERCENT ? `  BELOW ${GOAL_PERCENT}%` : ''}`);
}
process.exit(below ? 1 : 0);
