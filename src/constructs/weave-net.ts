/**
 * Weave Net's objects (DaemonSet, RBAC, ServiceAccount), adopted from cluster/weave so the GitOps
 * engine owns them: removing them from a later step prunes them, and a revert brings them back.
 * Which of them GitOps owns is the step model's decision (model/adopted-objects.ts).
 */
import { Construct } from 'constructs';
import type { KubeObject } from '../kube/objects';
import { AdoptedObjects } from './adopted-objects';

export interface WeaveNetProps {
  /** Weave's objects that GitOps owns. */
  readonly objects: readonly KubeObject[];
}

export class WeaveNet extends Construct {
  constructor(scope: Construct, id: string, props: WeaveNetProps) {
    super(scope, id);
    new AdoptedObjects(this, 'Objects', { objects: props.objects });
  }
}
