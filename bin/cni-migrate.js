#!/usr/bin/env node
// The `cni-migrate` command: compiles first when the sources changed (see build-if-stale.js),
// then runs the compiled CLI.
'use strict';
const { buildIfStale } = require('./build-if-stale');

// A reader that stops early (`cni-migrate steps | head`) is not an error of ours.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = buildIfStale();
if (code !== 0) {
  process.exitCode = code;
} else {
  require('../build/src/cli.js').main(process.argv).then((c) => { process.exitCode = c; });
}
