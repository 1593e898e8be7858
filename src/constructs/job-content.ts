/**
 * What a content-addressed Job name hashes: the whole Job spec as the API server sees it, with
 * each inline script replaced by its digest (the same content, at a fraction of the cost).
 */
import { Quantity } from '../../imports/k8s';
import { readScript, scriptDigest } from '../scripts/read-script';

export function jobContent(spec: unknown, scripts: readonly string[]): unknown {
  const byText = new Map(scripts.map((n) => [readScript(n), `sha256:${scriptDigest(n)}`]));
  return JSON.parse(JSON.stringify(spec, (_k, v) => (v instanceof Quantity ? v.value : typeof v === 'string' && byText.has(v) ? byText.get(v) : v)));
}
