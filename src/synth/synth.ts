/**
 * Synth to disk: plan, refuse on error findings, render, and swap dist/ and gitops/ in whole.
 */
import * as path from 'path';
import { loadPlan, type MigrationPlan } from '../plan/migration-plan';
import type { Finding } from '../plan/findings';
import { writeTreesAtomically } from './atomic-write';
import { assertReplaceable, repositoryRoot } from './output-guard';
import { renderStep } from './render';

export interface SynthOptions {
  /** Path of migration.yaml. */
  readonly configFile: string;
  /**
   * cluster/ folder.
   * @default cluster/ beside migration.yaml
   */
  readonly clusterDir?: string;
  /**
   * Output folder for the manifests.
   * @default dist/ beside migration.yaml
   */
  readonly outDir?: string;
  /**
   * Output folder for the bootstrap objects.
   * @default gitops/ beside migration.yaml
   */
  readonly gitopsDir?: string;
}

/** The plan has error findings: synth refuses (exit 2) and writes nothing. */
export class PlanRefusedError extends Error {
  constructor(public readonly configFile: string, public readonly findings: readonly Finding[]) {
    const f = findings[0];
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more error(s): run \`cni-migrate plan\`)` : '';
    super(`${f.file ?? configFile}: ${f.field ?? 'spec'}: ${f.message} [${f.code}]; fix: ${f.fix}${more}`);
    this.name = 'PlanRefusedError';
  }
}

export interface SynthResult {
  readonly plan: MigrationPlan;
  readonly outDir: string;
  readonly gitopsDir: string;
  readonly files: number;
}

export function synthToDisk(opts: SynthOptions): SynthResult {
  const base = path.dirname(opts.configFile);
  const plan = loadPlan({ configFile: opts.configFile, clusterDir: opts.clusterDir });
  const errors = plan.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) throw new PlanRefusedError(path.relative(process.cwd(), opts.configFile) || opts.configFile, errors);
  const outDir = opts.outDir ?? path.join(base, 'dist');
  const gitopsDir = opts.gitopsDir ?? path.join(base, 'gitops');
  const manifest = plan.migration.spec.calico.manifest;
  assertReplaceable(
    [{ dir: outDir, kind: 'dist', option: '--out' }, { dir: gitopsDir, kind: 'gitops', option: '--gitops' }],
    repositoryRoot(base),
    [opts.configFile, opts.clusterDir ?? path.join(base, 'cluster'), ...(manifest ? [path.resolve(base, manifest)] : [])],
  );
  const rendered = renderStep(plan);
  const late = rendered.findings.filter((f) => f.severity === 'error');
  if (late.length > 0) throw new PlanRefusedError(path.relative(process.cwd(), opts.configFile) || opts.configFile, late);
  writeTreesAtomically([
    { dir: outDir, files: rendered.dist },
    { dir: gitopsDir, files: rendered.gitops },
  ], { stateDir: base });
  return { plan, outDir, gitopsDir, files: rendered.dist.size + rendered.gitops.size };
}
