/**
 * Rendering a step to files: dist/ (one folder per layer, one file per object, plus PLAN.md and
 * step.json) and gitops/ (the bootstrap objects). Pure: the same plan gives the same bytes.
 */
import * as YAML from 'yaml';
import { argoApplication } from '../gitops/argocd';
import { fluxGitRepository, fluxKustomization, layerKustomization } from '../gitops/flux';
import { LAYERS, type LayerId } from '../gitops/layers';
import { gitopsBaseName, layerKustomizationName, stuckSteps } from '../gitops/recovery';
import { lastAppliedBytes, needsServerSideApply, withServerSideApply } from '../gitops/server-side-apply';
import { sortFindings, type Finding } from '../plan/findings';
import type { MigrationPlan } from '../plan/migration-plan';
import { countedManifestBytes, manifestSizeFinding } from '../plan/manifest-size';
import { objectLimitFinding } from '../plan/object-limits';
import { stepReport } from '../plan/step-report';
import { buildStepApp } from '../step-app';
import { fileNameWithin } from '../util/file-name';
import { renderCharts } from './render-charts';
import { renderPlanMarkdown } from './plan-markdown';
import { renderStepJson } from './step-json';
import { renderWavesMarkdown, WAVES_FILE } from './waves-markdown';

export interface RenderedStep {
  /** Files of dist/, relative to it. */
  readonly dist: Map<string, string>;
  /** Files of gitops/, relative to it. */
  readonly gitops: Map<string, string>;
  /**
   * What only the rendered objects tell (already in PLAN.md): the step over Argo CD's repo server
   * limit, an object the API server would refuse. Synth refuses on an error among them.
   */
  readonly findings: readonly Finding[];
}

/** YAML as we write it everywhere: no line folding, so diffs stay line-stable. */
export function toYaml(obj: unknown): string {
  return YAML.stringify(obj, { lineWidth: 0, minContentWidth: 0 });
}

/** File name of an object: kind-namespace-name.yaml, lowercased, shortened past NAME_MAX (util/file-name.ts). */
export function objectFileName(obj: { kind: string; metadata: { name: string; namespace?: string } }): string {
  const parts = [obj.kind, obj.metadata.namespace, obj.metadata.name].filter((p): p is string => !!p);
  return fileNameWithin(parts.join('-').toLowerCase().replace(/[^a-z0-9.-]+/g, '_'));
}

export function renderStep(plan: MigrationPlan): RenderedStep {
  const rendered = renderCharts(buildStepApp(plan));
  const argo = plan.migration.spec.gitops.engine === 'argocd';
  const dist = new Map<string, string>();
  const layerFiles = new Map<LayerId, string[]>();
  let gate: { metadata: { name: string; namespace?: string } } | undefined;
  const late: Finding[] = [];
  for (const l of LAYERS) {
    const files: string[] = [];
    for (const obj of rendered.get(l.id as LayerId)!) {
      if (obj.kind === 'Job' && obj.metadata.labels?.['app.kubernetes.io/component'] === 'gate') gate = obj;
      const name = objectFileName(obj);
      const rel = `${l.id}/${name}`;
      if (dist.has(rel)) {
        throw new Error(`two objects would be written to dist/${rel} (${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}); rename one of them`);
      }
      const jsonBytes = lastAppliedBytes(obj);
      const limit = objectLimitFinding(obj, rel, jsonBytes);
      if (limit) late.push(limit);
      // Argo CD's client-side apply would copy an object this large into an annotation, past the
      // API server's cap (gitops/server-side-apply.ts).
      dist.set(rel, toYaml(argo && needsServerSideApply(obj, jsonBytes) ? withServerSideApply(obj) : obj));
      files.push(name);
    }
    layerFiles.set(l.id as LayerId, files.sort());
  }
  const gitops = new Map<string, string>();
  const spec = plan.migration.spec;
  const base = gitopsBaseName(plan.migration.metadata.name);
  if (spec.gitops.engine === 'flux') {
    for (const l of LAYERS) dist.set(`${l.id}/kustomization.yaml`, toYaml(layerKustomization(layerFiles.get(l.id as LayerId)!)));
    gitops.set('gitrepository.yaml', toYaml(fluxGitRepository(base, spec.gitops)));
    LAYERS.forEach((l, i) => {
      gitops.set(`kustomization-${l.id}.yaml`, toYaml(fluxKustomization(layerKustomizationName(base, l.id), base, l, i > 0 ? layerKustomizationName(base, LAYERS[i - 1].id) : undefined, spec.gitops)));
    });
  } else {
    gitops.set('application.yaml', toYaml(argoApplication(base, spec.gitops)));
  }
  // The manifests' size is known only now; a step over Argo CD's limit says so in PLAN.md.
  const sizeFinding = manifestSizeFinding(spec.gitops.engine, countedManifestBytes(dist));
  if (sizeFinding) late.push(sizeFinding);
  const sized: MigrationPlan = late.length ? { ...plan, findings: sortFindings([...plan.findings, ...late]) } : plan;
  const report = stepReport(sized);
  const stuck = plan.step.kind === 'adopt' ? [] : stuckSteps(spec.gitops, base, gate ? { name: gate.metadata.name, namespace: gate.metadata.namespace ?? 'kube-system' } : undefined);
  dist.set('PLAN.md', renderPlanMarkdown(sized, report, layerFiles, stuck));
  dist.set('step.json', renderStepJson(sized, report, layerFiles));
  dist.set(WAVES_FILE, renderWavesMarkdown(plan));
  return { dist, gitops, findings: late };
}
