/**
 * The layering rules of issue 11, read from the import statements themselves: the step model is
 * the one source of truth, the constructs only render it, and nothing that plans, reads the
 * cluster or checks a commit reaches into a construct.
 */
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './support/workspace';

interface Rule {
  /** Folders (under src/) whose files the rule restricts. */
  readonly from: readonly string[];
  /** What they may not import: a folder under src/ (trailing /) or a package name. */
  readonly forbidden: readonly string[];
  readonly why: string;
}

const RULES: readonly Rule[] = [
  { from: ['constructs/'], forbidden: ['cluster/'], why: 'constructs render the model; they never read the cluster reader' },
  { from: ['config/', 'network/', 'steps/', 'cluster/', 'plan/'], forbidden: ['constructs/'], why: 'only the app (step-app.ts) knows the constructs' },
  { from: ['model/'], forbidden: ['cdk8s', 'cdk8s-plus-27', 'constructs', 'constructs/', 'cluster/', 'synth/', 'plan/'], why: 'the model is plain data, below everything that renders or reads it' },
  { from: ['kube/', 'util/'], forbidden: ['constructs/', 'cluster/', 'model/', 'plan/', 'synth/', 'steps/', 'network/'], why: 'the shared types sit below every layer' },
];

/** Every module specifier a TypeScript file imports or re-exports (static and require). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|require\('([^']+)'\)/g;
  for (let m = re.exec(source); m; m = re.exec(source)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Where an import points: `src/<folder>/...` for relative ones, else the package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
  return path.relative(path.join(REPO_ROOT, 'src'), path.resolve(path.dirname(file), spec)).split(path.sep).join('/');
}

/** The broken rules in `files` (absolute path → source). */
export function violations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of files) {
    const rel = path.relative(path.join(REPO_ROOT, 'src'), file).split(path.sep).join('/');
    for (const rule of RULES) {
      if (!rule.from.some((f) => rel.startsWith(f))) continue;
      for (const spec of importsOf(source)) {
        const t = target(file, spec);
        const hit = rule.forbidden.find((f) => (f.endsWith('/') ? `${t}/`.startsWith(f) : t === f));
        if (hit) out.push(`src/${rel} imports ${spec} (${hit}): ${rule.why}`);
      }
    }
  }
  return out;
}

function sourceFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) for (const [k, v] of sourceFiles(p)) out.set(k, v);
    else if (e.name.endsWith('.ts')) out.set(p, fs.readFileSync(p, 'utf8'));
  }
  return out;
}

describe('layering', () => {
  const files = sourceFiles(path.join(REPO_ROOT, 'src'));

  it('reads every import form', () => {
    expect(importsOf("import { a } from './a';\nimport type { B } from '../b';\nexport { c } from './c';\nimport * as d from 'cdk8s';\nimport './side';\nconst e = require('constructs');")).toEqual(['./a', '../b', './c', 'cdk8s', './side', 'constructs']);
    expect(importsOf("import {\n  a,\n  b,\n} from '../multi/line';")).toEqual(['../multi/line']);
  });

  it('holds in src/', () => {
    expect(files.size).toBeGreaterThan(50);
    expect(files.has(path.join(REPO_ROOT, 'src', 'model', 'step-model.ts'))).toBe(true);
    expect(violations(files)).toEqual([]);
  });

  it('catches each kind of break', () => {
    const src = (rel: string) => path.join(REPO_ROOT, 'src', rel);
    const broken = new Map([
      [src('constructs/x.ts'), "import type { KubeObject } from '../cluster/snapshot';"],
      [src('plan/x.ts'), "import { gateChecksFor } from '../constructs/step-gate';"],
      [src('cluster/x.ts'), "import { NodeSwitch } from '../constructs/node-switch';"],
      [src('model/x.ts'), "import { Construct } from 'constructs';"],
      [src('model/y.ts'), "import { ApiObject } from 'cdk8s';"],
      [src('steps/x.ts'), "import { stableJson } from '../constructs/content-name';"],
      [src('model/z.ts'), "import { loadClusterSnapshot } from '../cluster/snapshot';"],
    ]);
    expect(violations(broken)).toHaveLength(broken.size);
    // Allowed directions stay allowed.
    expect(violations(new Map([[src('constructs/x.ts'), "import type { StepModel } from '../model/step-model';"], [src('cluster/x.ts'), "import { gateCheckList } from '../model/gate-checks';"]]))).toEqual([]);
  });
});
