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
  const r = spawnSync(process.execPath, [tsc, '-p', ROOT], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    const unwritable = reportCompilerOutput(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    process.stderr.write(
      unwritable
        ? `cni-migrate: ${path.relative(process.cwd(), path.dirname(STAMP)) || path.dirname(STAMP)}/ is out of date and cannot be written here (${unwritable}): run \`npm run build\` where it can be (as its owner, with room on the disk), or use a checkout of your own\n`
        : 'cni-migrate: compiling the sources failed (see above)\n',
    );
    return r.status || 2;
  }
  // The input schemas' validators as code (src/config/write-validators.ts), so that no command
  // compiles them at start-up; without it the CLI still works, compiling them itself.
  const v = spawnSync(process.execPath, [path.join(ROOT, 'build', 'src', 'config', 'write-validators.js')], { stdio: ['ignore', 2, 2] });
  if (v.status !== 0) {
    process.stderr.write('cni-migrate: generating the input validators failed (see above)\n');
    return v.status || 2;
  }
  try {
    fs.writeFileSync(STAMP, `${digest}\n`);
  } catch (e) {
    // The build itself was written: this run may go on, the next one compiles again.
    process.stderr.write(`cni-migrate: could not record the build in ${STAMP} (${e.code ?? e.message}); the next run compiles again\n`);
  }
  return 0;
}

/**
 * Writes the compiler's output to stderr, except that a build/ the compiler cannot write gives
 * one TS5033 ("Could not write file") per output file, hundreds of lines saying one thing: those
 * are shown as their first line and a count. Returns the reason (EACCES, EROFS, ENOSPC...) when
 * that is why the build failed, so that the caller can say what to do instead.
 */
function reportCompilerOutput(output) {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const cannotWrite = lines.filter((l) => /error TS5033:/.test(l));
  const others = lines.filter((l) => !/error TS5033:/.test(l));
  for (const l of others) process.stderr.write(`${l}\n`);
  if (cannotWrite.length === 0) return undefined;
  process.stderr.write(`${cannotWrite[0]}\n`);
  if (cannotWrite.length > 1) process.stderr.write(`(and ${cannotWrite.length - 1} more file(s) the compiler could not write)\n`);
  if (others.some((l) => /error TS\d+:/.test(l))) return undefined;
  return /\b(E[A-Z]+):/.exec(cannotWrite[0])?.[1] ?? 'the compiler could not write its output';
}

module.exports = { buildIfStale };

if (require.main === module) {
  process.exitCode = buildIfStale({ force: process.argv.includes('--force') });
}
