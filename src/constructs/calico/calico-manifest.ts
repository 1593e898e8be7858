/**
 * Reading a vendored upstream calico.yaml (spec.calico.manifest) at synth time.
 */
import * as path from 'path';
import * as jsYaml from 'js-yaml';
import type { KubeObject } from '../../kube/objects';
import { InputError, showValue } from '../../config/errors';
import { formatSchemaError } from '../../config/schema-errors';
import { inputValidator } from '../../config/schema-validator';
import { assertBounded, readInputText } from '../../config/yaml-file';

const FIELD = 'spec.calico.manifest';

/**
 * What a Calico manifest install (calico.yaml, with or without Typha) holds, from upstream's
 * manifests/calico.yaml and calico-typha.yaml of 3.28 to 3.32. Anything else (a Secret, a
 * Namespace, a webhook) is not Calico's and would be applied with the engine's rights.
 */
const CALICO_MANIFEST_KINDS = new Set(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'DaemonSet', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);

// The same check as cluster/'s captured objects: the fields synth reads and patches (calico-node's
// containers and env, the images, calico-config's data) have the types the API server gives them.
const validateObject = inputValidator('capturedObject');

/** Every object of the manifest, in file order (`kind: List` items expanded, empty documents skipped). */
export function readCalicoManifest(file: string, shownAs: string): KubeObject[] {
  const text = readInputText(file, shownAs, FIELD, 'a readable calico.yaml, a regular file inside the repository');
  let docs: unknown[];
  try {
    docs = jsYaml.loadAll(text, undefined, { filename: file, schema: jsYaml.CORE_SCHEMA });
  } catch (e) {
    const err = e as jsYaml.YAMLException;
    throw new InputError(shownAs, FIELD, `${file} is not valid YAML${err.mark ? ` (line ${err.mark.line + 1})` : ''}: ${err.reason ?? err.message}`, 'an upstream calico.yaml');
  }
  // The same alias-expansion budget as every other input (js-yaml shares aliases; later copies do not).
  docs.forEach((d) => assertBounded(d, path.relative(process.cwd(), file) || file, 'an upstream calico.yaml'));
  const out: KubeObject[] = [];
  const add = (d: unknown, where: string) => {
    const o = d as Partial<KubeObject> | null;
    if (o === null || o === undefined) return;
    if (typeof o !== 'object' || Array.isArray(o) || typeof o.kind !== 'string' || typeof o.apiVersion !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new InputError(shownAs, FIELD, `${file}: ${where} is not a Kubernetes object (apiVersion, kind, metadata.name)`, 'an upstream calico.yaml');
    }
    const object = `${o.kind} ${o.metadata.name}`;
    if (!validateObject(o)) {
      const e = formatSchemaError(file, validateObject.errors![0], o);
      throw new InputError(shownAs, FIELD, `${file}: ${where} (${object}): ${e.field || '(document)'}: ${e.problem}`, e.allowed);
    }
    out.push(o as KubeObject);
  };
  docs.forEach((d, i) => {
    const o = d as { kind?: string; items?: unknown[] } | null;
    if (o && o.kind === 'List' && Array.isArray(o.items)) o.items.forEach((item, j) => add(item, `document ${i + 1}, item ${j + 1}`));
    else add(d, `document ${i + 1}`);
  });
  if (out.length === 0) throw new InputError(shownAs, FIELD, `${file} holds no objects`, 'an upstream calico.yaml');
  const roles = new Set(out.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').map((o) => `${o.kind}/${o.metadata.name}`));
  for (const o of out) {
    const name = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
    if (!CALICO_MANIFEST_KINDS.has(o.kind)) {
      throw new InputError(shownAs, FIELD, `${file} holds ${name}, which is not part of a Calico manifest install`, `only ${[...CALICO_MANIFEST_KINDS].join(', ')}`);
    }
    if (!CLUSTER_SCOPED.has(o.kind) && (o.metadata.namespace ?? 'kube-system') !== 'kube-system') {
      throw new InputError(shownAs, FIELD, `${file} holds ${name} outside kube-system`, 'the objects of a Calico manifest install, all in kube-system');
    }
    // A binding may grant only the roles the manifest itself defines (never cluster-admin).
    const ref = (o as { roleRef?: { kind?: string; name?: string } }).roleRef;
    if ((o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && !roles.has(`${ref?.kind}/${ref?.name}`)) {
      const shown = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '?' : showValue(v));
      throw new InputError(shownAs, FIELD, `${file}: ${name} grants ${shown(ref?.kind)} ${shown(ref?.name)}, which the manifest does not define`, 'bindings to the roles the Calico manifest defines');
    }
  }
  return out;
}
