/**
 * Whether the API server would store each rendered object at all, whatever the engine.
 *
 * Three limits hold for every write, server-side apply included:
 *  - a ConfigMap's data (its values, and binaryData's decoded bytes) may hold 1 MiB in all:
 *    kubernetes pkg/apis/core/validation/validation.go, ValidateConfigMap, against
 *    core.MaxSecretSize ("[]: Too long: must have at most 1048576 bytes");
 *  - the API server reads a write's body up to 3 MiB (k8s.io/apiserver pkg/server/config.go,
 *    NewConfig, MaxRequestBodyBytes), and an apply carries the whole object as JSON;
 *  - etcd refuses a request over its --max-request-bytes, 1.5 MiB by default (etcd embed/config.go,
 *    DefaultMaxRequestBytes, which the same NewConfig comment names), and the object is stored as
 *    protobuf, somewhat smaller than its JSON: past 1.5 MiB of JSON it may or may not fit.
 *
 * Only the objects that name nodes grow with the cluster: a wave's switch DaemonSet and its gate
 * ConfigMap (the wave's nodes), and the newcomers' DaemonSet (every node of the inventory). The
 * default waves keep a wave's objects far below (a quarter of 5,000 nodes with names of 253
 * characters is 318 KB); explicit waves of thousands of nodes with long names, or an inventory of
 * more than about 6,000 such names, reach them, and the step would fail at its sync, mid-migration,
 * instead of at `plan`.
 */
import { GATE_WAVE_CONFIGMAP_PREFIX, NODE_SET_LABEL } from '../kube/names';
import type { Finding } from './findings';

/** core.MaxSecretSize, the cap on a ConfigMap's data and binaryData together. */
export const CONFIGMAP_DATA_LIMIT_BYTES = 1_048_576;
/** The API server's default MaxRequestBodyBytes. */
export const REQUEST_BODY_LIMIT_BYTES = 3 * 1024 * 1024;
/** etcd's default --max-request-bytes. */
export const ETCD_REQUEST_LIMIT_BYTES = 1_572_864;

/** What a rendered object of ours looks like to this check. */
export interface RenderedObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly data?: Record<string, string>;
  readonly binaryData?: Record<string, string>;
}

/** The bytes ValidateConfigMap counts: each data value as UTF-8, each binaryData value decoded from base64. */
export function configMapDataBytes(obj: RenderedObject): number {
  let n = 0;
  for (const v of Object.values(obj.data ?? {})) n += Buffer.byteLength(v);
  for (const v of Object.values(obj.binaryData ?? {})) n += Buffer.from(v, 'base64').length;
  return n;
}

/**
 * A finding for `obj` (written to dist/`file`, `jsonBytes` bytes as JSON) when the API server
 * would refuse it (an error) or etcd may (a warning); undefined when it fits.
 */
export function objectLimitFinding(obj: RenderedObject, file: string, jsonBytes: number): Finding | undefined {
  // A ConfigMap's data is part of its JSON: one under the etcd limit needs no closer look.
  if (jsonBytes <= ETCD_REQUEST_LIMIT_BYTES && (obj.kind !== 'ConfigMap' || jsonBytes <= CONFIGMAP_DATA_LIMIT_BYTES)) return undefined;
  const what = `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name} (dist/${file})`;
  const dataBytes = obj.kind === 'ConfigMap' ? configMapDataBytes(obj) : 0;
  const base = { code: 'object-over-api-limit', ...shrink(obj) };
  if (dataBytes > CONFIGMAP_DATA_LIMIT_BYTES) {
    return { ...base, severity: 'error', message: `${what} holds ${bytes(dataBytes)} bytes of data, over the ${bytes(CONFIGMAP_DATA_LIMIT_BYTES)} the API server accepts in one ConfigMap: the step's sync would fail` };
  }
  if (jsonBytes > REQUEST_BODY_LIMIT_BYTES) {
    return { ...base, severity: 'error', message: `${what} is ${bytes(jsonBytes)} bytes as JSON, over the ${bytes(REQUEST_BODY_LIMIT_BYTES)} the API server reads from one request: the step's sync would fail` };
  }
  if (jsonBytes > ETCD_REQUEST_LIMIT_BYTES) {
    return { ...base, severity: 'warning', code: 'object-near-etcd-limit', message: `${what} is ${bytes(jsonBytes)} bytes as JSON, over the ${bytes(ETCD_REQUEST_LIMIT_BYTES)} etcd accepts in one request by default (--max-request-bytes); stored as protobuf it is smaller and may still fit` };
  }
  return undefined;
}

/** How to make `obj` smaller: it names the nodes of one wave, or of the whole inventory. */
function shrink(obj: RenderedObject): Pick<Finding, 'fix' | 'field'> {
  const set = obj.metadata.labels?.[NODE_SET_LABEL];
  const wave = /^wave-(\d+)$/.exec(set ?? '')?.[1] ?? (obj.kind === 'ConfigMap' ? new RegExp(`^${GATE_WAVE_CONFIGMAP_PREFIX}-(\\d+)-`).exec(obj.metadata.name)?.[1] : undefined);
  if (wave !== undefined) {
    return { field: 'spec.nodes', fix: `split wave ${wave}, whose nodes this object names: a lower spec.nodes.waveStrategy.maxWaveSize, or fewer nodes in spec.nodes.waves[${Number(wave) - 1}]` };
  }
  return { fix: set === 'newcomers'
    ? 'no setting makes it smaller: it names every node of the inventory (the nodes a newcomer is not); a cluster this large, with names this long, is beyond what one object can name'
    : 'report it: this object was not expected to grow with the cluster' };
}

function bytes(n: number): string {
  return n.toLocaleString('en-US');
}
