/**
 * The cni-migrate command. Exit codes: 0 success, 1 refused (guard, plan with errors),
 * 2 invalid input or usage.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError } from 'commander';
import { InputError } from './config/errors';
import { readInputText } from './config/yaml-file';
import { loadMigrationFile } from './config/load';
import { hasErrors, sortFindings } from './plan/findings';
import { loadPlan } from './plan/migration-plan';
import { NAMED_WAVE_MAX_NODES, stepReport } from './plan/step-report';
import { renderStep } from './synth/render';
import { guard } from './steps/guard';
import { commitMessage, neighbourStep, rewriteStep, writeFileAtomically, type Direction } from './steps/transitions';
import { assertReplaceable, repositoryRoot } from './synth/output-guard';
import { DEFAULT_COMMENT_MAX_CHARS, GITHUB_COMMENT_MAX_CHARS, prCommentBody } from './synth/pr-comment';
import { PlanRefusedError, synthToDisk } from './synth/synth';
import { gitopsBaseName } from './gitops/recovery';
import { someOf } from './util/name-list';

/** Printed under a list of waves of which some were shortened to their first names. */
const SHORTENED_WAVES = `(a wave of more than ${NAMED_WAVE_MAX_NODES} nodes is shortened to its first ${NAMED_WAVE_MAX_NODES}: \`cni-migrate plan --json\` and dist/waves.md list every node)`;

interface GlobalOpts {
  config: string;
  cluster?: string;
}

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}

class Io implements CliIo {
  public out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  public err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
}

export async function main(argv: readonly string[], io: CliIo = new Io()): Promise<number> {
  let code = 0;
  const program = new Command()
    .name('cni-migrate')
    .description('Move a live Kubernetes cluster from Weave Net to Calico, one reviewed GitOps commit per step.')
    .option('-c, --config <file>', 'migration.yaml to use', 'migration.yaml')
    .option('--cluster <dir>', 'cluster snapshot folder (default: cluster/ beside migration.yaml)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const globals = () => program.opts<GlobalOpts>();
  const inputs = () => ({ configFile: path.resolve(globals().config), clusterDir: globals().cluster ? path.resolve(globals().cluster!) : undefined });

  program
    .command('synth')
    .description('write dist/ (manifests, PLAN.md, step.json) and gitops/ for the current step; on bad input nothing is written')
    .option('-o, --out <dir>', 'manifests folder (default: dist/ beside migration.yaml)')
    .option('--gitops <dir>', 'bootstrap folder (default: gitops/ beside migration.yaml)')
    .action((o: { out?: string; gitops?: string }) => {
      const r = synthToDisk({ ...inputs(), outDir: o.out && path.resolve(o.out), gitopsDir: o.gitops && path.resolve(o.gitops) });
      io.out(`synthesized step ${r.plan.step.name} (${r.plan.step.index + 1}/${r.plan.steps.length}): ${r.files} files in ${path.relative(process.cwd(), r.outDir) || '.'}/ and ${path.relative(process.cwd(), r.gitopsDir) || '.'}/`);
    });

  program
    .command('steps')
    .description('list the steps of this migration and mark the current one')
    .action(() => {
      const plan = loadPlan(inputs());
      for (const s of plan.steps) {
        const mark = s.index === plan.step.index ? '>' : s.index < plan.step.index ? '✓' : ' ';
        const wave = s.wave ? `  wave ${s.wave}: ${someOf(plan.waves[s.wave - 1], NAMED_WAVE_MAX_NODES)}` : '';
        io.out(`${mark} ${String(s.index + 1).padStart(2)}. ${s.name}${wave}`);
      }
      if (plan.waves.some((w) => w.length > NAMED_WAVE_MAX_NODES)) io.out(SHORTENED_WAVES);
    });

  for (const direction of ['advance', 'retreat'] as Direction[]) {
    program
      .command(direction)
      .description(direction === 'advance' ? 'move spec.step one step forward and print the commit message' : 'move spec.step one step back and print the commit message')
      .action(() => {
        const { configFile } = inputs();
        const shown = path.relative(process.cwd(), configFile) || configFile;
        const plan = loadPlan(inputs());
        const target = neighbourStep(plan, direction, shown);
        writeFileAtomically(configFile, rewriteStep(fs.readFileSync(configFile, 'utf8'), target.name, shown));
        io.err(`${shown}: spec.step ${plan.step.name} → ${target.name}; now run \`npm run synth\` and commit with:`);
        io.out(commitMessage(plan, target, direction));
      });
  }

  program
    .command('guard')
    .description('check that migration.yaml moved by at most one step between two git revisions and that no applied part of the plan was reshaped')
    .requiredOption('--from <rev>', 'base revision (e.g. origin/main)')
    .option('--to <rev>', 'head revision (default: the working tree)')
    .option('--allow-weave-revert', 'accept reverting weave-removed, which cannot restore what the Weave cleanup removed (also CNI_MIGRATE_ALLOW_WEAVE_REVERT=1)')
    .action((o: { from: string; to?: string; allowWeaveRevert?: boolean }) => {
      const r = guard({ configFile: inputs().configFile, from: o.from, to: o.to, allowWeaveRevert: o.allowWeaveRevert || process.env.CNI_MIGRATE_ALLOW_WEAVE_REVERT === '1' });
      (r.ok ? io.out : io.err)(`guard: ${r.ok ? 'ok' : 'refused'}: ${r.reason}`);
      code = r.ok ? 0 : 1;
    });

  program
    .command('snapshot')
    .description('read the live cluster and replace cluster/ with what synth needs (nodes, NetworkPolicies, Weave, kube-proxy, kubeadm, controller-manager flags, CIDRs)')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--out <dir>', 'folder to replace (default: cluster/ beside migration.yaml)')
    .option('--timeout <seconds>', 'per-request timeout (the whole answer, however slowly it comes)', '30')
    .option('--deadline <seconds>', 'give up on the whole snapshot after this long', '600')
    .option('--nodes-only', 'an inventory commit: reconcile cluster/nodes.yaml (and pinned waves) with the live nodes, nothing else')
    .action(async (o: { kubeconfig?: string; context?: string; out?: string; timeout: string; deadline: string; nodesOnly?: boolean }) => {
      const timeout = seconds('--timeout', o.timeout);
      const deadline = seconds('--deadline', o.deadline);
      if (o.nodesOnly) {
        if (o.out) throw new InputError('--out', '(option)', 'cannot be combined with --nodes-only', '--nodes-only edits the cluster/ folder of migration.yaml (or --cluster) in place');
        const clusterDir = inputs().clusterDir ?? path.join(path.dirname(inputs().configFile), 'cluster');
        const { ApiClient } = await import('./cluster/api-client');
        const { reconcileInventory } = await import('./cluster/reconcile-inventory');
        const api = ApiClient.fromKubeconfig(o.kubeconfig, o.context, { timeoutMs: timeout * 1000, deadlineMs: deadline * 1000, progress: (l) => io.err(`snapshot: ${l}`) });
        const r = await reconcileInventory(api, inputs().configFile, clusterDir);
        // Every name is in the diff of cluster/nodes.yaml; an autoscaler can add or remove hundreds.
        const what = [r.removed.length ? `removed ${someOf(r.removed, NAMED_WAVE_MAX_NODES)} (gone from the cluster)` : '', r.added.length ? `added ${someOf(r.added, NAMED_WAVE_MAX_NODES)}` : ''].filter(Boolean);
        io.out(`snapshot --nodes-only: at ${r.atStep}: ${what.join('; ') || 'the inventory matches the live nodes; nothing written'}${r.wavesWritten ? '; spec.nodes.waves written (pinned, so no node changes wave)' : ''}`);
        if (r.leftToNewcomers.length) io.out(`snapshot --nodes-only: ${someOf(r.leftToNewcomers, NAMED_WAVE_MAX_NODES)} joined after the first wave: left out of the inventory; the DaemonSet kube-system/cni-migrate-newcomer-switch converges them`);
        if (what.length) io.out('snapshot --nodes-only: commit cluster/nodes.yaml and migration.yaml alone (guard accepts an inventory commit at any step), then synth');
        return;
      }
      const out = o.out ? path.resolve(o.out) : inputs().clusterDir ?? path.join(path.dirname(inputs().configFile), 'cluster');
      const configDir = path.dirname(inputs().configFile);
      assertReplaceable([{ dir: out, kind: 'cluster', option: o.out ? '--out' : '--cluster' }], repositoryRoot(configDir), [inputs().configFile]);
      // Loaded on use: @kubernetes/client-node is an ES module, which the other commands never need.
      const { ApiClient } = await import('./cluster/api-client');
      const { takeSnapshot } = await import('./cluster/take-snapshot');
      const api = ApiClient.fromKubeconfig(o.kubeconfig, o.context, { timeoutMs: timeout * 1000, deadlineMs: deadline * 1000, progress: (l) => io.err(`snapshot: ${l}`) });
      const r = await takeSnapshot(api, out, { keep: backupsToKeep(inputs().configFile, out), stateDir: configDir, fluxNamespace: fluxNamespace(inputs().configFile), ownGitOpsBase: ownGitOpsBase(inputs().configFile) });
      for (const w of r.warnings) io.err(`snapshot: warning: ${w}`);
      io.out(`snapshot: ${r.nodes} nodes, ${r.networkPolicies} NetworkPolicies, Weave CIDR ${r.weaveCIDR}, service CIDR ${r.serviceCIDR ?? 'unknown'}: ${r.files} files in ${path.relative(process.cwd(), out) || '.'}/`);
    });

  program
    .command('status')
    .description('compare the live cluster with the current step; exit 0 only when it has converged (safe to advance), 1 when not, 2 on errors')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--json', 'machine-readable output')
    .option('--watch', 'redraw until the cluster converges or --timeout passes')
    .option('--interval <seconds>', 'seconds between redraws with --watch', '10')
    .option('--timeout <seconds>', 'give up after this long (default: 120, or 1800 with --watch)')
    .option('--request-timeout <seconds>', 'per-request timeout (the whole answer, however slowly it comes)', '30')
    .action(async (o: { kubeconfig?: string; context?: string; json?: boolean; watch?: boolean; interval: string; timeout?: string; requestTimeout: string }) => {
      const interval = seconds('--interval', o.interval);
      const timeout = seconds('--timeout', o.timeout ?? (o.watch ? '1800' : '120'));
      const requestTimeout = seconds('--request-timeout', o.requestTimeout);
      const plan = loadPlan(inputs());
      const { expectedWorkloads } = await import('./step-app');
      const workloads = expectedWorkloads(plan);
      const { ApiClient } = await import('./cluster/api-client');
      const { collectStatus, renderStatus } = await import('./cluster/status');
      // The overall deadline outlasts the watch by one request, so a watch ends by its own rule.
      const api = ApiClient.fromKubeconfig(o.kubeconfig, o.context, { timeoutMs: requestTimeout * 1000, deadlineMs: (timeout + (o.watch ? requestTimeout : 0)) * 1000, progress: (l) => io.err(`status: ${l}`) });
      const until = Date.now() + timeout * 1000;
      for (;;) {
        const r = await collectStatus(api, plan, workloads);
        if (o.json) io.out(JSON.stringify(r, null, 2));
        else io.out(`${o.watch && process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${renderStatus(r, process.stdout.columns ?? 100)}`);
        if (r.converged || !o.watch) {
          code = r.converged ? 0 : 1;
          return;
        }
        if (Date.now() + interval * 1000 > until) {
          io.err(`status: not converged after ${timeout} s`);
          code = 1;
          return;
        }
        await new Promise((res) => setTimeout(res, interval * 1000));
      }
    });

  program
    .command('plan')
    .description('print the plan (steps, waves, CIDRs) and preflight findings; exit 1 if a finding is an error')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const loaded = loadPlan(inputs());
      // Rendered for either engine: the checks that need the built objects (the Calico release
      // its images name, Typha above 50 nodes) refuse here as synth would. Whether the step fits
      // Argo CD's repo server is known only from its manifests.
      const rendered = renderStep(loaded);
      const plan = rendered.findings.length ? { ...loaded, findings: sortFindings([...loaded.findings, ...rendered.findings]) } : loaded;
      const report = stepReport(plan);
      const net = plan.network;
      if (o.json) {
        io.out(JSON.stringify({
          step: plan.step.name,
          steps: plan.steps.map((s) => s.name),
          waves: plan.waves,
          network: { weaveCIDR: `${net.weave}`, calicoCIDR: `${net.calico}`, serviceCIDR: `${net.service}`, supernet: `${net.supernet}`, finalClusterCIDR: `${net.finalClusterCidr}` },
          changes: report.changes,
          findings: plan.findings,
        }, null, 2));
      } else {
        io.out(`step: ${plan.step.name} (${plan.step.index + 1}/${plan.steps.length})`);
        io.out(`steps: ${plan.steps.map((s) => s.name).join(' → ')}`);
        plan.waves.forEach((w, i) => io.out(`wave ${i + 1}: ${someOf(w, NAMED_WAVE_MAX_NODES)}`));
        if (plan.waves.some((w) => w.length > NAMED_WAVE_MAX_NODES)) io.out(SHORTENED_WAVES);
        io.out(`network: weave ${net.weave}, calico ${net.calico}, services ${net.service}, supernet ${net.supernet}, final cluster CIDR ${net.finalClusterCidr}`);
        for (const c of report.changes) io.out(`this step: ${c}`);
        if (plan.findings.length === 0) io.out('findings: none');
        for (const f of plan.findings) io.out(`${f.severity.toUpperCase()} ${f.code}: ${f.message}. Fix: ${f.fix}.`);
      }
      code = hasErrors(plan.findings) ? 1 : 0;
    });

  program
    .command('comment')
    .description('print PLAN.md as a pull-request comment body that GitHub accepts (cut at a section, the rest linked, when it is too long)')
    .option('--plan <file>', 'the PLAN.md to post (default: dist/PLAN.md beside migration.yaml)')
    .option('--max-chars <n>', 'the most characters the body may have', String(DEFAULT_COMMENT_MAX_CHARS))
    .option('--link <url>', 'where the whole PLAN.md can be read (for the note at the end of a cut body)')
    .action((o: { plan?: string; maxChars: string; link?: string }) => {
      const file = o.plan ? path.resolve(o.plan) : path.join(path.dirname(inputs().configFile), 'dist', 'PLAN.md');
      const shown = path.relative(process.cwd(), file) || file;
      const max = Number(o.maxChars);
      if (!/^\d+$/.test(o.maxChars) || max < 1000 || max > GITHUB_COMMENT_MAX_CHARS) {
        throw new InputError('--max-chars', '(option)', `got ${JSON.stringify(o.maxChars)}`, `a whole number from 1000 to ${GITHUB_COMMENT_MAX_CHARS}`);
      }
      io.out(prCommentBody(readInputText(file, shown, '(file)', 'the PLAN.md written by `cni-migrate synth`'), max, o.link));
    });

  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : InputError.EXIT_CODE;
    }
    const apiError = (e as Error)?.name === 'ApiError';
    if (e instanceof InputError || e instanceof PlanRefusedError || apiError) {
      io.err(apiError ? `cni-migrate: ${(e as Error).message}` : (e as Error).message);
      return InputError.EXIT_CODE;
    }
    io.err(`cni-migrate: internal error: ${(e as Error).stack ?? String(e)}`);
    return 3;
  }
}

/** A positive number of seconds from an option, or one InputError naming the option. */
function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !Number.isFinite(n) || n <= 0) throw new InputError(flag, 'seconds', `got ${JSON.stringify(v)}`, 'a positive number of seconds');
  return n;
}

/**
 * The parts of cluster/ that a new snapshot must not replace: once the current step has removed
 * the NetworkPolicies or Weave from the cluster, cluster/ holds their only copy outside git.
 */
/**
 * Where to look for Flux's kustomize-controller: the configured namespace when the engine is Flux;
 * with no readable migration.yaml yet (a first snapshot), Flux's default, flux-system.
 */
function fluxNamespace(configFile: string): string | undefined {
  if (!fs.existsSync(configFile)) return 'flux-system';
  try {
    const { gitops } = loadMigrationFile(configFile).spec;
    return gitops.engine === 'flux' ? gitops.namespace : undefined;
  } catch {
    return 'flux-system';
  }
}

/** The base name of the migration's GitOps objects, when migration.yaml can be read. */
function ownGitOpsBase(configFile: string): string | undefined {
  if (!fs.existsSync(configFile)) return undefined;
  try {
    return gitopsBaseName(loadMigrationFile(configFile).metadata.name);
  } catch {
    return undefined;
  }
}

function backupsToKeep(configFile: string, clusterDir: string): string[] {
  if (!fs.existsSync(configFile) || !fs.existsSync(clusterDir)) return [];
  try {
    const { state } = loadPlan({ configFile, clusterDir });
    return [...(state.policiesPresent ? [] : ['networkpolicies']), ...(state.weavePresent ? [] : ['weave'])];
  } catch (e) {
    // Without the step we cannot tell whether cluster/ holds the only copy of a backup.
    throw new InputError(path.relative(process.cwd(), configFile) || configFile, '(snapshot)', `cannot read the current step, which decides what in cluster/ must be kept: ${(e as Error).message}`, 'fix migration.yaml first, or snapshot into a new folder with --out');
  }
}

if (require.main === module) {
  void main(process.argv).then((c) => {
    process.exitCode = c;
  });
}
