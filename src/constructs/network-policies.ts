/**
 * The cluster's NetworkPolicies, owned by the migration: the step model says which are present at
 * a step and how they read (ipBlock rewrites once restored); this emits them.
 */
import { Construct } from 'constructs';
import type { KubeObject } from '../kube/objects';
import { AdoptedObjects } from './adopted-objects';

export interface NetworkPoliciesProps {
  /** The policies as the step applies them (see model/step-model.ts). */
  readonly policies: readonly KubeObject[];
}

export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    new AdoptedObjects(this, 'Policies', { objects: props.policies });
  }
}
