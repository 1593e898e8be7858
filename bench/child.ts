/**
 * One measured run in its own process, so peak RSS belongs to it alone. Prints one JSON line:
 * { wallMs, maxRssMiB, setupMs }: the measured work, the process's peak memory, and the time the
 * floor spent loading <objects.json> (work the app does itself, so not the floor's).
 *   node build/bench/child.js app <migration.yaml> <outdir>
 *   node build/bench/child.js floor <objects.json> <outdir> [<migration.yaml>]
 * The floor is the least any synth must do: with <migration.yaml>, read and parse its inputs
 * (migration.yaml and every YAML file under cluster/ beside it, with js-yaml, the fastest parser we
 * ship), then write the same objects as YAML (and the same text files, PLAN.md, step.json,
 * waves.md, as they are); without it, only the write. <objects.json> lists {file, obj} (written
 * as YAML) and {file, text} (written as is).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as jsYaml from 'js-yaml';
import * as YAML from 'yaml';

/** Every YAML input of the migration.yaml at `config`: itself and cluster/**. */
function inputFiles(config: string): string[] {
  const out = [config];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.yaml')) out.push(p);
    }
  };
  walk(path.join(path.dirname(config), 'cluster'));
  return out;
}

/** One output file of the floor: an object written as YAML, or a text written as is. */
export type FloorFile = { readonly file: string; readonly obj: unknown } | { readonly file: string; readonly text: string };

/** The floor: parse the inputs (when given), then write already-built objects as YAML with the same library. */
function floor(files: FloorFile[], outDir: string, config?: string): void {
  if (config) for (const f of inputFiles(config)) jsYaml.load(fs.readFileSync(f, 'utf8'), { schema: jsYaml.CORE_SCHEMA });
  for (const f of files) {
    const target = path.join(outDir, f.file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, 'text' in f ? f.text : YAML.stringify(f.obj, { lineWidth: 0, minContentWidth: 0 }));
  }
}

const [mode, input, outDir, config] = process.argv.slice(2);
// Only the app's process loads the app: its modules would make the floor's heap larger, and its
// collections slower, than any floor's.
const synthToDisk = mode === 'app' ? (require('../src/synth/synth') as typeof import('../src/synth/synth')).synthToDisk : undefined;
// The objects the floor writes are loaded before the clock starts: they stand for work the app does.
const loadStart = process.hrtime.bigint();
const objects = mode === 'floor' ? (JSON.parse(fs.readFileSync(input, 'utf8')) as FloorFile[]) : [];
const setupMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
const t0 = process.hrtime.bigint();
if (synthToDisk) synthToDisk({ configFile: input, outDir, gitopsDir: `${outDir}-gitops` });
else if (mode === 'floor') floor(objects, outDir, config);
else throw new Error(`unknown mode ${mode}`);
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(`${JSON.stringify({ wallMs, maxRssMiB: process.resourceUsage().maxRSS / 1024, setupMs })}\n`);
