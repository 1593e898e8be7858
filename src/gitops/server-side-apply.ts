/**
 * Argo CD applies client-side by default, and a client-side apply cannot store a large object.
 *
 * `kubectl apply` (client-side) writes the whole object, as JSON, into its own annotation
 * kubectl.kubernetes.io/last-applied-configuration (k8s.io/kubectl pkg/util/apply.go,
 * GetModifiedConfiguration), and the API server refuses an object whose annotations, keys and values
 * together, pass 256 KiB: "metadata.annotations: Too long: must have at most 262144 bytes"
 * (k8s.io/apimachinery pkg/api/validation/objectmeta.go, TotalAnnotationSizeLimitB and
 * ValidateAnnotationsSize). An object of ours that names nodes grows with the cluster: the
 * newcomers' switch DaemonSet names every node of the inventory, a wave's DaemonSet and its gate
 * ConfigMap name the wave's nodes. At 5,000 nodes with long cloud names, one of them passes 256 KiB
 * and its step can never sync.
 *
 * Such an object carries the sync option ServerSideApply=true, which Argo CD honours per object
 * (gitops-engine pkg/sync/sync_context.go, shouldUseServerSideApply, used by applyObject for hooks
 * and resources alike): a server-side apply keeps no such annotation, and the object is bounded
 * only by the API server's request size. Flux always applies server-side (kustomize-controller), so
 * nothing changes there.
 */
import { ARGO_SYNC_OPTIONS } from './keep-on-prune';

/** The API server's cap on an object's annotations (TotalAnnotationSizeLimitB: 256 KiB). */
export const ANNOTATIONS_LIMIT_BYTES = 262_144;

/**
 * Objects whose JSON is larger are applied server-side. Half the cap: the copy in the annotation
 * comes on top of the object's own annotations, and Argo CD adds its tracking annotation or label
 * to what it applies; half leaves room for those and for an inventory that grows between snapshots.
 */
export const SERVER_SIDE_APPLY_ABOVE_BYTES = ANNOTATIONS_LIMIT_BYTES / 2;

export const SERVER_SIDE_APPLY = 'ServerSideApply=true';

interface RenderedMetadata {
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * The bytes of `obj` as kubectl stores it: Go's encoding/json, which writes <, > and & as \u003c,
 * \u003e and \u0026 (HTML-safe escaping, on by default in json.Marshal and json.Encoder).
 */
export function lastAppliedBytes(obj: unknown): number {
  const json = JSON.stringify(obj);
  let escaped = 0;
  for (let i = json.indexOf('&'); i >= 0; i = json.indexOf('&', i + 1)) escaped++;
  for (let i = json.indexOf('<'); i >= 0; i = json.indexOf('<', i + 1)) escaped++;
  for (let i = json.indexOf('>'); i >= 0; i = json.indexOf('>', i + 1)) escaped++;
  return Buffer.byteLength(json) + 5 * escaped;
}

/**
 * Whether `obj` (as rendered; `jsonBytes`, its size when already known) is too large for a
 * client-side apply, so that it must carry ServerSideApply=true. Decided before its YAML is
 * written, so that a large object (the newcomers' DaemonSet names every node) is written once: its
 * JSON costs a fraction of its YAML.
 */
export function needsServerSideApply(obj: unknown, jsonBytes = lastAppliedBytes(obj)): boolean {
  return jsonBytes > SERVER_SIDE_APPLY_ABOVE_BYTES;
}

/**
 * `obj` with ServerSideApply=true first among its Argo CD sync options (the others kept), its
 * metadata and annotations keys in the sorted order cdk8s renders them in.
 */
export function withServerSideApply<T extends { metadata: RenderedMetadata }>(obj: T): T {
  const annotations = obj.metadata.annotations ?? {};
  const options = (annotations[ARGO_SYNC_OPTIONS] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (options.includes(SERVER_SIDE_APPLY)) return obj;
  const merged = { ...annotations, [ARGO_SYNC_OPTIONS]: [SERVER_SIDE_APPLY, ...options].join(',') };
  const metadata = sortedRecord({ ...obj.metadata, annotations: sortedRecord(merged) });
  // Keep the top-level order (apiVersion, kind, metadata, then the rest) by replacing in place.
  const out = {} as T;
  for (const k of Object.keys(obj) as (keyof T)[]) out[k] = k === 'metadata' ? (metadata as T[keyof T]) : obj[k];
  return out;
}

function sortedRecord<V>(record: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(record).sort()) out[k] = record[k];
  return out;
}
