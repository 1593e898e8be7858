/**
 * JSON Schema of migration.yaml (validated with Ajv).
 *
 * Every object forbids unknown properties, so a typo is an error rather than a silently ignored
 * setting. Each leaf carries a `description` phrased as "what is allowed": the error formatter
 * prints it next to the bad value. Checks that need more than JSON Schema (CIDR parsing, node
 * names that must exist, step names) live in `load.ts`.
 */

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const DNS_SUBDOMAIN = '^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/**
 * A container image reference that is pinned: registry/repository with a tag other than
 * `latest`, and/or a sha256 digest (the docker reference grammar, simplified).
 */
export const PINNED_IMAGE =
  '^(?!.*:latest(@|$))[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)+' +
  '((:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$';

const image = (what: string) => ({
  type: 'string',
  pattern: PINNED_IMAGE,
  description: `a pinned image reference for ${what}: registry/repository:tag (not :latest) or @sha256:<digest>`,
});

const cidr = (example: string) => ({
  type: 'string',
  description: `an IPv4 CIDR such as ${example}`,
});

const positiveInt = (what: string) => ({
  type: 'integer',
  minimum: 1,
  maximum: 100000,
  description: `a whole number from 1 to 100000 (${what})`,
});

export const MIGRATION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'cni-migrate.io/v1alpha1', description: 'cni-migrate.io/v1alpha1' },
    kind: { const: 'Migration', description: 'Migration' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        // Bootstrap objects are named cni-migrate-<name>-<layer>; Flux puts that name in a label
        // value on every object it applies, and label values stop at 63 characters.
        name: { type: 'string', pattern: DNS_LABEL, maxLength: 30, description: 'a DNS label of at most 30 characters (lowercase letters, digits, "-")' },
      },
      description: 'a mapping with a name',
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['step', 'gitops', 'network'],
      description: 'a mapping',
      properties: {
        step: { type: 'string', minLength: 1, description: 'a step name (see `cni-migrate steps`)' },
        gitops: {
          type: 'object',
          additionalProperties: false,
          required: ['engine', 'repoURL'],
          description: 'a mapping with engine and repoURL',
          properties: {
            engine: { enum: ['argocd', 'flux'], description: 'argocd | flux' },
            repoURL: {
              type: 'string',
              pattern: '^(https?://[^\\s]+|ssh://[^\\s]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\\s]+)$',
              description: 'a git URL: https://host/repo.git, ssh://git@host/repo.git or git@host:repo.git',
            },
            revision: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$', description: 'a branch, tag or commit (no spaces)' },
            path: {
              type: 'string',
              pattern: '^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]+$',
              description: 'a path inside the repository, relative, without ".."',
            },
            namespace: { type: 'string', pattern: DNS_LABEL, description: 'a namespace name (DNS label)' },
            project: { type: 'string', pattern: DNS_SUBDOMAIN, description: 'an Argo CD project name' },
            retryRefresh: { type: 'boolean', description: 'true or false' },
          },
        },
        network: {
          type: 'object',
          additionalProperties: false,
          required: ['serviceCIDR'],
          description: 'a mapping with at least serviceCIDR',
          properties: {
            weaveCIDR: cidr('10.32.0.0/12'),
            serviceCIDR: cidr('10.96.0.0/12'),
            calicoCIDR: cidr('10.48.0.0/12'),
          },
        },
        controlPlane: {
          type: 'object',
          additionalProperties: false,
          required: ['mode'],
          description: 'a mapping with mode',
          properties: {
            mode: { enum: ['kubeadm', 'managed'], description: 'kubeadm | managed' },
            disableNodeCidrAllocation: { type: 'boolean', description: 'true or false' },
          },
        },
        nodes: {
          type: 'object',
          additionalProperties: false,
          description: 'a mapping',
          properties: {
            waves: {
              type: 'array',
              minItems: 1,
              description: 'a non-empty list of waves, each a non-empty list of node names',
              items: {
                type: 'array',
                minItems: 1,
                description: 'a non-empty list of node names',
                items: { type: 'string', pattern: DNS_SUBDOMAIN, description: 'a node name' },
              },
            },
            waveStrategy: {
              type: 'object',
              additionalProperties: false,
              description: 'a mapping of canary, growthFactor, maxWaveSize, controlPlaneWaveSize',
              properties: {
                canary: positiveInt('nodes in the first wave'),
                growthFactor: { type: 'number', minimum: 1, maximum: 100, description: 'a number from 1 to 100' },
                maxWaveSize: {
                  oneOf: [positiveInt('largest wave'), { type: 'string', pattern: '^([1-9][0-9]?|100)%$' }],
                  description: 'a whole number of nodes from 1, or a share of the workers from 1% to 100% such as "25%"',
                },
                controlPlaneWaveSize: positiveInt('control-plane nodes per wave'),
              },
            },
            drain: { type: 'boolean', description: 'true or false' },
            drainTimeoutSeconds: { type: 'integer', minimum: 30, maximum: 86400, description: 'seconds, from 30 to 86400' },
            maxConcurrentDrains: {
              oneOf: [positiveInt('nodes drained at once'), { type: 'string', pattern: '^([1-9][0-9]?|100)%$' }],
              description: 'a whole number of nodes from 1, or a share of the nodes from 1% to 100% such as "5%"',
            },
            restartDaemonSetPods: { type: 'boolean', description: 'true or false' },
            restartKubelet: { type: 'boolean', description: 'true or false' },
          },
        },
        calico: {
          type: 'object',
          additionalProperties: false,
          description: 'a mapping',
          properties: {
            version: {
              type: 'string',
              pattern: '^v3\\.(2[89]|[3-9][0-9])\\.(0|[1-9][0-9]*)$',
              description: 'a Calico release tag v3.28.0 or newer, such as v3.28.5',
            },
            images: {
              type: 'object',
              additionalProperties: false,
              description: 'a mapping of node, cni, kubeControllers, typha',
              properties: {
                node: image('calico/node'),
                cni: image('calico/cni'),
                kubeControllers: image('calico/kube-controllers'),
                typha: image('calico/typha'),
              },
            },
            ipipMode: { enum: ['Always', 'CrossSubnet'], description: 'Always | CrossSubnet' },
            mtu: { type: 'integer', minimum: 0, maximum: 9000, description: '0 (auto-detect) or a veth MTU from 1280 to 9000' },
            manifest: { type: 'string', minLength: 1, description: 'a path to calico.yaml, relative to migration.yaml' },
            ipAutodetectionMethod: {
              type: 'string',
              pattern: '^(kubernetes-internal-ip|(interface|skip-interface|cidr|can-reach)=\\S+)$',
              description: 'kubernetes-internal-ip, interface=<regex,...>, skip-interface=<regex,...>, cidr=<cidr,...> or can-reach=<address> (not first-found, which can pick the weave bridge)',
            },
            iptablesBackend: { enum: ['Legacy', 'NFT'], description: 'Legacy | NFT (the backend kube-proxy uses)' },
            nodeMTU: { type: 'integer', minimum: 1280, maximum: 9216, description: 'the node network MTU, from 1280 to 9216' },
          },
        },
        policies: {
          type: 'object',
          additionalProperties: false,
          description: 'a mapping',
          properties: {
            rewriteIPBlocks: { type: 'boolean', description: 'true or false' },
            rewrite: {
              type: 'object',
              description: 'a mapping of IPv4 CIDR to IPv4 CIDR',
              additionalProperties: { type: 'string', description: 'an IPv4 CIDR' },
            },
            acknowledge: {
              type: 'array',
              uniqueItems: true,
              description: 'a list of NetworkPolicies as namespace/name',
              items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', description: 'a NetworkPolicy as namespace/name' },
            },
          },
        },
        probe: {
          type: 'object',
          additionalProperties: false,
          description: 'a mapping with enabled, maxLossPercent, tunnelPeers',
          properties: {
            enabled: { type: 'boolean', description: 'true or false' },
            maxLossPercent: { type: 'number', minimum: 0, maximum: 100, description: 'a percentage from 0 to 100' },
            tunnelPeers: { type: 'integer', minimum: 1, maximum: 50, description: 'a number of nodes from 1 to 50' },
          },
        },
        images: {
          type: 'object',
          additionalProperties: false,
          description: 'a mapping of shell, kubectl, netTools',
          properties: {
            shell: image('the node-file Jobs (needs /bin/sh)'),
            kubectl: image('the API Jobs (needs kubectl)'),
            netTools: image('the Weave cleanup Jobs (needs sh, ip, iptables)'),
          },
        },
      },
    },
  },
} as const;
