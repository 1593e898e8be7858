/**
 * The scripts of synthesized Jobs and DaemonSets, ready to run outside a cluster: the switch step of a node,
 * and, for any container, the text of the script it runs, read from the ConfigMap its mount names
 * (as the kubelet would mount it), so a Job whose ConfigMap is missing fails here too.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';

type Obj = Record<string, any>;

export interface SwitchStep {
  readonly job: string;
  readonly script: string;
  readonly env: Record<string, string>;
}

/**
 * The text `container` of `pod` runs: inline (`sh -c TEXT`), or the file under one of its mounts,
 * from the ConfigMap in `objects` that the mount's volume names. Throws when any link is missing.
 */
export function containerScript(container: Obj, pod: Obj, objects: readonly Obj[], namespace = 'kube-system'): string {
  const cmd = container.command as string[];
  if (cmd[1] === '-c') return cmd[2];
  const file = cmd[1];
  const mount = (container.volumeMounts ?? []).find((m: Obj) => file.startsWith(`${m.mountPath}/`));
  if (!mount) throw new Error(`container ${container.name} runs ${file}, which no volume mount provides`);
  const volume = (pod.volumes ?? []).find((v: Obj) => v.name === mount.name);
  if (!volume?.configMap) throw new Error(`container ${container.name}: mount ${mount.name} has no ConfigMap volume`);
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name && (o.metadata.namespace ?? 'default') === namespace);
  const text = cm?.data?.[file.slice(mount.mountPath.length + 1)];
  if (text === undefined) throw new Error(`container ${container.name}: ConfigMap ${namespace}/${volume.configMap.name} is not in the output or lacks ${file}`);
  return text;
}

/** Every object of a dist/ layer folder. */
function layerObjects(dir: string): Obj[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => YAML.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

/**
 * The `switch` container of the DaemonSet in `distDir` that converges `node` to the given desired
 * state, with NODE_NAME as the downward API gives it on that node.
 */
export function switchStepOf(distDir: string, node: string, desired: string): SwitchStep {
  const dir = path.join(distDir, '40-nodes');
  const objects = layerObjects(dir);
  for (const ds of switchSetsByNode(objects, [node]).get(node)!) {
    if (ds.metadata.labels['cni-migrate.io/desired'] !== desired) continue;
    const pod = ds.spec.template.spec;
    const sw = stepsOf(ds).find((c: any) => c.name === 'switch');
    const env = Object.fromEntries(sw.env.map((e: any) => [e.name, e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName' ? node : e.value]));
    return { job: ds.metadata.name, script: containerScript(sw, pod, objects), env };
  }
  throw new Error(`no ${desired} switch DaemonSet for ${node} in ${dir}`);
}

/**
 * The node-switch DaemonSets of `objects` that select each inventory node, as the DaemonSet
 * controller would place their pods: by the `metadata.name` field of the required node affinity
 * (In: the named nodes; NotIn: the others; none: every node).
 */
export function switchSetsByNode(objects: readonly Obj[], inventory: readonly string[]): Map<string, Obj[]> {
  const out = new Map<string, Obj[]>(inventory.map((n) => [n, []]));
  for (const ds of objects.filter((o) => o.kind === 'DaemonSet' && o.metadata.labels?.['app.kubernetes.io/component'] === 'node-switch')) {
    const byName = ds.spec.template.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0];
    const selected = !byName ? inventory : byName.operator === 'In' ? inventory.filter((n) => byName.values.includes(n)) : inventory.filter((n) => !byName.values.includes(n));
    for (const n of selected) out.get(n)!.push(ds);
  }
  return out;
}

/** Every container of a pod template, in the order they run. */
export function stepsOf(o: Obj): Obj[] {
  return [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers];
}
