/**
 * A GitOps simulator: applies synthesized dist/ folders one after another with prune semantics,
 * runs every newly created Job, and the pod of each of our DaemonSets on every node it selects
 * when the DaemonSet is new or its template changed (its rolling update), with the real scripts
 * (busybox sh) against a per-node CNI config folder, and models the two DaemonSets of the networks
 * that write into that folder:
 *  - Weave's init container creates 10-weave.conflist when it is missing;
 *  - Calico's install-cni writes CNI_CONF_NAME (in place) and deletes CNI_OLD_CONF_NAME
 *    (default 10-calico.conflist) when the names differ.
 * Only the node-file side is simulated; the API-side steps of a Job (wait, drain) are checked for
 * their preconditions (calico-node must exist for a calico-first switch).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { runInImage, type ImageName } from './image-tools';
import { containerScript } from './jobs';


export const WEAVE_CONFLIST = '{"cniVersion":"0.3.0","name":"weave","plugins":[{"name":"weave","type":"weave-net","hairpinMode":true},{"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}\n';

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
  data?: Record<string, string>;
}

const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** What the control plane looks like before the migration. */
export interface ControlPlaneSeed {
  /** API objects (kube-proxy's ConfigMap and DaemonSet, kubeadm-config). */
  readonly objects: readonly Obj[];
  /** Control-plane node → text of its kube-controller-manager static pod manifest. */
  readonly manifests: Readonly<Record<string, string>>;
}

export interface JobRun {
  readonly job: string;
  readonly node: string;
  readonly code: number;
  readonly log: string;
}

/** What an engine made of one commit (applyAs). */
export interface EngineApply {
  /** Runs that failed, in order. */
  readonly failed: readonly JobRun[];
  /** The gate refused the step: nothing else of it was applied. */
  readonly refused?: JobRun;
  /**
   * The layer the engine still waits on (a sync wave for Argo CD, a Kustomization for Flux), and
   * why; absent when every layer was applied and is healthy (the step reached its state).
   */
  readonly waitingAt?: { readonly layer: string; readonly unhealthy: readonly string[] };
  /** Argo CD: the objects it pruned (kind/namespace/name), in the order it deleted them. */
  readonly pruned?: readonly string[];
}

export class GitOpsSimulator {
  /** Node name → its /etc/cni/net.d. */
  public readonly nodeDirs = new Map<string, string>();
  /** Every Job run, in order. */
  public readonly runs: JobRun[] = [];
  private live = new Map<string, Obj>();
  /** The objects of the folder being applied (a Job's ConfigMap may come in the same apply). */
  private applying: Obj[] = [];
  private readonly root: string;
  /** The fake API server's objects (for the control-plane Jobs). */
  private readonly store: string;
  /** Per control-plane node, its /etc/kubernetes/manifests. */
  private readonly kubelet: string;

  /** Nodes whose calico-node is running but not Ready (a fault a test injects); the API shows it. */
  public readonly calicoNotReady = new Set<string>();
  /** Per object (kind/namespace/name): the nodes its last runs failed on; absent when healthy. */
  private unhealthy = new Map<string, Set<string>>();
  /** Name prefixes of Jobs and DaemonSets whose next pod fails once (an injected fault). */
  private failOnce = new Set<string>();
  /** Per live object, the dist/ layer it came from (Flux prunes per Kustomization). */
  private layerOf = new Map<string, string>();
  /** Networks seen right after an injected crash, which must never be NONE or BROKEN. */
  public readonly afterCrash: { job: string; node: string; network: string }[] = [];
  /**
   * With opts.workloads: per node, the network of its one workload pod (shop/app-<node>). A pod
   * keeps the IP it started with (containerd's CRI plugin runs CNI ADD only when it creates the
   * sandbox: RunPodSandbox, setupPodNetwork in pkg/cri/server/sandbox_run.go; shared/research/
   * harness.md shows it on real containerd: a pod created before the switch keeps its Weave IP),
   * so it moves to another network only when evicted: a drain that succeeds, after which it starts
   * again on the network its node then loads. The gates list these pods (PodList.json), as they
   * would list the API's.
   */
  public readonly workloads = new Map<string, string>();

  /**
   * @param opts.crashAt every Job's first attempt runs the script with a crash point N (see
   *   withCrashPoints) and is killed there; the Job's retry then runs the plain script
   */
  /**
   * skipGates: record every gate as passed without running it, for tests about the node scripts
   * alone (the crash-point walks), which run hundreds of steps.
   */
  constructor(nodes: readonly string[], private readonly opts: { crashAt?: number; controlPlane?: ControlPlaneSeed; skipControlPlaneJobs?: boolean; skipGates?: boolean; workloads?: boolean } = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-sim-'));
    this.store = path.join(this.root, '.api');
    this.kubelet = path.join(this.root, '.manifests');
    fs.mkdirSync(this.store);
    fs.writeFileSync(path.join(this.store, 'calls.log'), '');
    for (const o of opts.controlPlane?.objects ?? []) {
      fs.writeFileSync(path.join(this.store, `${o.kind}.${o.metadata.namespace ?? 'default'}.${o.metadata.name}.json`), JSON.stringify(o, null, 2));
    }
    for (const [node, text] of Object.entries(opts.controlPlane?.manifests ?? {})) {
      fs.mkdirSync(path.join(this.kubelet, node), { recursive: true });
      fs.writeFileSync(path.join(this.kubelet, node, 'kube-controller-manager.yaml'), text);
    }
    for (const n of nodes) {
      const dir = path.join(this.root, n);
      fs.mkdirSync(dir);
      // A Weave node before the migration: Weave's conflist and nothing else.
      fs.writeFileSync(path.join(dir, '10-weave.conflist'), WEAVE_CONFLIST);
      this.nodeDirs.set(n, dir);
      // Its Node object, which the drain steps cordon, mark and uncordon through the stand-in kubectl.
      fs.writeFileSync(path.join(this.store, `Node.default.${n}.json`), JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: n, annotations: {} }, spec: {} }, null, 2));
      if (opts.workloads) this.workloads.set(n, this.loadedNetwork(n));
    }
    if (opts.workloads) this.publishWorkloads();
  }

  /** The workload pods as the API lists them: IPs in Weave's 10.32.0.0/12 or Calico's 10.48.0.0/12 (the demo's ranges). */
  private publishWorkloads(): void {
    const base: Record<string, string> = { weave: '10.32', 'k8s-pod-network': '10.48' };
    this.setPods([...this.workloads].map(([node, net], i) => ({
      metadata: { namespace: 'shop', name: `app-${node}`, labels: { app: 'shop' } },
      spec: { nodeName: node },
      status: { phase: 'Running', podIP: `${base[net] ?? '192.0'}.${Math.floor(i / 250)}.${(i % 250) + 2}` },
    })));
  }

  /** The operator deletes the workload pods of `nodes`: each starts again on the network its node loads. */
  restartWorkloads(...nodes: string[]): void {
    for (const n of nodes) this.workloads.set(n, this.loadedNetwork(n));
    this.publishWorkloads();
  }

  /**
   * Every pod of our DaemonSets starts again (nodes rebooted, pods evicted or deleted): the
   * kubelet runs its init containers again from the first. Returns the failed runs.
   */
  restartPods(): JobRun[] {
    return this.liveObjects('DaemonSet').filter(isOurSet).flatMap((ds) => this.nodesOf(ds).map((n) => this.runSetPod(ds, n))).filter((r) => r.code !== 0);
  }

  /** Set fields of a node's spec (unschedulable: a cordon by someone else). */
  setNode(name: string, spec: Obj): void {
    const f = path.join(this.store, `Node.default.${name}.json`);
    const node = JSON.parse(fs.readFileSync(f, 'utf8'));
    node.spec = { ...node.spec, ...spec };
    fs.writeFileSync(f, JSON.stringify(node, null, 2));
  }

  /** A PodDisruptionBudget that forbids every eviction on `name`: its drain fails at the timeout. */
  blockDrain(name: string): void {
    fs.writeFileSync(path.join(this.store, `Node.default.${name}.json.drain-blocked`), '');
  }

  /** The stand-in API's calls so far (one per line: the kubectl arguments). */
  apiCalls(): string[] {
    return fs.readFileSync(path.join(this.store, 'calls.log'), 'utf8').split('\n').filter(Boolean);
  }

  dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  /**
   * Apply a dist/ folder: the gate first (a failed gate applies nothing, as a failed Argo CD
   * PreSync hook or Flux's first layer would), then the layers in order, then prune what it no
   * longer holds; Weave's cleanup Jobs run last, once Weave's pods are gone. Returns failed runs.
   */
  apply(distDir: string): JobRun[] {
    const desired = readDist(distDir);
    this.applying = desired;
    const failed: JobRun[] = [];
    const isNew = (o: Obj) => o.kind === 'Job' && !this.live.has(key(o));
    for (const gate of desired.filter((o) => isNew(o) && isGate(o))) {
      const r = this.opts.skipGates ? this.record(gate, '(gate)', 0, 'skipped') : this.runGate(gate);
      if (r.code !== 0) return [r];
    }
    const cleanups: Obj[] = [];
    for (const o of desired) failed.push(...this.applyObject(o, cleanups));
    const names = new Set(desired.map(key));
    for (const [k, o] of [...this.live]) if (!names.has(k) && !keptOnPrune(o)) this.live.delete(k);
    for (const o of cleanups) {
      const runs = isOurSet(o) ? this.nodesOf(o).map((n) => this.runCleanup(o, n)) : [this.runCleanup(o, o.spec.template.spec.nodeName)];
      failed.push(...runs.filter((r) => r.code !== 0));
    }
    return failed;
  }

  /**
   * Make `o` live and do what creating or changing it does: Weave's and Calico's DaemonSets write
   * their files, a new or changed DaemonSet of ours runs its pod on every node it selects (its
   * rolling update), a new Job runs. Cleanups (which wait for Weave to be gone) are collected in
   * `cleanups` for the caller; gates and the Weave delete Job are the caller's. Returns failed runs.
   */
  private applyObject(o: Obj, cleanups: Obj[]): JobRun[] {
    const before = this.live.get(key(o));
    this.live.set(key(o), o);
    if (o.kind === 'DaemonSet' && o.metadata.name === 'weave-net' && !before) this.weaveInit();
    if (o.kind === 'DaemonSet' && o.metadata.name === 'calico-node' && JSON.stringify(before) !== JSON.stringify(o)) this.installCni();
    if (isOurSet(o) && JSON.stringify(before?.spec.template) !== JSON.stringify(o.spec.template)) {
      if (containerNames(o).includes('cleanup')) cleanups.push(o);
      else return this.nodesOf(o).map((n) => this.runPod(o, n)).filter((r) => r.code !== 0);
    }
    if (o.kind === 'Job' && !before) {
      // A Job created anew (a new name, or one deleted by hand or by a janitor) has no history.
      this.unhealthy.delete(key(o));
      if (containerNames(o).includes('cleanup')) cleanups.push(o);
      else if (!isGate(o) && !containerNames(o).includes('delete-weave')) {
        const r = this.runJob(o);
        if (r.code !== 0) return [r];
      }
    }
    return [];
  }

  /**
   * A node joins: the DaemonSets running now write their files first (Weave's init container,
   * Calico's install-cni; calico-node turns Ready), then every DaemonSet of ours that selects it
   * runs its pod there. Returns the failed runs.
   */
  addNode(name: string, labels: Record<string, string> = {}): JobRun[] {
    const dir = path.join(this.root, name);
    fs.mkdirSync(dir);
    this.nodeDirs.set(name, dir);
    fs.writeFileSync(path.join(this.store, `Node.default.${name}.json`), JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name, annotations: {}, labels }, spec: {} }, null, 2));
    this.weaveInit();
    this.installCni();
    const failed: JobRun[] = [];
    for (const ds of this.liveObjects('DaemonSet').filter(isOurSet)) {
      if (!this.nodesOf(ds).includes(name)) continue;
      const r = this.runSetPod(ds, name);
      if (r.code !== 0) failed.push(r);
    }
    return failed;
  }

  /** A node leaves the cluster (scaled down, replaced): its folder and Node object are gone. */
  removeNode(name: string): void {
    fs.rmSync(this.nodeDirs.get(name)!, { recursive: true, force: true });
    this.nodeDirs.delete(name);
    fs.rmSync(path.join(this.store, `Node.default.${name}.json`), { force: true });
  }

  /**
   * The nodes a DaemonSet places pods on: its required node affinity, matched as the DaemonSet
   * controller does (nodeaffinity.GetRequiredNodeAffinity(pod).Match(node) in
   * kubernetes pkg/controller/daemon/daemon_controller.go): any term, every expression and field
   * of it, against the Node's labels (the kubelet's own included) and metadata.name.
   */
  private nodesOf(ds: Obj): string[] {
    const terms = ds.spec.template.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms as any[] | undefined;
    const matches = (req: any, value: string | undefined) =>
      req.operator === 'In' ? value !== undefined && req.values.includes(value)
        : req.operator === 'NotIn' ? value === undefined || !req.values.includes(value)
          : req.operator === 'Exists' ? value !== undefined : req.operator === 'DoesNotExist' ? value === undefined : false;
    return [...this.nodeDirs.keys()].filter((n) => {
      if (!terms) return true;
      const labels = this.nodeObject(n).metadata.labels as Record<string, string>;
      return terms.some((t) => (t.matchExpressions ?? []).every((e: any) => matches(e, labels[e.key])) && (t.matchFields ?? []).every((f: any) => f.key === 'metadata.name' && matches(f, n)));
    });
  }

  /** The pod of one of our DaemonSets on `node`. */
  private runSetPod(ds: Obj, node: string): JobRun {
    return ds.spec.template.spec.initContainers.some((c: any) => c.name === 'cleanup') ? this.runCleanup(ds, node) : this.runPod(ds, node);
  }

  /** Pods the gate sees (as `kubectl get pods -A -o json` would list them). */
  setPods(pods: Obj[]): void {
    fs.writeFileSync(path.join(this.store, 'PodList.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
  }

  private runGate(job: Obj): JobRun {
    // What the API would show: every node, and a Ready calico-node on each while Calico runs.
    const nodes = [...this.nodeDirs.keys()];
    fs.writeFileSync(path.join(this.store, 'NodeList.json'), JSON.stringify({ items: nodes.map((n) => this.nodeObject(n)) }));
    const calico = this.has('DaemonSet', 'calico-node') ? nodes.map((n) => ({ spec: { nodeName: n }, status: { conditions: [{ type: 'Ready', status: this.calicoNotReady.has(n) ? 'False' : 'True' }] } })) : [];
    fs.writeFileSync(path.join(this.store, 'PodList.k8s-app=calico-node.json'), JSON.stringify({ items: calico }));
    // Our DaemonSets as the cluster runs them now (the step before this one's): the calico gate
    // reads them to tell a revert.
    for (const ds of this.liveObjects('DaemonSet').filter(isOurSet)) fs.writeFileSync(path.join(this.store, `DaemonSet.kube-system.${ds.metadata.name}.json`), JSON.stringify(ds));
    return this.runApiJob(job, '(gate)');
  }

  /** An API-side Job's containers in order (the kubectl image, the stand-in kubectl over the store); the first that fails fails it. */
  private runApiJob(job: Obj, node: string, extraEnv: Record<string, string> = {}): JobRun {
    let log = '';
    for (const c of job.spec.template.spec.containers as any[]) {
      const work = fs.mkdtempSync(path.join(this.root, '.work-'));
      const env = this.mountedEnv(c, job, work);
      const r = runScript(this.scriptOf(c, job), { ...env, ...extraEnv, FAKE_KUBE_STORE: this.store, WORK_DIR: work }, undefined, 'kubectl');
      log += r.log;
      if (r.code !== 0) return this.record(job, node, r.code, log);
    }
    return this.record(job, node, 0, log);
  }

  /** A Node object as stored (annotations, cordon, taints), Ready with room for pods. */
  private nodeObject(n: string): any {
    const f = path.join(this.store, `Node.default.${n}.json`);
    const stored = fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : { metadata: { name: n } };
    // The labels every kubelet sets on itself (kubelet_node_status.go): the gates select Linux nodes.
    const labels = { 'kubernetes.io/hostname': n, 'kubernetes.io/os': 'linux', ...(stored.metadata?.labels ?? {}) };
    return { ...stored, metadata: { ...stored.metadata, labels }, status: { allocatable: { cpu: '8', memory: '32Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] } };
  }

  /**
   * The container's env, with its ConfigMap volumes written out under `work` as the kubelet would
   * mount them (one file per key), and env values that point into a mount pointed there instead.
   */
  private mountedEnv(c: Obj, job: Obj, work: string): Record<string, string> {
    let env: Record<string, string> = Object.fromEntries(((c.env ?? []) as any[]).map((e) => [e.name, e.value]));
    for (const m of (c.volumeMounts ?? []) as any[]) {
      const vol = (job.spec.template.spec.volumes as any[]).find((v) => v.name === m.name);
      if (!vol?.configMap) continue;
      const cm = [...this.applying, ...this.live.values()].find((o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name);
      if (!cm) throw new Error(`ConfigMap ${vol.configMap.name} mounted by ${job.metadata.name} is not applied`);
      const dir = path.join(work, 'mnt', m.mountPath);
      fs.mkdirSync(dir, { recursive: true });
      for (const [k, v] of Object.entries(cm.data ?? {})) fs.writeFileSync(path.join(dir, k), String(v));
      env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith(`${m.mountPath}/`) ? path.join(dir, v.slice(m.mountPath.length + 1)) : v]));
    }
    return env;
  }

  private runCleanup(job: Obj, node: string): JobRun {
    const pod = job.spec.template.spec;
    if (this.has('DaemonSet', 'weave-net')) return this.record(job, node, 1, 'weave-net is still running: wait-for-weave-pod-gone times out');
    const c = [...(pod.initContainers ?? []), ...pod.containers].find((x: any) => x.name === 'cleanup');
    const scratch = path.join(this.root, '.host', node);
    fs.mkdirSync(path.join(scratch, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(scratch, 'weave'), { recursive: true });
    // Only the file part: devices and iptables are covered against a real network namespace elsewhere.
    const r = runScript(this.scriptOf(c, job), { NODE_NAME: node, CNI_DIR: this.nodeDirs.get(node)!, BIN_DIR: path.join(scratch, 'bin'), DATA_DIR: path.join(scratch, 'weave'), NETWORK: '0' }, undefined, 'calico-node');
    return this.record(job, node, r.code, r.log);
  }

  /** Restart every DaemonSet pod: Weave re-creates its file, Calico rewrites its own. */
  restartDaemonSets(): void {
    this.weaveInit();
    this.installCni();
  }

  /** Fault: the next pod of a Job or DaemonSet whose name starts with `prefix` fails (once). */
  failNextRun(prefix: string): void {
    this.failOnce.add(prefix);
  }

  /** The PodDisruptionBudget that blocked drains on `name` is fixed. */
  unblockDrain(name: string): void {
    fs.rmSync(path.join(this.store, `Node.default.${name}.json.drain-blocked`), { force: true });
  }

  /** A janitor deletes every Job that completed (a TTL controller, a cleanup CronJob). Returns their names. */
  deleteCompletedJobs(): string[] {
    const done = this.liveObjects('Job').filter((j) => !this.unhealthy.has(key(j)) && this.runs.some((r) => r.job === j.metadata.name && r.code === 0));
    for (const j of done) this.live.delete(key(j));
    return done.map((j) => j.metadata.name);
  }

  /** Recovery from PLAN.md ("A Job failed"): the operator deletes the failed Jobs, so the next sync creates them anew. */
  deleteFailedJobs(): string[] {
    const failedJobs = this.liveObjects('Job').filter((j) => this.unhealthy.has(key(j)));
    for (const j of failedJobs) this.live.delete(key(j));
    return failedJobs.map((j) => j.metadata.name);
  }

  /** Someone deletes a live object by hand (kubectl delete); a DaemonSet's pods go with it, the node files stay. */
  deleteLive(kind: string, name: string): void {
    for (const [k, o] of [...this.live]) if (o.kind === kind && o.metadata.name === name) this.live.delete(k);
  }

  /** The kubelet retries the failed pods of our DaemonSets (their restartPolicy). Returns the runs that fail again. */
  retryFailedPods(): JobRun[] {
    return this.liveObjects('DaemonSet').filter(isOurSet).flatMap((ds) => [...(this.unhealthy.get(key(ds)) ?? [])].filter((n) => this.nodeDirs.has(n)).map((n) => this.runSetPod(ds, n))).filter((r) => r.code !== 0);
  }

  /** An independent copy of this cluster (its node folders, API objects and live state), to try one commit on. */
  fork(): GitOpsSimulator {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-sim-'));
    fs.cpSync(this.root, root, { recursive: true });
    const remap = (p: string) => path.join(root, path.relative(this.root, p));
    const twin = Object.create(GitOpsSimulator.prototype) as GitOpsSimulator;
    Object.assign(twin, {
      ...this,
      root,
      store: remap(this.store),
      kubelet: remap(this.kubelet),
      nodeDirs: new Map([...this.nodeDirs].map(([n, d]) => [n, remap(d)])),
      runs: [...this.runs],
      live: new Map(this.live),
      applying: [],
      calicoNotReady: new Set(this.calicoNotReady),
      afterCrash: [...this.afterCrash],
      unhealthy: new Map([...this.unhealthy].map(([k, s]) => [k, new Set(s)])),
      failOnce: new Set(this.failOnce),
      layerOf: new Map(this.layerOf),
      workloads: new Map(this.workloads),
    });
    return twin;
  }

  /**
   * Apply a commit's dist/ as `engine` does, layer by layer, stopping where it would wait:
   *
   * Argo CD (gitops-engine pkg/sync/sync_context.go; docs user-guide/sync-waves.md):
   * - the gate is a PreSync hook with BeforeHookCreation: created anew and run at every sync
   *   operation, whatever else changed; when it fails the operation fails and nothing else applies;
   * - sync waves in order; with ApplyOutOfSyncOnly only the objects the commit changed (or that
   *   are missing) are applied, and a wave waits for the health of those alone before the next;
   *   a Failed Job is Degraded (pkg/health/health_job.go), a DaemonSet with a pod not Ready is
   *   Progressing, so the operation stops there;
   * - pruning is part of the waves, not after them (sync_context.go getSyncTasks, "for prune tasks,
   *   modify the waves for proper cleanup i.e reverse of sync wave"): a prune task takes the wave of
   *   the live object, then the distinct prune waves are swapped end for end (the object of the
   *   highest wave is pruned in the lowest prune wave), PruneLast moves it after the last sync wave;
   *   within a wave tasks are ordered by kind and name (sync_tasks.go Less), and a wave prunes even
   *   when a later wave then stops the operation. Prune skips Prune=false (pruneObject);
   * - PostSync hooks run once every wave is done (and not in a selective sync): step-healthy.sh,
   *   against our DaemonSets and Jobs as the API would list them (runPostSync); when it fails the
   *   operation fails, after everything of the step was applied.
   *
   * Flux (kustomize-controller docs/spec/v1/kustomizations.md, "Dependencies", "Wait", "Prune"):
   * - one Kustomization per layer, each dependsOn the one before: a layer applies only once the
   *   one before it is Ready; with wait, Ready means every object of the layer is healthy
   *   (`10-calico` does not wait);
   * - every object of the layer is applied (server-side apply of an unchanged object changes
   *   nothing), so a missing Job is created again; a Job that exists keeps its result (a Failed
   *   one is re-applied unchanged, and never runs again);
   * - each layer prunes what left it, at its own apply, and skips prune: disabled.
   */
  applyAs(engine: 'argocd' | 'flux', distDir: string, opts: { selfHeal?: boolean } = {}): EngineApply {
    const layers = readDistLayers(distDir);
    const desired = layers.flatMap((l) => l.objects);
    this.applying = desired;
    const failed: JobRun[] = [];
    const isHook = (o: Obj) => !!(o.metadata as any).annotations?.['argocd.argoproj.io/hook'];
    const gate = desired.find(isGate);
    // Argo CD applies the PreSync hooks (the gate's ConfigMaps and Job) before anything else (a
    // self-heal's selective sync skips hooks, below).
    const hookRefusals = engine === 'argocd' && !opts.selfHeal ? desired.filter(isHook).map(argoApplyRefusal).filter((r): r is string => !!r) : [];
    if (hookRefusals.length) return { failed: [], waitingAt: { layer: '00-gate', unhealthy: hookRefusals } };
    // Argo CD's self-heal of a revision already synced is a sync of the OutOfSync objects only
    // (argo-cd controller/appcontroller.go autoSync: with alreadyAttempted && selfHeal, each
    // non-Synced resource goes into op.Sync.Resources), and a sync of selected resources skips
    // hooks (gitops-engine pkg/sync/sync_context.go skipHooks: isSelectiveSync): no gate runs.
    if (gate && !(engine === 'argocd' && opts.selfHeal)) {
      const run = engine === 'argocd' || !this.live.has(key(gate));
      if (engine === 'flux') {
        this.live.set(key(gate), gate);
        this.layerOf.set(key(gate), '00-gate');
      }
      const r = run ? (this.opts.skipGates ? this.record(gate, '(gate)', 0, 'skipped') : this.runGate(gate)) : undefined;
      if (r && r.code !== 0) return { failed: [r], refused: r, waitingAt: { layer: '00-gate', unhealthy: [`Job ${gate.metadata.name} failed`] } };
      if (!r && this.unhealthy.has(key(gate))) return { failed: [], refused: this.runs.filter((x) => x.job === gate.metadata.name).pop(), waitingAt: { layer: '00-gate', unhealthy: [`Job ${gate.metadata.name} failed`] } };
    }
    const prunes = engine === 'argocd' ? this.argoPruneWaves(new Set(desired.map(key)), layers) : new Map<number, string[]>();
    const pruned: string[] = [];
    const pruneWave = (wave: number) => {
      for (const k of prunes.get(wave) ?? []) {
        this.live.delete(k);
        pruned.push(k);
      }
      prunes.delete(wave);
    };
    for (const layer of layers) {
      const wave = layerWave(layer.id);
      if (engine === 'argocd') for (const w of [...prunes.keys()].sort((a, b) => a - b)) if (w < wave) pruneWave(w);
      const objects = layer.objects.filter((o) => o !== gate && !(engine === 'argocd' && isHook(o)));
      const changed = objects.filter((o) => JSON.stringify(this.live.get(key(o))) !== JSON.stringify(o));
      const applied = engine === 'argocd' ? changed : objects;
      // An apply the API server refuses fails the sync at this wave (Flux applies server-side).
      const refusals = engine === 'argocd' ? applied.map(argoApplyRefusal).filter((r): r is string => !!r) : [];
      if (refusals.length) return { failed, waitingAt: { layer: layer.id, unhealthy: refusals }, pruned };
      const cleanups: Obj[] = [];
      for (const o of applied) {
        failed.push(...this.applyObject(o, cleanups));
        this.layerOf.set(key(o), layer.id);
      }
      // The Weave delete Job (weave-removal.ts) deletes the weave-net DaemonSet at once; the
      // cleanup pods wait for its pods to be gone, then run.
      if (applied.some((o) => o.kind === 'Job' && containerNames(o).includes('delete-weave'))) {
        for (const [k, o] of [...this.live]) if (o.kind === 'DaemonSet' && o.metadata.name === 'weave-net') this.live.delete(k);
      }
      for (const o of cleanups) failed.push(...(isOurSet(o) ? this.nodesOf(o).map((n) => this.runCleanup(o, n)) : [this.runCleanup(o, o.spec.template.spec.nodeName)]).filter((r) => r.code !== 0));
      if (engine === 'flux') {
        const names = new Set(layer.objects.map(key));
        for (const [k, o] of [...this.live]) if (this.layerOf.get(k) === layer.id && !names.has(k) && !keptOnPrune(o)) this.live.delete(k);
      }
      if (engine === 'argocd') pruneWave(wave);
      const watched = engine === 'argocd' ? applied : layer.id === '10-calico' ? [] : objects;
      const unhealthy = watched.map((o) => this.unhealthyReason(o)).filter((x): x is string => !!x);
      if (unhealthy.length) return { failed, waitingAt: { layer: layer.id, unhealthy }, pruned };
    }
    for (const w of [...prunes.keys()].sort((a, b) => a - b)) pruneWave(w);
    // PostSync hooks run once the Sync phase is done (a selective sync, self-heal's, skips them).
    const postSync = engine === 'argocd' && !opts.selfHeal ? desired.filter((o) => o.kind === 'Job' && (o.metadata as any).annotations?.['argocd.argoproj.io/hook'] === 'PostSync') : [];
    for (const hook of postSync) {
      const r = this.runPostSync(hook);
      if (r.code !== 0) return { failed: [...failed, r], waitingAt: { layer: 'PostSync', unhealthy: [`PostSync hook ${hook.metadata.name} failed: ${r.log.trim()}`] }, pruned };
    }
    return { failed, pruned };
  }

  /**
   * Argo CD's PostSync hook (step-healthy.sh), run against our DaemonSets and Jobs as the API would
   * list them now: a DaemonSet has a pod on each node it selects (the simulator rolls at once), one
   * not available on each node its last run failed on; a Job is Failed when its last run failed,
   * else Complete (the simulator runs a Job when it is created). No time passes in the simulator,
   * so the hook looks once (TIMEOUT_SECONDS=0): what is unhealthy now would stay so.
   */
  private runPostSync(job: Obj): JobRun {
    const byNs = new Map<string, { sets: unknown[]; jobs: unknown[] }>();
    const of = (ns: string) => byNs.get(ns) ?? byNs.set(ns, { sets: [], jobs: [] }).get(ns)!;
    for (const o of this.live.values()) {
      const meta = o.metadata as any;
      const ns = meta.namespace ?? 'default';
      if (o.kind === 'DaemonSet' && isOurSet(o)) {
        const want = this.nodesOf(o).length;
        const down = [...(this.unhealthy.get(key(o)) ?? [])].filter((n) => this.nodeDirs.has(n)).length;
        of(ns).sets.push({ metadata: { ...meta, generation: 1 }, spec: { updateStrategy: o.spec.updateStrategy ?? { type: 'RollingUpdate' } }, status: { observedGeneration: 1, desiredNumberScheduled: want, updatedNumberScheduled: want, numberAvailable: want - down } });
      }
      if (o.kind === 'Job' && meta.labels?.['app.kubernetes.io/name'] === 'cni-migrate') {
        const failed = this.unhealthy.has(key(o));
        of(ns).jobs.push({ metadata: meta, status: { conditions: [{ type: failed ? 'Failed' : 'Complete', status: 'True', ...(failed ? { message: 'Job has reached the specified backoff limit' } : {}) }] } });
      }
    }
    // Every namespace the hook may read: an empty list where none of ours is left.
    const namespaces = new Set([...byNs.keys(), ...(job.spec.template.spec.containers as any[]).flatMap((c) => ((c.env ?? []) as any[]).filter((e) => e.name === 'NAMESPACES').flatMap((e) => e.value.split(' ')))]);
    for (const ns of namespaces) {
      fs.writeFileSync(path.join(this.store, `DaemonSetList.${ns}.json`), JSON.stringify({ items: byNs.get(ns)?.sets ?? [] }));
      fs.writeFileSync(path.join(this.store, `JobList.${ns}.json`), JSON.stringify({ items: byNs.get(ns)?.jobs ?? [] }));
    }
    return this.runApiJob(job, '(post-sync)', { TIMEOUT_SECONDS: '0' });
  }

  /**
   * Argo CD's prune tasks by the wave they run in (gitops-engine pkg/sync/sync_context.go
   * getSyncTasks): each live object the commit dropped takes its own sync-wave; the distinct prune
   * waves are then swapped symmetrically (lowest with highest), so what was created last is deleted
   * first; with the PruneLast=true option (pkg/sync/common/types.go) a task moves to one past the
   * last wave of the sync phase.
   */
  private argoPruneWaves(desired: Set<string>, layers: { id: string; objects: Obj[] }[]): Map<number, string[]> {
    const byWave = new Map<number, string[]>();
    const last: string[] = [];
    for (const [k, o] of this.live) {
      if (desired.has(k) || keptOnPrune(o)) continue;
      if (syncOptions(o).includes('PruneLast=true')) {
        last.push(k);
        continue;
      }
      const w = objectWave(o, this.layerOf.get(k));
      byWave.set(w, [...(byWave.get(w) ?? []), k]);
    }
    const waves = [...byWave.keys()].sort((a, b) => a - b);
    const swapped = new Map<number, string[]>();
    waves.forEach((w, i) => swapped.set(waves[waves.length - 1 - i], byWave.get(w)!));
    // syncPhaseLastWave: the highest wave of the commit's objects and of the prune tasks (swapped), plus one.
    const lastWave = Math.max(0, ...layers.flatMap((l) => l.objects.map((o) => objectWave(o, l.id))), ...swapped.keys()) + 1;
    if (last.length) swapped.set(lastWave, [...(swapped.get(lastWave) ?? []), ...last]);
    for (const keys of swapped.values()) keys.sort((a, b) => pruneOrder(this.live.get(a)!) - pruneOrder(this.live.get(b)!) || a.localeCompare(b));
    return swapped;
  }

  /** Why the engine would not count `o` as healthy, or undefined. */
  private unhealthyReason(o: Obj): string | undefined {
    if (o.kind === 'DaemonSet' && o.metadata.name === 'calico-node') {
      const notReady = [...this.calicoNotReady].filter((n) => this.nodeDirs.has(n));
      return notReady.length ? `calico-node is not Ready on ${notReady.join(', ')}` : undefined;
    }
    const on = this.unhealthy.get(key(o));
    if (!on?.size) return undefined;
    // A DaemonSet's pods on a node that is gone are gone with it.
    const nodes = o.kind === 'DaemonSet' ? [...on].filter((n) => this.nodeDirs.has(n)) : [...on];
    return nodes.length ? `${o.kind} ${o.metadata.name} failed on ${nodes.join(', ')}` : undefined;
  }

  /** What containerd would load on `node`: the `name` of the first .conf/.conflist/.json, or an error. */
  loadedNetwork(node: string): string {
    const dir = this.nodeDirs.get(node)!;
    const first = fs.readdirSync(dir).filter((f) => /\.(conf|conflist|json)$/.test(f) && fs.statSync(path.join(dir, f)).isFile()).sort()[0];
    if (!first) return 'NONE (no network config)';
    try {
      const conf = JSON.parse(fs.readFileSync(path.join(dir, first), 'utf8'));
      if (typeof conf.name !== 'string' || (first.endsWith('.conflist') && !(Array.isArray(conf.plugins) && conf.plugins.length > 0))) return `BROKEN (${first})`;
      return conf.name;
    } catch {
      return `BROKEN (${first})`;
    }
  }

  files(node: string): string[] {
    return fs.readdirSync(this.nodeDirs.get(node)!).sort();
  }

  private has(kind: string, name: string): Obj | undefined {
    return [...this.live.values()].find((o) => o.kind === kind && o.metadata.name === name);
  }

  private weaveInit(): void {
    if (!this.has('DaemonSet', 'weave-net')) return;
    for (const dir of this.nodeDirs.values()) {
      fs.rmSync(path.join(dir, '10-weave.conf'), { force: true });
      if (!fs.existsSync(path.join(dir, '10-weave.conflist'))) fs.writeFileSync(path.join(dir, '10-weave.conflist'), WEAVE_CONFLIST);
    }
  }

  private installCni(): void {
    const ds = this.has('DaemonSet', 'calico-node');
    if (!ds) return;
    const cm = this.has('ConfigMap', 'calico-config');
    const install = (ds.spec.template.spec.initContainers as any[]).find((c) => c.name === 'install-cni');
    const env = new Map<string, string>((install.env as any[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const name = env.get('CNI_CONF_NAME') ?? '10-calico.conflist';
    const oldName = env.get('CNI_OLD_CONF_NAME') ?? '10-calico.conflist';
    for (const [node, dir] of this.nodeDirs) {
      const conf = cm!.data!.cni_network_config.replace('__KUBERNETES_NODE_NAME__', node).replace('__CNI_MTU__', cm!.data!.veth_mtu ?? '1500').replace('__KUBECONFIG_FILEPATH__', '/etc/cni/net.d/calico-kubeconfig');
      fs.writeFileSync(path.join(dir, name), conf);
      if (name !== oldName) fs.rmSync(path.join(dir, oldName), { force: true });
    }
  }

  /** The objects of `kind` the GitOps engine holds applied now (after prune). */
  liveObjects(kind: string): Obj[] {
    return [...this.live.values()].filter((o) => o.kind === kind);
  }

  /** An object as the fake API server holds it now. */
  apiObject(kind: string, namespace: string, name: string): any {
    return JSON.parse(fs.readFileSync(path.join(this.store, `${kind}.${namespace}.${name}.json`), 'utf8'));
  }

  /** The kube-controller-manager manifest of a control-plane node, as on its disk. */
  manifest(node: string): string {
    return fs.readFileSync(path.join(this.kubelet, node, 'kube-controller-manager.yaml'), 'utf8');
  }

  private runControlPlaneJob(job: Obj, c: any): JobRun {
    const env: Record<string, string> = Object.fromEntries((c.env as any[]).map((e) => [e.name, e.value]));
    const work = fs.mkdtempSync(path.join(this.root, '.work-'));
    const fake = { PATH: `${path.join(__dirname, 'fake-kubectl')}:${process.env.PATH}`, FAKE_KUBE_STORE: this.store, FAKE_KUBELET_ROOT: this.kubelet, WORK_DIR: work, HOME: work };
    let extra: Record<string, string>;
    if (c.name === 'cluster-cidr') {
      const vol = (job.spec.template.spec.volumes as any[]).find((v) => v.configMap);
      const cm = this.has('ConfigMap', vol.configMap.name);
      if (!cm) return this.record(job, '(api)', 1, `ConfigMap ${vol.configMap.name} is not applied`);
      const targets = path.join(work, 'targets');
      fs.mkdirSync(targets);
      for (const [k, v] of Object.entries(cm.data ?? {})) fs.writeFileSync(path.join(targets, k), v);
      extra = { TARGETS: targets, ROLLOUT_SECONDS: '5' };
    } else {
      // The stand-in kubelet answers at once: short waits keep the walks fast, and a previous node
      // that never turns healthy still fails the wait.
      extra = { MANIFEST_DIR: path.join(this.kubelet, job.spec.template.spec.nodeName), WAIT_SECONDS: '2', POLL_SECONDS: '0.2', STABLE_SECONDS: '1' };
    }
    const r = runScript(this.scriptOf(c, job), { ...env, ...fake, ...extra }, undefined, 'kubectl');
    return this.record(job, job.spec.template.spec.nodeName ?? '(api)', r.code, r.log);
  }

  /** The script a container of `job` runs, from the ConfigMap its mount names (applied now or before). */
  private scriptOf(c: Obj, job: Obj): string {
    return containerScript(c, job.spec.template.spec, [...this.applying, ...this.live.values()], job.metadata.namespace);
  }

  private record(job: Obj, node: string, code: number, log: string): JobRun {
    const run = { job: job.metadata.name, node, code, log };
    this.runs.push(run);
    const failedOn = this.unhealthy.get(key(job)) ?? new Set<string>();
    if (code !== 0) failedOn.add(node);
    else failedOn.delete(node);
    if (failedOn.size) this.unhealthy.set(key(job), failedOn);
    else this.unhealthy.delete(key(job));
    return run;
  }

  private runJob(job: Obj): JobRun {
    return this.runPod(job, job.spec.template.spec.nodeName);
  }

  /** The pod of a Job or a DaemonSet on `node`. */
  private runPod(job: Obj, node: string): JobRun {
    const injected = [...this.failOnce].find((p) => job.metadata.name.startsWith(p));
    if (injected !== undefined) {
      this.failOnce.delete(injected);
      return this.record(job, node ?? '(api)', 1, `injected: the pod of ${job.metadata.name} failed once`);
    }
    const pod = job.spec.template.spec;
    if (node !== undefined && !this.nodeDirs.has(node)) return this.record(job, node, 1, `node ${node} does not exist: the pod stays Pending until the Job's deadline`);
    const containers = [...(pod.initContainers ?? []), ...pod.containers] as any[];
    const cp = containers.find((c) => c.name === 'cluster-cidr' || c.name === 'kcm-cluster-cidr');
    if (cp) return this.opts.skipControlPlaneJobs ? this.record(job, node ?? '(api)', 0, 'skipped') : this.runControlPlaneJob(job, cp);
    if (containers.some((c) => c.name === 'wait-for-calico-node') && (!this.has('DaemonSet', 'calico-node') || this.calicoNotReady.has(node))) {
      return this.record(job, node, 1, `calico-node is not ${this.has('DaemonSet', 'calico-node') ? 'Ready' : 'running'} on ${node}: wait-for-calico-node times out`);
    }
    // The containers in order, as the kubelet runs init containers: the first that fails fails
    // the pod. The node's files are real; the API steps go to the stand-in kubectl; the restarts
    // (runtime, DaemonSet pods, hostPort entries) are covered by their own tests, not here.
    const work = fs.mkdtempSync(path.join(this.root, '.work-'));
    // NODE_NAME from the downward API (a DaemonSet's pod) is the node it runs on.
    const envOf = (c: Obj): Record<string, string> => Object.fromEntries((c.env as any[] ?? []).map((e) => [e.name, e.name === 'VERDICT_FILE' ? path.join(work, 'verdict') : e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName' ? node : e.value]));
    let log = '';
    let evicted = false;
    for (const c of containers) {
      let r: { code: number; log: string };
      if (c.name === 'inspect') r = runScript(this.scriptOf(c, job), { ...envOf(c), CNI_DIR: this.nodeDirs.get(node)! });
      // The pod's own /tmp (an emptyDir): scratch files of parallel runs must not meet.
      else if (c.name === 'drain' || c.name === 'uncordon') r = runScript(this.scriptOf(c, job), { ...envOf(c), FAKE_KUBE_STORE: this.store, HOME: work, TMPDIR: work }, undefined, 'kubectl');
      else if (c.name === 'switch') {
        const scriptEnv = { ...envOf(c), CNI_DIR: this.nodeDirs.get(node)! };
        if (this.opts.crashAt !== undefined) {
          const crashed = runScript(withCrashPoints(this.scriptOf(c, job)).script, scriptEnv, this.opts.crashAt);
          if (crashed.code !== 0) this.afterCrash.push({ job: job.metadata.name, node, network: this.loadedNetwork(node) });
        }
        r = runScript(this.scriptOf(c, job), scriptEnv);
      } else continue;
      log += r.log;
      // Evicted by the drain: the workload pod starts again once the pod's steps are done (or
      // failed: the kubelet does not wait for them), on the network the node then loads.
      if (c.name === 'drain' && r.code === 0 && this.workloads.has(node)) evicted = true;
      if (r.code !== 0) {
        if (evicted) this.restartWorkloads(node);
        return this.record(job, node, r.code, log);
      }
    }
    if (evicted) this.restartWorkloads(node);
    return this.record(job, node, 0, log);
  }
}

/**
 * Run a Job script's text as its image would: that image's shell, and on PATH only the commands
 * that image has (test/support/image-tools.ts). A PATH in `env` is ignored.
 */
export function runScript(script: string, env: Record<string, string>, crashAt?: number, image: ImageName = 'busybox'): { code: number; log: string } {
  const { PATH: _ignored, ...rest } = env;
  const r = runInImage(image, script, rest, { crashAt });
  return { code: r.code, log: r.log };
}

/**
 * The script with a crash point before every line that starts a command: `crashpoint N` kills
 * the shell (SIGKILL, no cleanup) when CRASH_AT=N. Lines inside the awk program, case patterns
 * and keywords that cannot take a command before them are left alone.
 */
export function withCrashPoints(script: string): { script: string; points: number } {
  const lines = script.split('\n');
  let inQuote = false;
  let points = 0;
  const out = ['crashpoint() { if [ "${CRASH_AT:-}" = "$1" ]; then kill -9 $$; fi; }'];
  let prev = '';
  for (const line of lines) {
    const t = line.trim();
    // Comments are not code: their apostrophes open no quote.
    const quotes = !inQuote && t.startsWith('#') ? 0 : (line.replace(/"(\\.|[^"\\])*"/g, '').match(/'/g) ?? []).length;
    const startsInQuote = inQuote;
    if (quotes % 2 === 1) inQuote = !inQuote;
    const keyword = /^(then|else|elif|fi|do|done|esac|;;|\}|in|\)|#)/.test(t) || /^[^\s()]*\)\s/.test(t) || /^\*\)/.test(t) || /\)\s*;;$/.test(t) || /^[a-z_|* .-]+\)$/.test(t);
    const continuation = /(\||\\|&&|\|\|)\s*$/.test(prev.trim());
    // After "case ... in" or ";;" comes a pattern, where no command may stand.
    const casePattern = /(\sin|;;)$/.test(prev.trim());
    if (!startsInQuote && t && !t.startsWith('#') && !keyword && !continuation && !casePattern && !/^[a-z_]+\(\)\s*\{/.test(t) && !t.startsWith('#!')) {
      points++;
      out.push(`${line.match(/^\s*/)![0]}crashpoint ${points}; ${t}`);
    } else {
      out.push(line);
    }
    if (t && !t.startsWith('#')) prev = line;
  }
  return { script: out.join('\n'), points };
}

const containerNames = (o: Obj): string[] => [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers].map((c: any) => c.name);
const isGate = (o: Obj): boolean => o.kind === 'Job' && (o.metadata as any).labels?.['app.kubernetes.io/component'] === 'gate';

/** A DaemonSet of ours (node-switch-set.ts): a wave's, the newcomers', every node's, the Weave cleanup's. */
function isOurSet(o: Obj): boolean {
  return o.kind === 'DaemonSet' && (o.metadata as any).labels?.['app.kubernetes.io/name'] === 'cni-migrate';
}

/**
 * An object the engine does not prune when a commit drops it: Argo CD's `Prune=false` sync option
 * (user-guide/sync-options.md, "No Prune Resources"; options join with commas) or Flux's
 * `kustomize.toolkit.fluxcd.io/prune: disabled` (docs/spec/v1/kustomizations.md, "Prune").
 */
/** The sync-wave of a layer folder (`40-nodes` → 40; src/gitops/layers.ts). */
function layerWave(layerId: string): number {
  return Number(layerId.slice(0, 2));
}

/**
 * A live object's sync-wave: its annotation (gitops-engine pkg/sync/syncwaves/waves.go Wave), else
 * the layer it was applied from, else 0.
 */
function objectWave(o: Obj, layerId: string | undefined): number {
  const w = Number.parseInt((o.metadata as any).annotations?.['argocd.argoproj.io/sync-wave'] ?? '', 10);
  return Number.isNaN(w) ? (layerId ? layerWave(layerId) : 0) : w;
}

/** The order of kinds within a wave (gitops-engine pkg/sync/sync_tasks.go kindOrder; others last). */
const KIND_ORDER = ['Namespace', 'ResourceQuota', 'LimitRange', 'PodSecurityPolicy', 'PodDisruptionBudget', 'Secret', 'ConfigMap', 'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim', 'ServiceAccount', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service', 'DaemonSet', 'Pod', 'ReplicationController', 'ReplicaSet', 'Deployment', 'StatefulSet', 'Job', 'CronJob', 'Ingress', 'APIService'];
function pruneOrder(o: Obj): number {
  const i = KIND_ORDER.indexOf(o.kind);
  return i < 0 ? KIND_ORDER.length : i;
}

function syncOptions(o: Obj): string[] {
  return ((o.metadata as any).annotations?.['argocd.argoproj.io/sync-options'] ?? '').split(',').map((s: string) => s.trim());
}

/**
 * Why the API server refuses Argo CD's apply of `o`, if it does. Without ServerSideApply=true on the
 * object (or the Application), Argo CD applies client-side (gitops-engine pkg/sync/sync_context.go,
 * shouldUseServerSideApply), and kubectl stores the object, without that annotation, as JSON in
 * kubectl.kubernetes.io/last-applied-configuration (k8s.io/kubectl pkg/util/apply.go,
 * GetModifiedConfiguration; Go's encoder writes <, > and & as six-byte escapes). The API server
 * refuses an object whose annotations, keys and values, pass 256 KiB (k8s.io/apimachinery
 * pkg/api/validation/objectmeta.go, ValidateAnnotationsSize, TotalAnnotationSizeLimitB).
 */
export function argoApplyRefusal(o: Obj): string | undefined {
  if (syncOptions(o).includes('ServerSideApply=true')) return undefined;
  // Counted here on its own, not with src/gitops/server-side-apply.ts, so that a mistake in what
  // synth measures cannot hide itself from the tests that hold synth to this check.
  const goJsonBytes = (text: string) => Buffer.byteLength(text) + 5 * (text.match(/[<>&]/g)?.length ?? 0);
  const annotations: Record<string, string> = { ...((o.metadata as any).annotations ?? {}), 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(o) };
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) total += Buffer.byteLength(k) + (k === 'kubectl.kubernetes.io/last-applied-configuration' ? goJsonBytes(v) : Buffer.byteLength(v));
  if (total <= 262_144) return undefined;
  return `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} is invalid: metadata.annotations: Too long: must have at most 262144 bytes (client-side apply, ${total} bytes)`;
}

function keptOnPrune(o: Obj): boolean {
  return syncOptions(o).includes('Prune=false') || (o.metadata as any).annotations?.['kustomize.toolkit.fluxcd.io/prune'] === 'disabled';
}

/** dist/'s layers in order, each with its objects. */
function readDistLayers(dir: string): { id: string; objects: Obj[] }[] {
  return fs.readdirSync(dir).filter((f) => /^\d\d-/.test(f)).sort().map((layer) => ({
    id: layer,
    objects: fs.readdirSync(path.join(dir, layer)).sort().filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').map((f) => YAML.parse(fs.readFileSync(path.join(dir, layer, f), 'utf8'))),
  }));
}

function readDist(dir: string): Obj[] {
  return readDistLayers(dir).flatMap((l) => l.objects);
}
