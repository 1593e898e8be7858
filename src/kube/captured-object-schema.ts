/**
 * The JSON Schema of an object synth keeps whole and reads parts of: one captured under
 * cluster/control-plane and cluster/weave, as `cni-migrate snapshot` writes it from the API (server
 * fields stripped), or one of a vendored Calico manifest. The schema allows every field, but pins
 * the type of each field synth reads (metadata, containers' name, image, command, args and env, a
 * ConfigMap's data) to the type the API server gives it (Kubernetes API reference: ObjectMeta,
 * Container, EnvVar, ConfigMap). A hand-edited file with another type there is one refusal naming
 * the field, not a crash deep in the plan. An optional field may be null, which the API server
 * reads as absent: Weave's own manifest has `env:` with nothing under it (weaveworks/weave v2.8.1,
 * prog/weave-kube/weave-daemonset-k8s-1.11.yaml, the weave-init container), and a cluster/ made
 * from that manifest keeps it.
 */

const nonEmptyString = (description: string) => ({ type: 'string', minLength: 1, description } as const);

const stringMap = (what: string) => ({ type: ['object', 'null'], additionalProperties: { type: 'string', description: `a string (${what} values are strings)` }, description: `a map of strings (${what})` } as const);

const stringList = (what: string) => ({ type: ['array', 'null'], items: { type: 'string', description: `a string (one word of ${what})` }, description: `a list of strings (${what})` } as const);

const container = {
  type: 'object',
  required: ['name'],
  description: 'a container (name, image, command, args, env, …)',
  properties: {
    name: nonEmptyString('the container name'),
    image: { type: ['string', 'null'], description: 'the image reference' },
    command: stringList('the command'),
    args: stringList('the arguments'),
    env: {
      type: ['array', 'null'],
      description: 'a list of environment variables (name with value or valueFrom)',
      items: {
        type: 'object',
        required: ['name'],
        description: 'an environment variable (name with value or valueFrom)',
        properties: {
          name: nonEmptyString('the variable name'),
          value: { type: ['string', 'null'], description: 'the value, a string (quote numbers)' },
          valueFrom: { type: ['object', 'null'], description: 'a source (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef)' },
        },
      },
    },
  },
} as const;

// The API server refuses a pod or pod template without a container ("spec.containers: Required value").
const containers = { type: 'array', minItems: 1, items: container, description: 'a list of at least one container' } as const;

const podSpec = {
  type: 'object',
  description: 'a pod spec',
  properties: {
    nodeName: { type: ['string', 'null'], description: 'a node name' },
    containers,
    initContainers: { ...containers, type: ['array', 'null'], minItems: 0, description: 'a list of containers' },
  },
} as const;

export const CAPTURED_OBJECT_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  description: 'one Kubernetes object, as `cni-migrate snapshot` writes it',
  properties: {
    apiVersion: nonEmptyString('an apiVersion such as v1 or apps/v1'),
    kind: nonEmptyString('a kind such as Pod or DaemonSet'),
    metadata: {
      type: 'object',
      required: ['name'],
      description: 'metadata with the object name',
      properties: {
        name: nonEmptyString('the object name'),
        namespace: nonEmptyString('a namespace name'),
        labels: stringMap('labels'),
        annotations: stringMap('annotations'),
      },
    },
    // A Pod's spec is a pod spec; a DaemonSet's holds one in its template.
    spec: {
      type: 'object',
      description: 'the object spec',
      properties: {
        ...podSpec.properties,
        template: {
          type: 'object',
          description: 'a pod template (metadata, spec)',
          properties: { metadata: { type: 'object', description: 'the pod template metadata' }, spec: podSpec },
        },
      },
    },
    data: stringMap('ConfigMap data'),
    binaryData: stringMap('ConfigMap binaryData, base64'),
  },
} as const;
