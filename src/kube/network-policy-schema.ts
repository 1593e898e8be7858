/**
 * A strict schema of networking.k8s.io/v1 NetworkPolicy as cluster/ holds it (server fields
 * stripped), from the Kubernetes API reference (NetworkPolicySpec, NetworkPolicyPeer,
 * NetworkPolicyPort, IPBlock, LabelSelector). Unlike the published OpenAPI, every object refuses
 * unknown fields, so a typo (`policyTypez`) is caught at synth instead of being dropped or
 * refused by the API server when the engine applies it.
 */
import { DNS_LABEL, DNS_SUBDOMAIN } from './names';

const IPV4_CIDR = '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$';
// IPv6 is checked by ipaddr.js downstream; here only its shape.
const CIDR = `${IPV4_CIDR}|^[0-9a-fA-F.]*:[0-9a-fA-F:.]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$`;

const stringMap = { type: 'object', additionalProperties: { type: 'string' }, description: 'a map of strings' } as const;

const labelSelector = {
  type: 'object',
  additionalProperties: false,
  description: 'a label selector (matchLabels, matchExpressions)',
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      description: 'a list of label selector requirements',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        description: 'a requirement with key, operator and values',
        properties: {
          key: { type: 'string', minLength: 1, description: 'a label key' },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'], description: 'In | NotIn | Exists | DoesNotExist' },
          values: { type: 'array', items: { type: 'string', description: 'a label value' }, description: 'a list of values' },
        },
      },
    },
  },
} as const;

const peer = {
  type: 'object',
  additionalProperties: false,
  description: 'a peer (podSelector, namespaceSelector, ipBlock)',
  properties: {
    podSelector: labelSelector,
    namespaceSelector: labelSelector,
    ipBlock: {
      type: 'object',
      additionalProperties: false,
      required: ['cidr'],
      description: 'an ipBlock with cidr and except',
      properties: {
        cidr: { type: 'string', pattern: CIDR, description: 'a CIDR such as 10.0.0.0/8' },
        except: { type: 'array', items: { type: 'string', pattern: CIDR, description: 'a CIDR such as 10.0.1.0/24' }, description: 'a list of CIDRs' },
      },
    },
  },
} as const;

const port = {
  type: 'object',
  additionalProperties: false,
  description: 'a port (protocol, port, endPort)',
  properties: {
    protocol: { enum: ['TCP', 'UDP', 'SCTP'], description: 'TCP | UDP | SCTP' },
    port: { anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 15 }], description: 'a port number or a port name' },
    endPort: { type: 'integer', minimum: 1, maximum: 65535, description: 'a port number' },
  },
} as const;

const rule = (peers: 'from' | 'to') => ({
  type: 'object',
  additionalProperties: false,
  description: `a rule with ${peers} and ports`,
  properties: {
    [peers]: { type: 'array', items: peer, description: 'a list of peers' },
    ports: { type: 'array', items: port, description: 'a list of ports' },
  },
});

export const NETWORK_POLICY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  description: 'a NetworkPolicy',
  properties: {
    apiVersion: { const: 'networking.k8s.io/v1', description: 'networking.k8s.io/v1' },
    kind: { const: 'NetworkPolicy', description: 'NetworkPolicy' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'namespace'],
      description: 'metadata with name and namespace',
      properties: {
        name: { type: 'string', pattern: DNS_SUBDOMAIN, description: 'a DNS subdomain name' },
        namespace: { type: 'string', pattern: DNS_LABEL, description: 'a namespace name (DNS label)' },
        labels: stringMap,
        annotations: stringMap,
        ownerReferences: { type: 'array', description: 'a list of owner references' },
        finalizers: { type: 'array', items: { type: 'string', description: 'a finalizer' }, description: 'a list of finalizers' },
      },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['podSelector'],
      description: 'a NetworkPolicySpec (podSelector, policyTypes, ingress, egress)',
      properties: {
        podSelector: labelSelector,
        policyTypes: { type: 'array', items: { enum: ['Ingress', 'Egress'], description: 'Ingress | Egress' }, description: 'a list of policy types' },
        ingress: { type: 'array', items: rule('from'), description: 'a list of ingress rules' },
        egress: { type: 'array', items: rule('to'), description: 'a list of egress rules' },
      },
    },
  },
} as const;
