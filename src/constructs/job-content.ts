/**
 * What a content-addressed Job name hashes: the whole Job spec as the API server sees it. The
 * scripts are in it by their ConfigMaps' names, which carry their digests (job-scripts.ts).
 */
import { Quantity } from '../../imports/k8s';

export function jobContent(spec: unknown): unknown {
  return JSON.parse(JSON.stringify(spec, (_k, v) => (v instanceof Quantity ? v.value : v)));
}
