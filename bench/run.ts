/**
 * npm run bench: the app against the floor (a plain script parsing the same inputs and writing
 * the same objects as YAML), at several sizes, plus the diff size of advancing one wave. Numbers, not assertions.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { benchContainerdSwitch } from './containerd-switch';
import { generateCluster } from './generate';
import { benchManifestSizes } from './manifest-size';
import { loadMigrationText } from '../src/config/load';
import { stepList } from '../src/steps/steps';
import { resolveWaves } from '../src/steps/waves';
import { benchStatus } from './status-bench';

interface Measure {
  wallMs: number;
  maxRssMiB: number;
}

const CHILD = path.join(__dirname, 'child.js');

function measure(args: string[], runs: number): Measure {
  const all: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    fs.rmSync(args[2], { recursive: true, force: true });
    fs.rmSync(`${args[2]}-gitops`, { recursive: true, force: true });
    all.push(JSON.parse(execFileSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim()));
  }
  all.sort((a, b) => a.wallMs - b.wallMs);
  return all[Math.floor(all.length / 2)];
}

/** Every manifest the app wrote, as {file, obj}, for the floor to write again. */
function dumpObjects(distDir: string, file: string): number {
  const out: { file: string; obj: unknown }[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(distDir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (r.endsWith('.yaml')) out.push({ file: r, obj: YAML.parse(fs.readFileSync(path.join(distDir, r), 'utf8')) });
    }
  };
  walk('');
  fs.writeFileSync(file, JSON.stringify(out));
  return out.length;
}

function digest(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else m.set(r, fs.readFileSync(path.join(dir, r), 'utf8'));
    }
  };
  walk('');
  return m;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-migrate-bench-'));
const runs = Number(process.env.BENCH_RUNS ?? 3);
const points = [
  { nodes: 500, policies: 10000 },
  { nodes: 5000, policies: 10000 },
  { nodes: 5000, policies: 50000 },
];
console.log(`cni-migrate bench: synth at step nodes-10 of 20 waves, median of ${runs} runs, each in its own process`);
console.log('nodes  policies  objects | app ms  app MiB | floor ms  floor MiB | time ratio');
const results: { nodes: number; policies: number; app: Measure; floor: Measure }[] = [];
for (const p of points) {
  const g = generateCluster(path.join(work, `c-${p.nodes}-${p.policies}`), p.nodes, p.policies, 20, 'nodes-10');
  const appOut = path.join(work, 'app-dist');
  const app = measure(['app', g.config, appOut], runs);
  const objectsFile = path.join(work, 'objects.json');
  const objects = dumpObjects(appOut, objectsFile);
  // The floor parses the same inputs (10,000 policy files among them) and writes the same objects.
  const floor = measure(['floor', objectsFile, path.join(work, 'floor-dist'), g.config], runs);
  results.push({ ...p, app, floor });
  console.log(`${String(p.nodes).padStart(5)}  ${String(p.policies).padStart(8)}  ${String(objects).padStart(7)} | ${app.wallMs.toFixed(0).padStart(6)}  ${app.maxRssMiB.toFixed(0).padStart(7)} | ${floor.wallMs.toFixed(0).padStart(8)}  ${floor.maxRssMiB.toFixed(0).padStart(9)} | ${(app.wallMs / floor.wallMs).toFixed(2)}x`);
}
const [small, big, bigPolicies] = results;
console.log(`growth: 10x nodes (500 → 5000) costs ${(big.app.wallMs / small.app.wallMs).toFixed(2)}x time; 5x policies (10000 → 50000) costs ${(bigPolicies.app.wallMs / big.app.wallMs).toFixed(2)}x time`);
console.log(`targets: big plan ${(big.app.wallMs / big.floor.wallMs).toFixed(2)}x the floor (goal ≤ 2x); peak RSS ${big.app.maxRssMiB.toFixed(0)} MiB (goal < 1024 MiB)`);

// Diff size of one wave: synth nodes-10 and nodes-11 of the big plan and compare.
const g = generateCluster(path.join(work, 'diff'), 5000, 10000, 20, 'nodes-10');
execFileSync(process.execPath, [CHILD, 'app', g.config, path.join(work, 'd10')]);
fs.writeFileSync(g.config, fs.readFileSync(g.config, 'utf8').replace('step: nodes-10', 'step: nodes-11'));
execFileSync(process.execPath, [CHILD, 'app', g.config, path.join(work, 'd11')]);
const a = digest(path.join(work, 'd10'));
const b = digest(path.join(work, 'd11'));
const changed = [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f));
const wave = g.waves[10];
const slug = (n: string) => n.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 36);
const others = changed.filter((f) => !wave.some((n) => f.includes(slug(n))));
console.log(`diff nodes-10 → nodes-11: ${changed.length} files changed; wave 11 has ${wave.length} nodes (${wave.length * 2} Job files); other files: ${others.length} (${others.join(', ')}) (goal ≤ 3)`);
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
