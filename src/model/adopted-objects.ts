/**
 * Which of Weave's captured objects GitOps owns (the NetworkPolicies as restored are in
 * policy-restore.ts).
 */
import type { KubeObject } from '../kube/objects';

/**
 * The Weave objects GitOps may own: all but the weave-net ConfigMap (the peer list), which Weave
 * creates at runtime; owning it would fight Weave, and the cleanup deletes it instead.
 */
export function ownedWeaveObjects(objects: readonly KubeObject[]): KubeObject[] {
  return objects.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'weave-net'));
}
