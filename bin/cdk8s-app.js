#!/usr/bin/env node
// `cdk8s synth` runs this (cdk8s.yaml): compile when the sources changed, then the cdk8s entry.
'use strict';
const { buildIfStale } = require('./build-if-stale');

const code = buildIfStale();
if (code !== 0) {
  process.exitCode = code;
} else {
  process.exitCode = require('../build/src/main.js').runCdk8sApp();
}
