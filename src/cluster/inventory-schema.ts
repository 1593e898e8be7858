/**
 * The JSON Schema of cluster/nodes.yaml, the NodeInventory `cni-migrate snapshot` writes: every
 * node the migration knows, with what synth needs of it.
 */
import { DNS_SUBDOMAIN } from '../kube/names';

const NODE_NAME_LIST = { type: 'array', items: { type: 'string', pattern: DNS_SUBDOMAIN, description: 'a node name' }, description: 'a list of node names' };

export const NODE_INVENTORY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'nodes'],
  properties: {
    apiVersion: { const: 'cni-migrate.io/v1alpha1', description: 'cni-migrate.io/v1alpha1' },
    kind: { const: 'NodeInventory', description: 'NodeInventory' },
    reconciled: {
      type: 'object',
      additionalProperties: false,
      required: ['atStep', 'removed', 'added', 'leftToNewcomers'],
      description: 'what `cni-migrate snapshot --nodes-only` changed: atStep, removed, added, leftToNewcomers',
      properties: {
        atStep: { type: 'string', description: 'a step name' },
        removed: NODE_NAME_LIST,
        added: NODE_NAME_LIST,
        leftToNewcomers: NODE_NAME_LIST,
      },
    },
    nodes: {
      type: 'array',
      minItems: 1,
      description: 'a non-empty list of nodes',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'roles', 'internalIP', 'containerRuntime'],
        description: 'a node with name, roles, internalIP and containerRuntime',
        properties: {
          name: { type: 'string', pattern: DNS_SUBDOMAIN, description: 'a node name (DNS subdomain)' },
          roles: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', description: 'a role name' }, description: 'a list of role names' },
          internalIP: { type: 'string', description: 'the node InternalIP (IPv4)' },
          podCIDRs: { type: 'array', maxItems: 2, items: { type: 'string', description: 'an IPv4 CIDR' }, description: 'a list of CIDRs' },
          containerRuntime: { type: 'string', pattern: '^[a-z0-9.-]+://\\S+$', description: 'runtime://version, e.g. containerd://1.7.24' },
          taints: {
            type: 'array',
            description: 'a list of taints',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['key', 'effect'],
              description: 'a taint with key and effect',
              properties: {
                key: { type: 'string', minLength: 1, description: 'a taint key' },
                value: { type: 'string', description: 'a taint value' },
                effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'], description: 'NoSchedule | PreferNoSchedule | NoExecute' },
              },
            },
          },
          cniConfigFiles: { type: 'array', items: { type: 'string', pattern: '^[^/]+$', description: 'a file name' }, description: 'a list of file names' },
          providerID: { type: 'string', description: 'Node.spec.providerID' },
          os: { type: 'string', pattern: '^[a-z0-9]+$', description: 'the label kubernetes.io/os, such as linux or windows' },
          virtualKubelet: { type: 'boolean', description: 'true for a virtual kubelet (label type=virtual-kubelet)' },
        },
      },
    },
  },
} as const;
