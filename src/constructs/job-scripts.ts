/**
 * The scripts Jobs run, shipped once per layer rather than inlined in every Job: one ConfigMap
 * per script, named after its layer and its content, mounted read-only where a Job runs it.
 *
 * Inlined, a node-switch Job was 14 KB (most of it node-switch.sh), so 5,000 nodes made 60 to 180
 * MB of manifests a step, far past what Argo CD's repo server takes from one directory
 * (reposerver.max.combined.directory.manifests.size, 10M by default). The name carries the
 * content digest: a changed script is a new ConfigMap and, through the volume that names it, a
 * new Job (a Job's pod template is immutable), while a Job whose script did not change keeps its
 * name and is never re-created.
 */
import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { KubeConfigMap, type Volume, type VolumeMount } from '../../imports/k8s';
import { readScript, scriptDigest } from '../scripts/read-script';

/** The folder under which each script is mounted, in a folder of its own. */
export const SCRIPTS_DIR = '/cni-migrate';

const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'job-script' } as const;

/** A script as one container runs it: its command, mount and the pod volume behind the mount. */
export interface ScriptUse {
  /** `/bin/sh <path>`: the image's shell runs it, whatever the file's mode. */
  readonly command: string[];
  readonly mount: VolumeMount;
  readonly volume: Volume;
}

const stem = (script: string) => script.replace(/\.sh$/, '');

/** Name of the ConfigMap that holds `script` for the Jobs of `layer`. */
export function scriptConfigMapName(layer: string, script: string): string {
  return `cni-migrate-${layer}-${stem(script)}-${scriptDigest(script).slice(0, 8)}`;
}

/**
 * `script` (a file of src/scripts) for a container of a Job in `namespace`. Its ConfigMap is
 * created once under `owner`: the Chart of a layer, or the construct whose objects must travel
 * together (the gate's, which are all Argo CD PreSync hooks).
 */
export function useScript(owner: Construct, script: string, namespace: string): ScriptUse {
  const name = scriptConfigMapName(Chart.of(owner).node.id, script);
  const id = `script-${stem(script)}-${namespace}`;
  if (!owner.node.tryFindChild(id)) {
    new KubeConfigMap(owner, id, { metadata: { name, namespace, labels: { ...LABELS } }, data: { [script]: readScript(script) } });
  }
  const volume = `script-${stem(script)}`;
  return {
    command: ['/bin/sh', `${SCRIPTS_DIR}/${stem(script)}/${script}`],
    mount: { name: volume, mountPath: `${SCRIPTS_DIR}/${stem(script)}`, readOnly: true },
    volume: { name: volume, configMap: { name } },
  };
}
