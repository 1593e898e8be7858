/**
 * npm run bench: the app against the floor (a plain script parsing the same inputs and writing
 * the same files, objects as YAML), at several sizes, plus what advancing one wave changes. Numbers, not assertions.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchContainerdSwitch } from './containerd-switch';
import { generateCluster } from './generate';
import { median, middle, runChild, type RunResult } from './measure';
import { benchManifestSizes } from './manifest-size';
import { loadMigrationText } from '../src/config/load';
import { stepList } from '../src/steps/steps';
import { resolveWaves } from '../src/steps/waves';
import { benchStatus } from './status-bench';
import { readTree, synthFloorFiles } from './tree';

/** Every file the app wrote (dist/ and gitops/), for the floor to write again; returns how many objects. */
function dumpFloorFiles(out: string, file: string): number {
  const files = synthFloorFiles(out);
  fs.writeFileSync(file, JSON.stringify(files));
  return files.filter((f) => 'obj' in f).length;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-bench-'));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const points = [
  { nodes: 500, policies: 10000 },
  { nodes: 5000, policies: 10000 },
  { nodes: 5000, policies: 50000 },
];
console.log(`cni-migrate bench: synth at step nodes-10 of 20 waves, median of ${runs} runs, each in its own process, the app and the floor taking turns`);
console.log('nodes  policies  objects | app ms  app MiB | floor ms  floor MiB | time ratio');
const results: { nodes: number; policies: number; app: RunResult; floor: RunResult; ratio: number }[] = [];
for (const p of points) {
  const g = generateCluster(path.join(work, `c-${p.nodes}-${p.policies}`), p.nodes, p.policies, 20, 'nodes-10');
  const appArgs = ['app', g.config, path.join(work, 'app-dist')];
  const apps = [runChild(appArgs)];
  const objectsFile = path.join(work, 'objects.json');
  const objects = dumpFloorFiles(appArgs[2], objectsFile);
  // The floor parses the same inputs (10,000 policy files among them) and writes the same files.
  // Each app run is compared with the floor run right after it: the machine's speed drifts.
  const floors: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    if (i > 0) apps.push(runChild(appArgs));
    floors.push(runChild(['floor', objectsFile, path.join(work, 'floor-dist'), g.config]));
  }
  const [app, floor, ratio] = [median(apps), median(floors), middle(apps.map((a, i) => a.wallMs / floors[i].wallMs))];
  results.push({ ...p, app, floor, ratio });
  console.log(`${String(p.nodes).padStart(5)}  ${String(p.policies).padStart(8)}  ${String(objects).padStart(7)} | ${app.wallMs.toFixed(0).padStart(6)}  ${app.maxRssMiB.toFixed(0).padStart(7)} | ${floor.wallMs.toFixed(0).padStart(8)}  ${floor.maxRssMiB.toFixed(0).padStart(9)} | ${ratio.toFixed(2)}x`);
}
const [small, big, bigPolicies] = results;
console.log(`growth: 10x nodes (500 → 5000) costs ${(big.app.wallMs / small.app.wallMs).toFixed(2)}x time; 5x policies (10000 → 50000) costs ${(bigPolicies.app.wallMs / big.app.wallMs).toFixed(2)}x time`);
console.log(`targets: big plan ${big.ratio.toFixed(2)}x the floor (goal ≤ 2x; the median of each app run over the floor run after it); peak RSS ${big.app.maxRssMiB.toFixed(0)} MiB (goal < 1024 MiB)`);

// What advancing one wave (nodes-10 → nodes-11) changes, at two sizes: it must not grow with the
// cluster. By design it is the wave's own DaemonSet (its pods now converge the nodes to Calico
// first), the step's gate (content-addressed: it checks the new wave), the probe layer (the tunnel
// check and the probes follow the newest wave), PLAN.md and step.json; nothing else.
for (const nodes of [500, 5000]) {
  const g = generateCluster(path.join(work, `diff-${nodes}`), nodes, 10000, 20, 'nodes-10');
  runChild(['app', g.config, path.join(work, `d10-${nodes}`)]);
  fs.writeFileSync(g.config, fs.readFileSync(g.config, 'utf8').replace('step: nodes-10', 'step: nodes-11'));
  runChild(['app', g.config, path.join(work, `d11-${nodes}`)]);
  const before = new Map(readTree(path.join(work, `d10-${nodes}`)).map((f) => [f.file, f.text]));
  const after = new Map(readTree(path.join(work, `d11-${nodes}`)).map((f) => [f.file, f.text]));
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((f) => before.get(f) !== after.get(f)).sort();
  const waveSet = changed.filter((f) => f === '40-nodes/daemonset-kube-system-cni-migrate-switch-wave-11.yaml');
  const gate = changed.filter((f) => f.startsWith('00-gate/'));
  const probe = changed.filter((f) => f.startsWith('60-probe/'));
  const report = changed.filter((f) => f === 'PLAN.md' || f === 'step.json');
  const other = changed.filter((f) => ![...waveSet, ...gate, ...probe, ...report].includes(f));
  console.log(`diff nodes-10 → nodes-11, ${nodes} nodes (wave 11 has ${g.waves[10].length}): ${changed.length} files: wave 11's DaemonSet ${waveSet.length}, gate ${gate.length}, probe layer ${probe.length}, PLAN.md and step.json ${report.length}; anything else ${other.length}${other.length ? ` (${other.join(', ')})` : ''} (goal: 0 else, the same count at every size)`);
}
fs.rmSync(work, { recursive: true, force: true });

// Commits a migration takes with the default wave strategy: one per step (fixed steps + one per wave).
{
  const defaults = loadMigrationText('apiVersion: cni-migrate.io/v1alpha1\nkind: Migration\nmetadata: {name: bench}\nspec:\n  step: adopt\n  gitops: {engine: flux, repoURL: https://git.example/x.git}\n  network: {serviceCIDR: 10.96.0.0/12}\n', 'bench.yaml').spec.nodes;
  for (const count of [50, 500, 5000]) {
    const nodes = Array.from({ length: count }, (_, i) => ({ name: i < 3 ? `cp-${i}` : `w-${i}`, roles: i < 3 ? ['control-plane'] : [], internalIP: '10.0.0.1', podCIDRs: [], containerRuntime: 'containerd://1.7.24', taints: [] }));
    const waves = resolveWaves(defaults, nodes, 'bench.yaml');
    console.log(`default waves, ${count} nodes (3 control-plane): ${waves.length} node waves (largest ${Math.max(...waves.map((w) => w.length))}), ${stepList(waves.length).length} commits in all`);
  }
}

void (async () => {
  await benchContainerdSwitch(Number(process.env.BENCH_SWITCH_RUNS ?? 10));
  await benchStatus(5000, 150000);
  benchManifestSizes([500, 5000]);
})().catch((e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
