/**
 * The tests a mutation run (npm run mutate) uses: those that exercise the deciding modules in
 * process, where Stryker's mutants live. Tests that run the compiled CLI, real containerd or the
 * node scripts at scale see no mutant and only slow each run down.
 */
const base = require('./jest.config.js');

/**
 * MUTATE_TESTS=cidr,network-plan narrows the run to those test files: a module's own tests score it
 * in minutes, where the whole set (every synth covers every module) takes hours on two cores.
 */
const only = process.env.MUTATE_TESTS ? process.env.MUTATE_TESTS.split(',').map((t) => `**/${t.trim()}.test.ts`) : undefined;

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  reporters: ['default'],
  testMatch: only ?? [
    '**/atomic-write.test.ts',
    '**/cidr.test.ts',
    '**/config-load.test.ts',
    '**/config.test.ts',
    '**/guard.test.ts',
    '**/hostile-inputs.test.ts',
    '**/model-agreement.test.ts',
    '**/network-plan.test.ts',
    '**/node-switch-job.test.ts',
    '**/output-safety.test.ts',
    '**/policies.test.ts',
    '**/policy-restore.test.ts',
    '**/policy-rewrite.test.ts',
    '**/step-model.test.ts',
    '**/steps.test.ts',
    '**/switch-sets.test.ts',
    '**/synth.test.ts',
    '**/yaml-file.test.ts',
  ],
};
