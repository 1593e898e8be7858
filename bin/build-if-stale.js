// Compiles the TypeScript sources into build/ only when they changed since the last build, so
// that `npm run synth` and the `cni-migrate` bin start in well under a second when nothing
// changed, and the bin works right after `npm ci` or `npm link` (which do not compile).
// "Changed" is by content (a digest of every source file, tsconfig.json and package-lock.json),
// not by modification time, which a git checkout resets.
'use strict';
const { createHash } = require('crypto');
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, 'build', '.sources-digest');
const ENTRY = path.join(ROOT, 'build', 'src', 'cli.js');
// bench/ compiles parts of test/support too.
const SOURCE_DIRS = ['src', 'imports', 'bench', 'test/support'];
const SOURCE_FILES = ['tsconfig.json', 'package-lock.json'];

function listFiles(dir) {
  let out = [];
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out = out.concat(listFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function sourcesDigest() {
  const files = SOURCE_DIRS.flatMap((d) => listFiles(path.join(ROOT, d))).concat(SOURCE_FILES.map((f) => path.join(ROOT, f)));
  const h = createHash('sha256');
  for (const f of files.sort()) {
    h.update(path.relative(ROOT, f)).update('\0');
    try {
      h.update(fs.readFileSync(f));
    } catch {
      h.update('(missing)');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/** Builds when needed; returns 0, or the exit code to stop with after saying why on stderr. */
function buildIfStale({ force = false } = {}) {
  const digest = sourcesDigest();
  let current = '';
  try {
    current = fs.readFileSync(STAMP, 'utf8').trim();
  } catch {
    // No stamp: never built here, or built by something else; build.
  }
  if (!force && current === digest && fs.existsSync(ENTRY)) return 0;
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  } catch {
    process.stderr.write(`cni-migrate: ${path.relative(process.cwd(), ENTRY) || ENTRY} is missing or out of date and TypeScript is not installed: run \`npm ci\` in ${ROOT}\n`);
    return 2;
  }
  // Compiler output goes to stderr: stdout may be JSON (plan --json, status --json).
  const r = spawnSync(process.execPath, [tsc, '-p', ROOT], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    process.stderr.write('cni-migrate: compiling the sources failed (see above)\n');
    return r.status || 2;
  }
  // The input schemas' validators as code (src/config/write-validators.ts), so that no command
  // compiles them at start-up; without it the CLI still works, compiling them itself.
  const v = spawnSync(process.execPath, [path.join(ROOT, 'build', 'src', 'config', 'write-validators.js')], { stdio: ['ignore', 2, 2] });
  if (v.status !== 0) {
    process.stderr.write('cni-migrate: generating the input validators failed (see above)\n');
    return v.status || 2;
  }
  fs.writeFileSync(STAMP, `${digest}\n`);
  return 0;
}

module.exports = { buildIfStale };

if (require.main === module) {
  process.exitCode = buildIfStale({ force: process.argv.includes('--force') });
}
