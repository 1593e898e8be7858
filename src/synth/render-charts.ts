/**
 * The objects of a step's charts as Kubernetes JSON, every chart rendered in one pass over the app.
 */
import { ApiObject, Chart } from 'cdk8s';
import type { LayerId } from '../gitops/layers';
import type { StepCharts } from '../step-app';

/** An object as cdk8s renders it: apiVersion, kind and metadata first. */
export interface RenderedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: any;
}

/**
 * Each chart's objects, rendered by ApiObject.toJson() as Chart.toJson() renders them. Chart.toJson()
 * first prepares the whole app again, for every chart (cdk8s-core src/app.ts, App._synthChart: it runs
 * resolveDependencies and validate over every construct of the app, then chartToKube); a step has
 * eight charts. buildStepApp has validated every construct once already. What the preparation
 * adds is order: it turns construct dependencies into an order of the objects within a chart.
 * Each object is written to its own file, so that order never reaches the output; a dependency
 * is refused here rather than silently ignored.
 */
export function renderCharts(step: StepCharts): Map<LayerId, RenderedObject[]> {
  const out = new Map<LayerId, RenderedObject[]>();
  for (const [layer, chart] of step.charts) {
    const objects: RenderedObject[] = [];
    for (const c of chart.node.findAll()) {
      if (c.node.dependencies.length > 0) {
        throw new Error(`${c.node.path} declares a dependency on ${c.node.dependencies.map((d) => d.node.path).join(', ')}; renderCharts does not order objects by dependencies`);
      }
      // An object belongs to its closest chart only, as in chartToKube.
      if (c instanceof ApiObject && Chart.of(c) === chart) objects.push(c.toJson() as RenderedObject);
    }
    out.set(layer, objects);
  }
  return out;
}
