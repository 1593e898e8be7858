/**
 * Reading a vendored upstream calico.yaml (spec.calico.manifest) at synth time.
 */
import * as fs from 'fs';
import * as jsYaml from 'js-yaml';
import type { KubeObject } from '../../kube/objects';
import { InputError } from '../../config/errors';

const FIELD = 'spec.calico.manifest';

/** Every object of the manifest, in file order (`kind: List` items expanded, empty documents skipped). */
export function readCalicoManifest(file: string, shownAs: string): KubeObject[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(shownAs, FIELD, `cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'a readable calico.yaml');
  }
  let docs: unknown[];
  try {
    docs = jsYaml.loadAll(text, undefined, { filename: file, schema: jsYaml.CORE_SCHEMA });
  } catch (e) {
    const err = e as jsYaml.YAMLException;
    throw new InputError(shownAs, FIELD, `${file} is not valid YAML${err.mark ? ` (line ${err.mark.line + 1})` : ''}: ${err.reason ?? err.message}`, 'an upstream calico.yaml');
  }
  const out: KubeObject[] = [];
  const add = (d: unknown, where: string) => {
    const o = d as Partial<KubeObject> | null;
    if (o === null || o === undefined) return;
    if (typeof o !== 'object' || Array.isArray(o) || typeof o.kind !== 'string' || typeof o.apiVersion !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new InputError(shownAs, FIELD, `${file}: ${where} is not a Kubernetes object (apiVersion, kind, metadata.name)`, 'an upstream calico.yaml');
    }
    out.push(o as KubeObject);
  };
  docs.forEach((d, i) => {
    const o = d as { kind?: string; items?: unknown[] } | null;
    if (o && o.kind === 'List' && Array.isArray(o.items)) o.items.forEach((item, j) => add(item, `document ${i + 1}, item ${j + 1}`));
    else add(d, `document ${i + 1}`);
  });
  if (out.length === 0) throw new InputError(shownAs, FIELD, `${file} holds no objects`, 'an upstream calico.yaml');
  return out;
}
