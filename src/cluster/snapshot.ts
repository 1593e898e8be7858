/**
 * cluster/: what synth knows about the live cluster. `cni-migrate snapshot` writes it; synth only
 * reads it, so CI and reviewers see every input.
 *
 * Layout (all files YAML, one object per file, sorted and stable):
 *   nodes.yaml                                  NodeInventory (see inventory-schema.ts)
 *   weave/<kind>-<namespace>-<name>.yaml        Weave's objects, as applied, server fields stripped
 *   networkpolicies/<namespace>/<name>.yaml     every NetworkPolicy, server fields stripped (a name past
 *                                               255 bytes is shortened: util/file-name.ts)
 *   control-plane/kube-proxy-configmap.yaml     ConfigMap kube-system/kube-proxy (kubeadm)
 *   control-plane/kube-proxy-daemonset.yaml     DaemonSet kube-system/kube-proxy
 *   control-plane/kubeadm-config.yaml           ConfigMap kube-system/kubeadm-config (kubeadm)
 *   control-plane/kube-controller-manager/<node>.yaml   its mirror pod on each control-plane node
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../config/errors';
import { formatSchemaError } from '../config/schema-errors';
import { inputValidator } from '../config/schema-validator';
import { readObjectFile } from '../config/yaml-file';
import { isSymlink } from '../util/repo-paths';
import { fileNameWithin } from '../util/file-name';
import { containerFlags } from '../kube/control-plane-facts';
import { isWeaveObject, WEAVE_OBJECTS } from '../kube/weave-objects';
import { Cidr } from '../network/cidr';
import { cmp, notMigratable, type ClusterSnapshot, type GitOpsFacts, type InventoryReconciliation, type KubeObject, type NetworkFacts, type NodeInfo } from '../kube/objects';

/** Written into networkpolicies/ by every snapshot, so the folder exists in git with no policies too. */
export const CAPTURED_MARKER = '.captured';

const validateInventory = inputValidator('inventory');
const validatePolicy = inputValidator('networkPolicy');
const validateCapturedObject = inputValidator('capturedObject');
const validateNetworkFacts = inputValidator('networkFacts');

/** Read cluster/ from `dir`. `shownAs` is how errors name the folder. */
export function loadClusterSnapshot(dir: string, shownAs: string = dir): ClusterSnapshot {
  if (isSymlink(dir)) throw new InputError(shownAs, '(folder)', 'is a symbolic link; inputs are read from inside the repository only', 'the cluster/ folder written by `cni-migrate snapshot`');
  if (!isDir(dir)) {
    throw new InputError(shownAs, '(folder)', 'folder not found', 'the cluster/ folder written by `cni-migrate snapshot`');
  }
  const nodesShown = path.join(shownAs, 'nodes.yaml');
  const inventory = readObjectFile(path.join(dir, 'nodes.yaml'), nodesShown);
  const { nodes, otherNodes } = splitInventory(parseNodeInventory(inventory, nodesShown));
  const inventoryReconciled = (inventory as { reconciled?: InventoryReconciliation }).reconciled;
  if (nodes.length === 0) {
    throw new InputError(nodesShown, 'nodes', `none of the ${otherNodes.length} node(s) can migrate (${otherNodes.map((n) => `${n.name}: ${notMigratable(n)}`).slice(0, 3).join(', ')})`, 'at least one Linux node with a kubelet of its own');
  }

  const controllerManagers = new Map<string, KubeObject>();
  for (const { obj, shown } of readObjectDir(path.join(dir, 'control-plane', 'kube-controller-manager'), path.join(shownAs, 'control-plane', 'kube-controller-manager'))) {
    checkControllerManager(obj, shown);
    const nodeName = (obj.spec as { nodeName?: string } | undefined)?.nodeName ?? obj.metadata.name.replace(/^kube-controller-manager-/, '');
    controllerManagers.set(nodeName, obj);
  }
  if (isSymlink(path.join(dir, 'control-plane'))) {
    throw new InputError(path.join(shownAs, 'control-plane'), '(folder)', 'is a symbolic link; inputs are read from inside the repository only', 'the folder `cni-migrate snapshot` writes');
  }
  const cpFile = (name: string) => {
    const f = path.join(dir, 'control-plane', name);
    return fs.existsSync(f) ? checkObject(readObjectFile(f, path.join(shownAs, 'control-plane', name)), path.join(shownAs, 'control-plane', name)) : undefined;
  };

  const optional = (name: string) => {
    const f = path.join(dir, name);
    return fs.existsSync(f) ? (readObjectFile(f, path.join(shownAs, name)) as Record<string, unknown> | null) : undefined;
  };
  const ns = optional('namespaces.yaml') as { namespaces?: unknown } | undefined | null;
  if (ns && !(Array.isArray(ns.namespaces) && ns.namespaces.every((n) => typeof n === 'string'))) {
    throw new InputError(path.join(shownAs, 'namespaces.yaml'), 'namespaces', 'not a list of names', 'the NamespaceList written by `cni-migrate snapshot`');
  }
  const facts = optional('network.yaml');
  // Only an empty file (null) counts as absent: `false` or `0` is no NetworkFacts either.
  if (facts !== null && facts !== undefined && !validateNetworkFacts(facts)) throw formatSchemaError(path.join(shownAs, 'network.yaml'), validateNetworkFacts.errors![0], facts);
  const gitopsFacts = checkGitOpsFacts(optional('gitops.yaml'), path.join(shownAs, 'gitops.yaml'));
  const weaveObjects = readObjectDir(path.join(dir, 'weave'), path.join(shownAs, 'weave')).map(({ obj, shown }) => checkWeaveObject(obj, shown));
  return {
    dir: shownAs,
    captured: { networkPolicies: isDir(path.join(dir, 'networkpolicies')), weave: weaveObjects.some((o) => o.kind === 'DaemonSet') },
    ...(inventoryReconciled ? { inventoryReconciled } : {}),
    namespaces: ns ? (ns.namespaces as string[]) : undefined,
    networkFacts: (facts as NetworkFacts | null | undefined) ?? undefined,
    ...(gitopsFacts ? { gitopsFacts } : {}),
    nodes,
    ...(otherNodes.length ? { otherNodes } : {}),
    weaveObjects,
    networkPolicies: readObjectDir(path.join(dir, 'networkpolicies'), path.join(shownAs, 'networkpolicies'), checkPolicy).map(({ obj, shown, rel }) => checkPolicyFile(obj, shown, rel)),
    controlPlane: {
      kubeProxyConfigMap: cpFile('kube-proxy-configmap.yaml'),
      kubeProxyDaemonSet: cpFile('kube-proxy-daemonset.yaml'),
      kubeadmConfig: cpFile('kubeadm-config.yaml'),
      controllerManagers,
    },
  };
}

/** Validate a parsed nodes.yaml; `shownAs` names it in errors. Nodes come back sorted by name. */
export function parseNodeInventory(inv: unknown, shownAs: string): NodeInfo[] {
  if (!validateInventory(inv)) {
    throw formatSchemaError(shownAs, validateInventory.errors![0], inv);
  }
  const listed = (inv as { nodes: NodeInfo[] }).nodes;
  const seen = new Set<string>();
  const nodes: NodeInfo[] = [];
  for (let i = 0; i < listed.length; i++) {
    const n = listed[i];
    if (seen.has(n.name)) {
      throw new InputError(shownAs, `nodes[${i}].name`, `"${n.name}" is listed twice`, 'each node once');
    }
    seen.add(n.name);
    nodes.push(normalizedNode(n));
  }
  // The snapshot writes the nodes sorted; sort only an inventory edited out of order.
  let sorted = true;
  for (let i = 1; i < nodes.length && sorted; i++) sorted = nodes[i - 1].name < nodes[i].name;
  return sorted ? nodes : nodes.sort((a, b) => cmp(a.name, b.name));
}

/**
 * A node with its defaults filled in, every field set in one order: thousands of nodes of one
 * shape keep every later per-node pass on V8's fast path (a spread copy of the parsed mapping
 * gives each node its own layout, and the passes over 5,000 of them ran several times slower).
 */
function normalizedNode(n: NodeInfo): NodeInfo {
  const node: { -readonly [K in keyof NodeInfo]: NodeInfo[K] } = {
    name: n.name,
    roles: [...n.roles].sort(),
    internalIP: n.internalIP,
    podCIDRs: n.podCIDRs ?? [],
    containerRuntime: n.containerRuntime,
    taints: n.taints ?? [],
  };
  if (n.cniConfigFiles !== undefined) node.cniConfigFiles = n.cniConfigFiles;
  if (n.providerID !== undefined) node.providerID = n.providerID;
  if (n.os !== undefined) node.os = n.os;
  if (n.virtualKubelet !== undefined) node.virtualKubelet = n.virtualKubelet;
  return node;
}

/** The inventory split into the nodes that migrate and the others (notMigratable), in one pass. */
export function splitInventory(all: readonly NodeInfo[]): { nodes: NodeInfo[]; otherNodes: NodeInfo[] } {
  const nodes: NodeInfo[] = [];
  const otherNodes: NodeInfo[] = [];
  for (const n of all) (notMigratable(n) === undefined ? nodes : otherNodes).push(n);
  return { nodes, otherNodes };
}

/** A snapshot that knows only the nodes (what `guard` reads from git). */
export function nodesOnlySnapshot(all: readonly NodeInfo[], shownAs: string): ClusterSnapshot {
  return { dir: shownAs, ...splitInventory(all), weaveObjects: [], networkPolicies: [], controlPlane: { controllerManagers: new Map() } };
}

/** Every *.yaml under `dir` (recursively, sorted), each holding one object. Missing dir = none. */
function readObjectDir(dir: string, shownAs: string, check: (x: unknown, shown: string) => KubeObject = checkObject): { obj: KubeObject; shown: string; rel: string; key: string }[] {
  if (isSymlink(dir)) throw new InputError(shownAs, '(folder)', 'is a symbolic link; inputs are read from inside the repository only', 'the folder `cni-migrate snapshot` writes');
  if (!isDir(dir)) return [];
  // Each object's sort key is made once: the sort compares tens of thousands of policies.
  const out: { obj: KubeObject; shown: string; rel: string; key: string }[] = [];
  for (const rel of listYaml(dir, shownAs)) {
    const shown = path.join(shownAs, rel);
    const obj = check(readObjectFile(path.join(dir, rel), shown), shown);
    out.push({ obj, shown, rel, key: `${obj.kind}\u0000${obj.metadata.namespace ?? ''}\u0000${obj.metadata.name}` });
  }
  out.sort((a, b) => cmp(a.key, b.key));
  for (let i = 1; i < out.length; i++) {
    if (out[i].key === out[i - 1].key) {
      const o = out[i].obj;
      throw new InputError(out[i].shown, 'metadata', `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} is also in ${out[i - 1].shown}`, 'each object once');
    }
  }
  return out;
}

/** Relative paths of the *.yaml files under `dir`; a symlink anywhere is refused (it could point outside). */
function listYaml(dir: string, shownAs: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => cmp(a.name, b.name))) {
    const rel = prefix ? path.join(prefix, e.name) : e.name;
    if (e.isSymbolicLink()) throw new InputError(path.join(shownAs, rel), '(file)', 'is a symbolic link; inputs are read from regular files inside the repository only', 'the files `cni-migrate snapshot` writes');
    if (e.isDirectory()) out.push(...listYaml(dir, shownAs, rel));
    else if (/\.ya?ml$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** Only the objects a snapshot captures for Weave: the rest would be applied with the engine's rights. */
function checkWeaveObject(obj: KubeObject, shown: string): KubeObject {
  if (!isWeaveObject(obj)) {
    throw new InputError(shown, '(object)', `${obj.apiVersion} ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name} is not one of Weave Net's objects`,
      `only what \`cni-migrate snapshot\` captures: ${WEAVE_OBJECTS.map((w) => `${w.kind} ${w.namespace ? `${w.namespace}/` : ''}${w.name}`).join(', ')}`);
  }
  return obj;
}

/** A NetworkPolicy as the API server would accept it (a stricter check than checkObject's). */
function checkPolicy(x: unknown, shown: string): KubeObject {
  if (!validatePolicy(x)) throw formatSchemaError(shown, validatePolicy.errors![0], x);
  return x as KubeObject;
}

/** A NetworkPolicy in the file its namespace and name give. */
function checkPolicyFile(obj: KubeObject, shown: string, rel: string): KubeObject {
  const want = path.join(obj.metadata.namespace!, fileNameWithin(obj.metadata.name));
  if (rel !== want) {
    throw new InputError(shown, 'metadata', `NetworkPolicy ${obj.metadata.namespace}/${obj.metadata.name} is in the file for ${rel.replace(/\.ya?ml$/, '')}`, `the file networkpolicies/${want}, as \`cni-migrate snapshot\` writes it`);
  }
  return obj;
}

/** A controller-manager mirror pod with a command, and a --cluster-cidr that is a list of CIDRs. */
function checkControllerManager(obj: KubeObject, shown: string): void {
  const containers = ((obj.spec as { containers?: { name?: string; command?: unknown; args?: unknown }[] } | undefined)?.containers ?? []);
  const c = containers.find((x) => x.name === 'kube-controller-manager') ?? containers[0];
  const words = [...(Array.isArray(c?.command) ? c.command : []), ...(Array.isArray(c?.args) ? c.args : [])];
  if (!c || words.length === 0 || !words.every((w) => typeof w === 'string')) {
    throw new InputError(shown, 'spec.containers[kube-controller-manager].command', 'missing or not a list of strings', 'the mirror pod of kube-controller-manager, with its command line');
  }
  const cidrs = containerFlags(c as { command?: string[]; args?: string[] }).get('cluster-cidr');
  if (cidrs === undefined) return;
  for (const v of cidrs.split(',')) {
    try {
      if (!v.includes(':')) Cidr.parse(v);
    } catch (e) {
      throw new InputError(shown, 'kube-controller-manager --cluster-cidr', `got ${JSON.stringify(cidrs)}: ${(e as Error).message}`, 'a comma-separated list of CIDRs such as 10.244.0.0/16');
    }
  }
}

/** One captured object, with the fields synth reads of the types the API server gives them. */
function checkObject(x: unknown, shown: string): KubeObject {
  if (!validateCapturedObject(x)) throw formatSchemaError(shown, validateCapturedObject.errors![0], x);
  return x as KubeObject;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/** gitops.yaml as `cni-migrate snapshot` writes it, or undefined when the file is absent. */
function checkGitOpsFacts(raw: Record<string, unknown> | null | undefined, shown: string): GitOpsFacts | undefined {
  if (raw === undefined) return undefined;
  const allowed = 'the GitOpsFacts written by `cni-migrate snapshot`';
  if (!raw || typeof raw !== 'object' || raw.kind !== 'GitOpsFacts') throw new InputError(shown, 'kind', `got ${JSON.stringify(raw?.kind)}`, allowed);
  const flux = raw.flux as Record<string, unknown> | undefined;
  if (flux === undefined) return {};
  if (!flux || typeof flux !== 'object' || typeof flux.namespace !== 'string') throw new InputError(shown, 'flux.namespace', `got ${JSON.stringify(flux?.namespace)}`, allowed);
  const image = flux.kustomizeControllerImage;
  if (image !== undefined && typeof image !== 'string') throw new InputError(shown, 'flux.kustomizeControllerImage', `got ${JSON.stringify(image)}`, allowed);
  return { flux: { namespace: flux.namespace, ...(image !== undefined ? { kustomizeControllerImage: image } : {}) } };
}
