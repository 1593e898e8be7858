/**
 * advance / retreat: move spec.step by one, editing only that scalar in migration.yaml so that
 * comments, quoting and layout stay exactly as the operator wrote them.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { asWriteFailure, InputError } from '../config/errors';
import type { MigrationPlan } from '../plan/migration-plan';
import type { Step } from './steps';
import { someOf } from '../util/name-list';

export type Direction = 'advance' | 'retreat';

/** The step one position away from the current one, or an InputError past either end. */
export function neighbourStep(plan: MigrationPlan, direction: Direction, file: string): Step {
  const target = plan.steps[plan.step.index + (direction === 'advance' ? 1 : -1)];
  if (!target) {
    const end = direction === 'advance' ? 'last' : 'first';
    throw new InputError(file, 'spec.step', `${JSON.stringify(plan.step.name)} is the ${end} step; there is nothing to ${direction} to`,
      direction === 'advance' ? 'the migration is complete' : 'the migration has not started; revert the adopt commit instead');
  }
  return target;
}

/** The commit message for moving to `target`. */
export function commitMessage(plan: MigrationPlan, target: Step, direction: Direction): string {
  let detail = '';
  if (target.kind === 'nodes') {
    const w = plan.waves[target.wave! - 1];
    detail = ` (wave ${target.wave}/${plan.waves.length}: ${someOf(w, 4)})`;
  }
  const verb = direction === 'advance' ? 'advance' : 'retreat';
  return `cni-migrate: ${verb} to ${target.name}${detail}`;
}

/**
 * Rewrite spec.step in `text` to `value`, touching nothing else. Throws when spec.step is not a
 * plain scalar that can be replaced in place.
 */
export function rewriteStep(text: string, value: string, file: string): string {
  const doc = YAML.parseDocument(text, { keepSourceTokens: true });
  const node = doc.getIn(['spec', 'step'], true);
  if (!YAML.isScalar(node) || !node.range) {
    throw new InputError(file, 'spec.step', 'not a scalar that can be edited in place', 'spec.step: <step name>');
  }
  const [start, end] = node.range;
  const quote = node.type === 'QUOTE_DOUBLE' ? '"' : node.type === 'QUOTE_SINGLE' ? "'" : '';
  const out = text.slice(0, start) + quote + value + quote + text.slice(end);
  const check = YAML.parse(out) as { spec?: { step?: unknown } };
  if (check?.spec?.step !== value) {
    throw new Error(`internal error: rewriting spec.step produced ${JSON.stringify(check?.spec?.step)}`);
  }
  return out;
}

/** Write `text` to `file` through a temporary file and a rename, so a crash never leaves half a file. */
export function writeFileAtomically(file: string, text: string): void {
  writeFilesAtomically([{ file, text }]);
}

/**
 * Write each text to its file: every one to a temporary file beside it first, then the renames, in
 * order. A write the disk refuses (the likely failure: full, read-only) leaves every file as it
 * was; only a rename, which allocates nothing, can fail between the first and the last.
 */
export function writeFilesAtomically(files: readonly { readonly file: string; readonly text: string }[]): void {
  const tmps = files.map((f) => `${f.file}.cni-migrate-${process.pid}.tmp`);
  const names = (list: readonly { file: string }[]) => list.map((f) => path.basename(f.file)).join(' and ');
  let current = files[0]?.file;
  let renamed = 0;
  try {
    files.forEach((f, i) => {
      current = f.file;
      fs.writeFileSync(tmps[i], f.text, { mode: fs.statSync(f.file).mode & 0o777 });
    });
    files.forEach((f, i) => {
      current = f.file;
      fs.renameSync(tmps[i], f.file);
      renamed++;
    });
  } catch (e) {
    const kept = `${names(files.slice(renamed))} unchanged`;
    throw asWriteFailure(e, renamed === 0 ? kept : `${names(files.slice(0, renamed))} written, ${kept}`, current);
  } finally {
    for (const t of tmps) fs.rmSync(t, { force: true });
  }
}
