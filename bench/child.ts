/**
 * One measured run in its own process, so peak RSS belongs to it alone. Prints one JSON line:
 * { wallMs, maxRssMiB }.
 *   node build/bench/child.js app <migration.yaml> <outdir>
 *   node build/bench/child.js floor <objects.json> <outdir>
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { synthToDisk } from '../src/synth/synth';

/** The floor: write already-built objects as YAML files with the same library, nothing else. */
function floor(objectsFile: string, outDir: string): void {
  const objects = JSON.parse(fs.readFileSync(objectsFile, 'utf8')) as { file: string; obj: unknown }[];
  for (const { file, obj } of objects) {
    const target = path.join(outDir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, YAML.stringify(obj, { lineWidth: 0, minContentWidth: 0 }));
  }
}

const [mode, input, outDir] = process.argv.slice(2);
const t0 = process.hrtime.bigint();
if (mode === 'app') synthToDisk({ configFile: input, outDir, gitopsDir: `${outDir}-gitops` });
else if (mode === 'floor') floor(input, outDir);
else throw new Error(`unknown mode ${mode}`);
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(`${JSON.stringify({ wallMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
