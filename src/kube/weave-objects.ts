/**
 * The objects of Weave Net that `cni-migrate snapshot` captures into cluster/weave, and nothing
 * else: synth adopts what is there and the engine applies it with its own (usually
 * cluster-admin) rights, so any other object in that folder is refused rather than applied.
 * Names from weaveworks/weave prog/weave-kube/weave-daemonset-k8s-1.11.yaml.
 */

export interface WeaveObjectRef {
  readonly kind: string;
  readonly apiVersion: string;
  /** Namespace; undefined for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly name: string;
}

export const WEAVE_NAMESPACE = 'kube-system';

export const WEAVE_OBJECTS: readonly WeaveObjectRef[] = [
  { kind: 'DaemonSet', apiVersion: 'apps/v1', namespace: WEAVE_NAMESPACE, name: 'weave-net' },
  { kind: 'ServiceAccount', apiVersion: 'v1', namespace: WEAVE_NAMESPACE, name: 'weave-net' },
  { kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', name: 'weave-net' },
  { kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', name: 'weave-net' },
  { kind: 'Role', apiVersion: 'rbac.authorization.k8s.io/v1', namespace: WEAVE_NAMESPACE, name: 'weave-net' },
  { kind: 'RoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', namespace: WEAVE_NAMESPACE, name: 'weave-net' },
  { kind: 'ConfigMap', apiVersion: 'v1', namespace: WEAVE_NAMESPACE, name: 'weave-net' },
];

/** Whether `o` is one of the objects the snapshot captures for Weave. */
export function isWeaveObject(o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): boolean {
  return WEAVE_OBJECTS.some((w) => w.kind === o.kind && w.apiVersion === o.apiVersion && w.name === o.metadata.name && w.namespace === o.metadata.namespace);
}
