/**
 * Manifests per step at 500 and 5,000 generated nodes with the demo's number of NetworkPolicies
 * (12): bytes of dist/ (the largest step against Argo CD's repo server limit), bytes per node,
 * Jobs and DaemonSets, the pods a wave commit starts, synth time against the floor and peak memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { generateCluster } from './generate';
import { CHILD, CLI, median, middle, quartiles, runChild, timeProcess, type RunResult } from './measure';
import { readTree, synthFloorFiles } from './tree';

/** Issue 14's goal for synth against the floor, per step at 5,000 nodes. */
const SYNTH_RATIO_GOAL = 1.5;

/** Argo CD's reposerver.max.combined.directory.manifests.size default (argocd-cmd-params-cm): 10M. */
const ARGO_DIRECTORY_LIMIT = 10 * 1024 * 1024;

interface StepSize {
  step: string;
  bytes: number;
  jobs: number;
  jobNames: Set<string>;
  daemonSets: number;
  /** Per DaemonSet of ours: its pod template (as JSON) and how many inventory nodes it selects. */
  sets: Map<string, { template: string; nodes: number }>;
  ms: number;
  rssMiB: number;
  /** The floor: parse the same inputs, write the same files (YAML objects again, text as is). */
  floorMs: number;
  /** Only the write of the same objects. */
  writeMs: number;
  /** Median of app/floor over the runs that took turns (each pair ran back to back). */
  pairRatio: number;
  /** The lower and upper quartiles of those ratios. */
  pairRatioSpread: [number, number];
  /** The same against the write-only run of each turn. */
  writePairRatio: number;
}

/** Nodes of the inventory beside migration.yaml (one `- name:` line each). */
function countNodes(config: string): number {
  const text = fs.readFileSync(path.join(path.dirname(config), 'cluster', 'nodes.yaml'), 'utf8');
  return (text.match(/^\s*- name: /gm) ?? []).length;
}

/** Pods that applying `to` over `from` starts: its new Jobs, and the nodes of every DaemonSet of ours that is new or whose pod template changed (its rolling update). */
function podsStarted(from: StepSize, to: StepSize): number {
  const jobs = [...to.jobNames].filter((j) => !from.jobNames.has(j)).length;
  const sets = [...to.sets].filter(([name, s]) => from.sets.get(name)?.template !== s.template).reduce((n, [, s]) => n + s.nodes, 0);
  return jobs + sets;
}

/**
 * Runs per measurement; the median is kept. A single cold run varies by ±20% on a shared machine,
 * and the machine's speed drifts over seconds: the app, the floor and the write-only run take
 * turns, and the ratio kept is the median of each app run over the floor run made right after it,
 * so that each ratio compares runs made under the same conditions. With five runs the same step's
 * ratio moved by ±0.15 from one bench to the next, and the worst of eleven steps is the line read.
 */
const RUNS = 9;

/** Sets spec.step of the migration.yaml at `config` to `step`. */
function setStep(config: string, step: string): void {
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(/step: \S+/, `step: ${step}`));
}

function measureStep(work: string, config: string, step: string): StepSize {
  setStep(config, step);
  const out = path.join(work, `dist-${step}`);
  const first = runChild(['app', config, out]);
  const files = readTree(out).filter((f) => f.file.endsWith('.yaml'));
  const objects = files.map((f) => ({ file: f.file, obj: YAML.parse(f.text) }));
  const objectsFile = path.join(work, 'objects.json');
  fs.writeFileSync(objectsFile, JSON.stringify(synthFloorFiles(out)));
  const apps: RunResult[] = [first];
  const floors: RunResult[] = [];
  const writes: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (i > 0) apps.push(runChild(['app', config, out]));
    floors.push(runChild(['floor', objectsFile, path.join(work, 'floor'), config]));
    writes.push(runChild(['floor', objectsFile, path.join(work, 'floor')]));
  }
  const [app, floor, write] = [median(apps), median(floors), median(writes)];
  const ratios = apps.map((a, i) => a.wallMs / floors[i].wallMs);
  const jobs = objects.filter((o) => o.obj.kind === 'Job');
  const ours = objects.filter((o) => o.obj.kind === 'DaemonSet' && o.obj.metadata.labels?.['app.kubernetes.io/name'] === 'cni-migrate');
  const inventory = countNodes(config);
  const sets = new Map(ours.map((o) => {
    const byName = o.obj.spec.template.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0];
    // In: the named nodes; NotIn (the newcomers'): none of the inventory; no list: every node.
    const nodes = !byName ? inventory : byName.operator === 'In' ? byName.values.length : 0;
    return [o.obj.metadata.name, { template: JSON.stringify(o.obj.spec.template), nodes }];
  }));
  return {
    step,
    bytes: files.reduce((n, f) => n + Buffer.byteLength(f.text), 0),
    jobs: jobs.length,
    jobNames: new Set(jobs.map((j) => `${j.obj.metadata.namespace}/${j.obj.metadata.name}`)),
    daemonSets: ours.length,
    sets,
    ms: app.wallMs,
    rssMiB: app.maxRssMiB,
    floorMs: floor.wallMs,
    writeMs: write.wallMs,
    pairRatio: middle(ratios),
    pairRatioSpread: quartiles(ratios),
    writePairRatio: middle(apps.map((a, i) => a.wallMs / writes[i].wallMs)),
  };
}

/**
 * `step` as a user runs it: the whole `cni-migrate synth` process (node's start-up, loading the
 * program, buildIfStale's check, synth) against the whole floor process (node's start-up, loading
 * js-yaml and yaml, the floor), each timed from outside; the floor's loading of the objects it
 * writes is taken out. Runs take turns as in measureStep.
 */
function measureWholeProcess(work: string, config: string, step: string): { app: number; floor: number; ratio: number } {
  setStep(config, step);
  const out = path.join(work, `whole-${step}`);
  const objectsFile = path.join(work, 'objects.json');
  const app: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const dir of [out, `${out}-gitops`]) fs.rmSync(dir, { recursive: true, force: true });
    app.push(timeProcess([CLI, '--config', config, 'synth', '-o', out, '--gitops', `${out}-gitops`], path.dirname(config)).wallMs);
    if (i === 0) fs.writeFileSync(objectsFile, JSON.stringify(synthFloorFiles(out)));
    const f = timeProcess([CHILD, 'floor', objectsFile, path.join(work, 'floor'), config], path.dirname(config));
    floor.push(f.wallMs - (JSON.parse(f.stdout) as RunResult).setupMs!);
  }
  return { app: middle(app), floor: middle(floor), ratio: middle(app.map((a, i) => a / floor[i])) };
}

export function benchManifestSizes(nodeCounts: readonly number[]): void {
  console.log('\nmanifests per step (12 NetworkPolicies, up to 10 explicit node waves); Argo CD\'s default limit per directory Application is 10M');
  for (const nodes of nodeCounts) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-size-'));
    try {
      const g = generateCluster(path.join(work, 'c'), nodes, 12, 10, 'adopt');
      // The wave commit measured is the middle one (nodes-5 → nodes-6 of ten waves); a small
      // cluster's generated waves are fewer than the ten asked for (its workers split evenly).
      const waveCount = g.waves.length;
      const before = Math.max(1, Math.floor(waveCount / 2));
      const after = Math.min(waveCount, before + 1);
      const nodeSteps = [...new Set([1, before, after, waveCount])].map((w) => `nodes-${w}`);
      const steps = ['adopt', 'calico', 'cluster-cidr', 'policies-suspended', ...nodeSteps, 'weave-removed', 'policies-restored', 'finalized'];
      const sizes = steps.map((s) => measureStep(work, g.config, s));
      console.log(`${nodes} nodes, ${waveCount} waves:`);
      console.log('  step                 bytes        per node  Jobs  DSets    synth ms  floor ms  ratio  (quartiles)  MiB  write-only ms  ratio');
      for (const s of sizes) {
        console.log(`  ${s.step.padEnd(19)} ${String(s.bytes).padStart(11)} ${String(Math.round(s.bytes / nodes)).padStart(9)} ${String(s.jobs).padStart(5)} ${String(s.daemonSets).padStart(6)} ${s.ms.toFixed(0).padStart(10)} ${s.floorMs.toFixed(0).padStart(9)} ${s.pairRatio.toFixed(2).padStart(6)}  (${s.pairRatioSpread.map((r) => r.toFixed(2)).join('-')})  ${s.rssMiB.toFixed(0).padStart(4)} ${s.writeMs.toFixed(0).padStart(14)} ${s.writePairRatio.toFixed(2).padStart(6)}`);
      }
      const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      const from = sizes.find((s) => s.step === `nodes-${before}`)!;
      const to = sizes.find((s) => s.step === `nodes-${after}`)!;
      const started = podsStarted(from, to);
      console.log(`  largest step: ${largest.step}, ${(largest.bytes / 1048576).toFixed(1)} MiB, ${Math.round(largest.bytes / nodes)} bytes per node (goal ≤ 1,536); ${largest.bytes <= ARGO_DIRECTORY_LIMIT ? 'within' : 'OVER'} Argo CD's 10M`);
      console.log(`  a wave commit (nodes-${before} → nodes-${after}, wave of ${g.waves[after - 1].length} nodes) starts ${started} pod(s) (new Jobs, and the rolled DaemonSets' nodes)`);
      const whole = measureWholeProcess(work, g.config, 'finalized');
      console.log(`  the whole process at finalized (node's start-up and loading the program included, what a user waits for): cni-migrate synth ${whole.app.toFixed(0)} ms, the floor's ${whole.floor.toFixed(0)} ms, ${whole.ratio.toFixed(2)}x`);
      console.log(`  worst synth: ${Math.max(...sizes.map((s) => s.pairRatio)).toFixed(2)}x the floor, median step ${middle(sizes.map((s) => s.pairRatio)).toFixed(2)}x (parse the same inputs, write the same files; goal ≤ ${SYNTH_RATIO_GOAL}x; per step, the median of ${RUNS} app runs each over the floor run right after it), ${Math.max(...sizes.map((s) => s.writePairRatio)).toFixed(2)}x the write alone; peak ${Math.max(...sizes.map((s) => s.rssMiB)).toFixed(0)} MiB (goal < 1024)`);
      const over = sizes.filter((s) => s.pairRatio > SYNTH_RATIO_GOAL);
      const clearlyOver = over.filter((s) => s.pairRatioSpread[0] > SYNTH_RATIO_GOAL);
      console.log(`  steps over ${SYNTH_RATIO_GOAL}x: ${over.length === 0 ? 'none' : over.map((s) => `${s.step} ${s.pairRatio.toFixed(2)}x (quartiles ${s.pairRatioSpread.map((r) => r.toFixed(2)).join('-')})`).join(', ')}; over with their lower quartile too: ${clearlyOver.length === 0 ? 'none' : clearlyOver.map((s) => s.step).join(', ')}`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

if (require.main === module) benchManifestSizes((process.argv[2] ?? '500,5000').split(',').map(Number));
