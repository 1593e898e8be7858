/**
 * Schema checks for synthesized objects, against the Kubernetes, Argo CD and Flux models
 * (kubernetes-models and its Argo CD / Flux packages):
 *  - `validate()`: the models' JSON Schema validators (types, required fields, enums);
 *  - unknown fields, which those schemas allow: every object is type-checked by the TypeScript
 *    compiler as an object literal of the model's interface, and excess-property errors fail it.
 */
import * as path from 'path';
import * as ts from 'typescript';

export interface SchemaProblem {
  readonly file: string;
  readonly problem: string;
}

/** Module and interface name of the model for an apiVersion/kind. */
export function modelFor(apiVersion: string, kind: string): { module: string; iface: string } {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  let module: string;
  if (group === 'argoproj.io') module = `@kubernetes-models/argo-cd/${group}/${version}/${kind}`;
  else if (group.endsWith('.toolkit.fluxcd.io')) module = `@kubernetes-models/flux-cd/${group}/${version}/${kind}`;
  else module = `kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`;
  return { module, iface: `I${kind}` };
}

/**
 * Fields that the pinned models predate, with the release that added them. Each is removed (at
 * exactly this path) before the unknown-field check, and only there.
 */
const NEWER_THAN_MODELS: readonly { kind: string; apiVersion: string; path: readonly string[]; why: string }[] = [
  { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', path: ['spec', 'deletionPolicy'], why: 'kustomize-controller v1.5 (Flux 2.5, research/facts.md); @kubernetes-models/flux-cd 2.x predates it' },
  { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', path: ['spec', 'syncPolicy', 'retry', 'refresh'], why: 'RetryStrategy.refresh, Argo CD 3.1 (argoproj/argo-cd#23038); @kubernetes-models/argo-cd 2.7 predates it' },
];

function withoutNewerFields(obj: any): any {
  const copy = structuredClone(obj);
  for (const f of NEWER_THAN_MODELS) {
    if (copy.apiVersion !== f.apiVersion || copy.kind !== f.kind) continue;
    let parent = copy;
    for (const p of f.path.slice(0, -1)) parent = parent?.[p];
    if (parent && typeof parent === 'object') delete parent[f.path[f.path.length - 1]];
  }
  return copy;
}

export function checkSchemas(objects: readonly { file: string; obj: any }[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const lines: string[] = [];
  const imports = new Map<string, string>();
  const lineOwner: string[] = [];
  objects.forEach(({ file, obj }, i) => {
    const { module, iface } = modelFor(obj.apiVersion, obj.kind);
    let Model: any;
    try {
      Model = require(module)[obj.kind];
    } catch {
      problems.push({ file, problem: `no schema model for ${obj.apiVersion} ${obj.kind}` });
      return;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      problems.push({ file, problem: `schema: ${(e as Error).message}` });
    }
    const alias = `M${imports.size}`;
    if (!imports.has(module)) imports.set(module, alias);
    const json = JSON.stringify(withoutNewerFields(obj), null, 1);
    for (const l of `export const o${i}: ${imports.get(module)}.${iface} = ${json};`.split('\n')) {
      lines.push(l);
      lineOwner.push(file);
    }
  });
  const header = [...imports].map(([m, a]) => `import type * as ${a} from ${JSON.stringify(m)};`);
  const source = [...header, ...lines].join('\n');
  const fileName = path.join(__dirname, '__schema_check__.ts');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  const orig = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (path.resolve(f) === fileName ? ts.createSourceFile(f, source, lang) : orig(f, lang, ...rest));
  const program = ts.createProgram([fileName], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (!d.file || path.resolve(d.file.fileName) !== fileName) {
      problems.push({ file: '(compiler)', problem: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    problems.push({ file: lineOwner[line - header.length] ?? '(header)', problem: ts.flattenDiagnosticMessageText(d.messageText, ' ') });
  }
  return problems;
}
