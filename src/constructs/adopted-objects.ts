/**
 * Objects that already exist in the cluster and that the migration takes ownership of, emitted as
 * they were captured in cluster/, so the GitOps engine tracks them (and can prune them later, or
 * bring them back on revert).
 */
import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import { Construct } from 'constructs';
import type { KubeObject } from '../kube/objects';

export interface AdoptedObjectsProps {
  /** The objects, as read from cluster/. */
  readonly objects: readonly KubeObject[];
}

export class AdoptedObjects extends Construct {
  /** The emitted objects, in input order. */
  public readonly apiObjects: readonly ApiObject[];

  constructor(scope: Construct, id: string, props: AdoptedObjectsProps) {
    super(scope, id);
    this.apiObjects = props.objects.map((obj) => {
      const { apiVersion, kind, metadata, ...rest } = obj;
      // The construct id only has to be unique; the object keeps its own name and namespace.
      return new ApiObject(this, `${kind}.${metadata.namespace ?? ''}.${metadata.name}`, {
        apiVersion,
        kind,
        metadata: metadata as ApiObjectMetadata,
        ...rest,
      });
    });
  }
}
