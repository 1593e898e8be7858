/**
 * Weave Net's objects (DaemonSet, RBAC, ServiceAccount), adopted from cluster/weave so the GitOps
 * engine owns them: removing them from a later step prunes them, and a revert brings them back.
 */
import { Construct } from 'constructs';
import type { KubeObject } from '../cluster/snapshot';
import { AdoptedObjects } from './adopted-objects';

export interface WeaveNetProps {
  /** Weave's objects as captured by the snapshot. */
  readonly objects: readonly KubeObject[];
}

export class WeaveNet extends Construct {
  constructor(scope: Construct, id: string, props: WeaveNetProps) {
    super(scope, id);
    new AdoptedObjects(this, 'Objects', { objects: ownedWeaveObjects(props.objects) });
  }
}

/**
 * The Weave objects GitOps may own: all but the weave-net ConfigMap (the peer list), which Weave
 * creates at runtime; owning it would fight Weave, and the cleanup deletes it instead.
 */
export function ownedWeaveObjects(objects: readonly KubeObject[]): KubeObject[] {
  return objects.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'weave-net'));
}
