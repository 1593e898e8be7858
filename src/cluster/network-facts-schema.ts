/**
 * The JSON Schema of cluster/network.yaml, the NetworkFacts `cni-migrate snapshot` writes: the
 * Weave and service CIDRs it found, and where it found them (take-snapshot.ts).
 */

const text = (description: string) => ({ type: 'string', minLength: 1, description } as const);

export const NETWORK_FACTS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  description: 'the NetworkFacts written by `cni-migrate snapshot`',
  properties: {
    apiVersion: { const: 'cni-migrate.io/v1alpha1', description: 'cni-migrate.io/v1alpha1' },
    kind: { const: 'NetworkFacts', description: 'NetworkFacts' },
    // Compared, as written, with spec.network's CIDRs (network-plan.ts), which are checked CIDRs.
    weaveCIDR: text('a CIDR such as 10.32.0.0/12'),
    weaveCIDRSource: text('where the snapshot found the Weave CIDR'),
    serviceCIDR: text('a CIDR such as 10.96.0.0/12'),
    serviceCIDRSource: text('where the snapshot found the service CIDR'),
  },
} as const;
