#!/usr/bin/env node
// Thin launcher so `npx cni-migrate` and the package `bin` run the compiled CLI.
require('../build/src/cli.js').main(process.argv).then((code) => { process.exitCode = code; });
