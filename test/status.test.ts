/**
 * cni-migrate status against recorded clusters: the demo cluster as it looks once each step has
 * converged (built from the synthesized dist/), served by the local API server, then broken one
 * way at a time. Runs the compiled CLI (client-node is an ES module).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { gateCheckList } from '../src/model/gate-checks';
import { loadPlan } from '../src/plan/migration-plan';
import { stepList } from '../src/steps/steps';
import { FakeApiServer } from './support/fake-apiserver';
import { cli, demoWorkspace, editConfig, readManifests, runCompiledCli, setStep, type Workspace } from './support/workspace';

const WAVES = [['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1'], ['cp-2']];

const run = runCompiledCli;

interface Cluster {
  /** Our DaemonSets in kube-system, as the cluster runs them. */
  sets: any[];
  /** Pod log path → log text (the loss probers'). */
  logs: Record<string, string>;
  nodes: any[];
  pods: any[];
  jobs: any[];
  policies: any[];
  kubeProxy: any;
  kcm: any[];
}

/** The demo cluster as it is once `step` has fully applied. */
async function convergedAt(ws: Workspace, step: string): Promise<Cluster> {
  setStep(ws, step);
  expect((await cli(ws, 'synth')).code).toBe(0);
  const dist = readManifests(ws.dist).map((m) => m.obj);
  const i = stepList(WAVES.length).findIndex((s) => s.name === step);
  const at = (name: string) => i >= stepList(WAVES.length).findIndex((s) => s.name === name);
  const switched = step.startsWith('nodes-') ? Number(step.slice(6)) : at('weave-removed') ? WAVES.length : 0;
  const inv = YAML.parse(fs.readFileSync(path.join(ws.cluster, 'nodes.yaml'), 'utf8')).nodes;
  const ready = [{ type: 'Ready', status: 'True' }];
  const pods: any[] = [];
  inv.forEach((n: any, k: number) => {
    const onCalico = WAVES.findIndex((w) => w.includes(n.name)) < switched;
    if (at('calico')) pods.push({ metadata: { namespace: 'kube-system', name: `calico-node-${k}`, labels: { 'k8s-app': 'calico-node' } }, spec: { nodeName: n.name, hostNetwork: true }, status: { phase: 'Running', podIP: n.internalIP, conditions: ready } });
    if (!at('weave-removed')) pods.push({ metadata: { namespace: 'kube-system', name: `weave-net-${k}`, labels: { name: 'weave-net' } }, spec: { nodeName: n.name, hostNetwork: true }, status: { phase: 'Running', podIP: n.internalIP, conditions: ready } });
    for (let j = 0; j < 3; j++) {
      pods.push({ metadata: { namespace: 'shop', name: `app-${k}-${j}` }, spec: { nodeName: n.name }, status: { phase: 'Running', podIP: onCalico ? `10.48.${k}.${j + 2}` : `10.32.${k}.${j + 2}`, conditions: ready } });
    }
  });
  // Our DaemonSets' pods, Ready at this step's spec, on every inventory node each selects.
  for (const ds of dist.filter((o) => o.kind === 'DaemonSet' && o.spec.template.metadata.labels['cni-migrate.io/nodes'])) {
    const byName = ds.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields?.[0];
    const selected = inv.map((n: any) => n.name).filter((n: string) => !byName || (byName.operator === 'In') === byName.values.includes(n));
    for (const n of selected) {
      const ownerReferences = [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name, uid: `uid-${ds.metadata.name}`, controller: true, blockOwnerDeletion: true }];
      pods.push({ metadata: { namespace: 'kube-system', name: `${ds.metadata.name}-${n}`, labels: ds.spec.template.metadata.labels, ownerReferences }, spec: { nodeName: n, hostNetwork: true }, status: { phase: 'Running', podIP: '192.168.56.1', conditions: ready } });
    }
  }
  // The loss probers, Ready, each with a summary line of a step without loss.
  const logs: Record<string, string> = {};
  for (const d of dist.filter((o) => o.kind === 'Deployment' && o.metadata.namespace === 'cni-migrate-probe')) {
    const tpl = d.spec.template;
    const name = `${d.metadata.name}-7d4b9c-x2x`;
    pods.push({ metadata: { namespace: 'cni-migrate-probe', name, labels: tpl.metadata.labels, annotations: tpl.metadata.annotations }, spec: { nodeName: tpl.spec.nodeSelector['kubernetes.io/hostname'] }, status: { phase: 'Running', podIP: tpl.metadata.labels['cni-migrate.io/probe'] === 'weave' ? '10.32.200.9' : '10.48.200.9', conditions: ready } });
    if (tpl.metadata.labels['app.kubernetes.io/component'] !== 'probe-loss') continue;
    const nets = tpl.spec.containers[0].env.find((e: any) => e.name === 'TARGETS').value.split(' ').map((t: string) => t.split('=')[0]);
    logs[`/api/v1/namespaces/cni-migrate-probe/pods/${name}/log?container=loss&tailLines=50`] = `loss[x]: probing\nloss: step=${step} from=${tpl.metadata.labels['cni-migrate.io/probe']} sent=${nets.length * 600} failed=0 ${nets.map((n: string) => `${n}=0/600`).join(' ')}\n`;
  }
  const kpTarget = dist.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('cni-migrate-cidr-'))?.data['kube-proxy.target'];
  const kubeProxy = YAML.parse(fs.readFileSync(path.join(ws.cluster, 'control-plane', 'kube-proxy-configmap.yaml'), 'utf8'));
  if (kpTarget) kubeProxy.data['config.conf'] = kpTarget;
  const kcmJobs = new Map(dist.filter((o) => o.kind === 'Job' && o.metadata.name.startsWith('cidr-kcm-')).map((j) => [j.spec.template.spec.nodeName, j.spec.template.spec.containers[0].env.find((e: any) => e.name === 'CLUSTER_CIDR').value]));
  const kcm = ['cp-1', 'cp-2'].map((n) => {
    const pod = YAML.parse(fs.readFileSync(path.join(ws.cluster, 'control-plane', 'kube-controller-manager', `${n}.yaml`), 'utf8'));
    if (kcmJobs.has(n)) pod.spec.containers[0].command = pod.spec.containers[0].command.map((f: string) => (f.startsWith('--cluster-cidr=') ? `--cluster-cidr=${kcmJobs.get(n)}` : f));
    return pod;
  });
  return {
    sets: dist.filter((o) => o.kind === 'DaemonSet' && o.metadata.namespace === 'kube-system' && o.metadata.labels?.['app.kubernetes.io/name'] === 'cni-migrate'),
    logs,
    nodes: inv.map((n: any) => ({ metadata: { name: n.name }, spec: {} })),
    pods,
    jobs: dist.filter((o) => o.kind === 'Job' && !o.metadata.annotations?.['argocd.argoproj.io/hook']).map((j) => ({ ...j, status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } })),
    policies: dist.filter((o) => o.kind === 'NetworkPolicy'),
    kubeProxy,
    kcm,
  };
}

function serve(api: FakeApiServer, c: Cluster): void {
  api.setList('/api/v1/nodes', c.nodes);
  api.setList('/api/v1/pods', c.pods);
  api.setList('/apis/batch/v1/jobs?labelSelector=app.kubernetes.io%2Fname%3Dcni-migrate', c.jobs);
  api.setList('/apis/apps/v1/namespaces/kube-system/daemonsets?labelSelector=app.kubernetes.io%2Fname%3Dcni-migrate', c.sets);
  api.setList('/api/v1/namespaces/cni-migrate-probe/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dprobe-loss', c.pods.filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'probe-loss'));
  for (const [p, text] of Object.entries(c.logs)) api.setText(p, text);
  api.setList('/apis/networking.k8s.io/v1/networkpolicies', c.policies);
  api.setObject('/api/v1/namespaces/kube-system/configmaps/kube-proxy', c.kubeProxy);
  api.setList('/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-controller-manager', c.kcm);
}

describe('cni-migrate status', () => {
  let api: FakeApiServer;
  let ws: Workspace;
  let kubeconfig: string;
  beforeEach(async () => {
    api = new FakeApiServer();
    api.pageCap = 10;
    ws = demoWorkspace();
    kubeconfig = api.writeKubeconfig(ws.dir, await api.start());
  });
  afterEach(() => api.stop());
  const status = (...extra: string[]) => run(['--config', ws.config, 'status', '--kubeconfig', kubeconfig, ...extra], ws.dir);

  it.each(stepList(WAVES.length).map((s) => s.name))('exits 0 on a cluster converged to %s', async (step) => {
    serve(api, await convergedAt(ws, step));
    const r = await status('--json');
    const report = JSON.parse(r.stdout);
    expect([step, report.cluster.problems, report.nodes.flatMap((n: any) => n.problems)]).toEqual([step, [], []]);
    expect(r.code).toBe(0);
    expect(report.converged).toBe(true);
    // status reads the step model: the same node states, CIDR targets and gate checks.
    const { model } = loadPlan({ configFile: ws.config });
    expect(report.nodes.map((n: any) => `${n.name} wave ${n.wave} ${n.desired}`)).toEqual(model.nodes.map((n) => `${n.name} wave ${n.wave} ${n.network}`));
    // The room for drains is left to the gate Job's log (status does not repeat its computation).
    expect(report.gate).toEqual((model.gate ? gateCheckList(model.gate) : []).map((c) => ({ check: c.text, holds: c.kind === 'drain-capacity' ? null : true })));
    expect(report.cluster.kubeProxyClusterCIDR?.expected).toBe(model.clusterCidr.value);
    expect(report.cluster.controllerManagerClusterCIDR.map((k: any) => `${k.node}=${k.expected}`))
      .toEqual(model.clusterCidr.value ? model.clusterCidr.targets!.controllerManagers.map((t) => `${t.node}=${t.cidr[model.clusterCidr.phase]}`) : []);
  });

  it('names what is not converged, node by node, and exits 1', async () => {
    const c = await convergedAt(ws, 'nodes-2');
    c.nodes.find((n) => n.metadata.name === 'worker-2').spec.unschedulable = true;
    c.pods.find((p) => p.metadata.name === 'calico-node-5').status.conditions = [{ type: 'Ready', status: 'False' }];
    c.pods.find((p) => p.metadata.name === 'app-3-0').status.podIP = '10.32.3.2';
    // worker-3's pod of its wave's DaemonSet is not there yet; worker-1's fails at its drain, and
    // cp-1's is still of the step before (the rolling update has not reached it).
    c.pods = c.pods.filter((p) => p.metadata.name !== 'cni-migrate-switch-wave-2-worker-3');
    const w1 = c.pods.find((p) => p.metadata.name === 'cni-migrate-switch-wave-1-worker-1');
    w1.status = { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }], initContainerStatuses: [
      { name: 'wait-for-calico-node', restartCount: 0, state: { terminated: { exitCode: 0 } } },
      { name: 'inspect', restartCount: 0, state: { terminated: { exitCode: 0 } } },
      { name: 'drain', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } },
      { name: 'switch', restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
    ] };
    const cp1 = c.pods.find((p) => p.metadata.name === 'cni-migrate-switch-wave-4-cp-1');
    cp1.metadata = { ...cp1.metadata, labels: { ...cp1.metadata.labels, 'cni-migrate.io/pod-spec': '0badc0de' } };
    // worker-gpu-1's pod is at its switch step, not failed.
    const gpu = c.pods.find((p) => p.metadata.name === 'cni-migrate-switch-wave-3-worker-gpu-1');
    gpu.status = { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }], initContainerStatuses: [{ name: 'switch', restartCount: 0, state: { running: {} } }] };
    c.kubeProxy.data['config.conf'] = c.kubeProxy.data['config.conf'].replace('clusterCIDR: 10.32.0.0/11', 'clusterCIDR: 10.32.0.0/12');
    serve(api, c);
    const r = await status('--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    const problems = Object.fromEntries(report.nodes.filter((n: any) => n.problems.length).map((n: any) => [n.name, n.problems]));
    expect(problems).toEqual({
      'worker-1': ['cni-migrate-switch-wave-1: pod cni-migrate-switch-wave-1-worker-1 failing: step drain failed (exit 1), 3 retries so far: kubectl logs --namespace=kube-system cni-migrate-switch-wave-1-worker-1 --container=drain'],
      'worker-2': ['cordoned', '1 pod(s) still on Weave IPs'],
      'worker-3': ['cni-migrate-switch-wave-2: no pod on the node yet'],
      'worker-gpu-1': ['calico-node not Ready', 'cni-migrate-switch-wave-3: pod cni-migrate-switch-wave-3-worker-gpu-1 running: at step switch'],
      'cp-1': ['cni-migrate-switch-wave-4: pod cni-migrate-switch-wave-4-cp-1 is of an earlier step (the rolling update has not reached it)'],
    });
    expect(Object.fromEntries(report.nodes.map((n: any) => [n.name, n.switch]))).toEqual({ 'cp-1': 'outdated', 'cp-2': 'done', 'worker-1': 'failing', 'worker-2': 'done', 'worker-3': 'missing', 'worker-gpu-1': 'running' });
    expect(report.cluster.problems).toEqual(['kube-proxy clusterCIDR is 10.32.0.0/12, expected 10.32.0.0/11']);
    expect(report.gate).toEqual([
      { check: 'calico-node is Ready on every node, but the nodes of a wave this step reverts to Weave', holds: false },
      { check: 'the other schedulable nodes have room (allocatable minus requests) for the pods of the 1 node(s) of wave 2 still to drain with the most to evict', holds: null },
    ]);
    const text = await status();
    expect(text.stdout).toMatch(/^gate: calico-node is Ready on every node, but the nodes of a wave this step reverts to Weave: DOES NOT HOLD$/m);
    expect(text.stdout).toMatch(/^gate: the other schedulable nodes have room .* with the most to evict: see the gate Job's log$/m);
    expect(text.stdout).toMatch(/step nodes-2: not converged yet\n\[#+\.+\] 1\/6 nodes ready for this step/);
    expect(text.stdout).toMatch(/worker-2 .* cordoned; 1 pod\(s\) still on Weave IPs/);
  });

  it('sees the whole cluster: a node that joined since the snapshot (and its pods on Weave), and an inventory node that is gone', async () => {
    const c = await convergedAt(ws, 'nodes-2');
    c.nodes = c.nodes.filter((n) => n.metadata.name !== 'worker-3');
    c.pods = c.pods.filter((p) => p.spec.nodeName !== 'worker-3');
    // The autoscaler added a node: Weave runs there (its DaemonSet), so its pods have Weave IPs.
    c.nodes.push({ metadata: { name: 'worker-new-7', labels: { 'kubernetes.io/os': 'linux' } }, spec: {} });
    c.nodes.push({ metadata: { name: 'win-2', labels: { 'kubernetes.io/os': 'windows' } }, spec: {} });
    c.pods.push({ metadata: { name: 'shop-7', namespace: 'shop' }, spec: { nodeName: 'worker-new-7' }, status: { phase: 'Running', podIP: '10.32.9.9', conditions: [{ type: 'Ready', status: 'True' }] } });
    serve(api, c);
    const r = await status('--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.cluster.nodesNotInInventory).toEqual([{ name: 'worker-new-7', podsOnWeave: 1 }]);
    expect(report.cluster.inventoryNodesGone).toEqual(['worker-3']);
    // The 9 app pods of the three nodes not switched at nodes-2, the newcomer's, and the probe's
    // server and loss prober on Weave.
    expect(report.cluster.podsOnWeave).toBe(9 + 1 + 2);
    expect(report.cluster.problems).toContain('1 node(s) are in the cluster but not in cluster/nodes.yaml (worker-new-7): the DaemonSet kube-system/cni-migrate-newcomer-switch converges them to this step');
    expect(report.cluster.problems).toContain('1 inventory node(s) are gone from the cluster (worker-3): the node DaemonSets place no pod there, so they hold nothing back; run `cni-migrate snapshot --nodes-only` and commit the result (guard accepts it at any step) to take them out of the inventory and their waves');
    // Gone, so no pod of its set is expected there.
    expect(report.nodes.find((n: any) => n.name === 'worker-3').problems).toEqual(['node not found in the cluster (removed?): nothing runs there, and it holds no step back; `cni-migrate snapshot --nodes-only` takes it out of the inventory and its wave']);
    expect(report.nodes.find((n: any) => n.name === 'worker-3').switch).toBe('-');
  });

  it('at a step that keeps the policies in force (a revert to cluster-cidr), a pod still on Calico is a problem and its gate does not hold', async () => {
    const c = await convergedAt(ws, 'cluster-cidr');
    c.pods.find((p) => p.metadata.name === 'app-2-0').status.podIP = '10.48.2.2';
    serve(api, c);
    const r = await status('--json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.cluster.problems).toEqual(['1 pod(s) have an IP in Calico\'s 10.48.0.0/12 at a step that keeps the NetworkPolicies in force: its gate holds the step until the waves are reverted and those pods restarted on Weave']);
    expect(report.gate.find((g: any) => g.check.startsWith('no pod has an IP in 10.48.0.0/12')).holds).toBe(false);
  });

  it('on a revert, the calico gate does not count a node of the wave the step takes back to Weave, as the gate Job does not', async () => {
    // Reverted to nodes-1 while wave 2's set still runs Calico-first, calico-node broken on worker-2.
    const c = await convergedAt(ws, 'nodes-1');
    const forward = await convergedAt(demoWorkspace(), 'nodes-2');
    c.sets = c.sets.map((ds) => (ds.metadata.name === 'cni-migrate-switch-wave-2' ? forward.sets.find((f) => f.metadata.name === ds.metadata.name) : ds));
    const calicoPod = (node: number) => c.pods.find((p) => p.metadata.name === `calico-node-${node}`);
    const inv = YAML.parse(fs.readFileSync(path.join(ws.cluster, 'nodes.yaml'), 'utf8')).nodes.map((n: any) => n.name);
    calicoPod(inv.indexOf('worker-2')).status.conditions = [{ type: 'Ready', status: 'False' }];
    serve(api, c);
    let report = JSON.parse((await status('--json')).stdout);
    expect(report.gate.find((g: any) => g.check.startsWith('calico-node')).holds).toBe(true);
    // Broken on a node the revert keeps on Calico (worker-1, wave 1): the check does not hold.
    calicoPod(inv.indexOf('worker-1')).status.conditions = [{ type: 'Ready', status: 'False' }];
    serve(api, c);
    report = JSON.parse((await status('--json')).stdout);
    expect(report.gate.find((g: any) => g.check.startsWith('calico-node')).holds).toBe(false);
  });

  it('a failed Job: says how to read why and how to have the engine run it again (Argo CD: a manual sync; Flux: reconcile its layer)', async () => {
    const c = await convergedAt(ws, 'cluster-cidr');
    const job = c.jobs.find((j) => j.metadata.annotations?.['argocd.argoproj.io/sync-wave'] === '20')!;
    job.status = { failed: 5, conditions: [{ type: 'Failed', status: 'True' }] };
    serve(api, c);
    const r = await status('--json');
    expect(r.code).toBe(1);
    const how = `Job ${job.metadata.name} failed: read why with \`kubectl logs --namespace=kube-system job/${job.metadata.name}\`; once the cause is fixed, \`kubectl delete job --namespace=kube-system ${job.metadata.name}\`, then`;
    expect(JSON.parse(r.stdout).cluster.problems).toEqual([`${how} \`argocd app sync cni-migrate-demo\` (PLAN.md, "If this step is stuck")`]);

    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    const f = await convergedAt(ws, 'cluster-cidr');
    // The same Job (Flux's output has no sync-wave): the one of layer 20-control-plane.
    const fluxJob = f.jobs.find((j) => j.metadata.name === job.metadata.name)!;
    fluxJob.status = { failed: 5, conditions: [{ type: 'Failed', status: 'True' }] };
    serve(api, f);
    const fr = await status('--json');
    expect(JSON.parse(fr.stdout).cluster.problems).toEqual([`${how} \`flux reconcile kustomization cni-migrate-demo-20-control-plane --namespace flux-system --with-source\` (PLAN.md, "If this step is stuck")`]);
  });

  it('flags policies re-applied by another owner while suspended', async () => {
    const c = await convergedAt(ws, 'policies-suspended');
    c.policies = [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny-ingress', namespace: 'default' }, spec: { podSelector: {} } }];
    serve(api, c);
    const report = JSON.parse((await status('--json')).stdout);
    expect(report.cluster.problems).toEqual(['1 NetworkPolicies present while suspended (e.g. default/default-deny-ingress): another owner re-applied them?']);
  });

  it('--watch redraws until the cluster converges', async () => {
    const c = await convergedAt(ws, 'calico');
    const done = c.jobs;
    c.jobs = [];
    serve(api, c);
    // Converge once the first round has read the Jobs (whenever the CLI got there), not after a
    // fixed time that races the CLI's start-up.
    const readJobs = () => api.requests.filter((r) => r.includes('/jobs')).length;
    const converge = setInterval(() => {
      if (readJobs() >= 1) {
        clearInterval(converge);
        serve(api, { ...c, jobs: done });
      }
    }, 10);
    const r = await status('--watch', '--interval', '1', '--timeout', '20');
    clearInterval(converge);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^step calico: /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(/^step calico: not converged yet/m);
    expect(r.stdout).toMatch(/step calico: converged: safe to advance/);
  });

  it('--watch gives up at the timeout with exit 1; API errors exit 2', async () => {
    serve(api, { ...(await convergedAt(ws, 'calico')), jobs: [] });
    const r = await status('--watch', '--interval', '1', '--timeout', '2');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not converged after 2 s/);
    api.faults.forbidden = ['/api/v1/pods'];
    const e = await status();
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/forbidden: the snapshot needs "list" on pods at the cluster scope/);
  });
});

describe('cni-migrate status: the loss probers', () => {
  let api: FakeApiServer;
  let ws: Workspace;
  let kubeconfig: string;
  beforeEach(async () => {
    api = new FakeApiServer();
    ws = demoWorkspace();
    kubeconfig = api.writeKubeconfig(ws.dir, await api.start());
  });
  afterEach(() => api.stop());
  const status = (...extra: string[]) => run(['--config', ws.config, 'status', '--kubeconfig', kubeconfig, ...extra], ws.dir);
  const logPath = (c: Cluster, net: string) => Object.keys(c.logs).find((p) => p.includes(`probe-loss-from-${net}-`))!;

  it('shows what each prober counted during the step', async () => {
    const c = await convergedAt(ws, 'nodes-2');
    c.logs[logPath(c, 'weave')] = 'loss: step=nodes-2 from=weave sent=11990 failed=0 weave=0/5995 calico=0/5995\nloss: step=nodes-2 from=weave sent=12000 failed=0 weave=0/6000 calico=0/6000\n';
    serve(api, c);
    const r = await status();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('loss: 0 of 12,000 requests from weave failed during nodes-2 (to weave 0/6000, to calico 0/6000)');
    expect(r.stdout).toContain('loss: 0 of 1,200 requests from calico failed during nodes-2');
  });

  it('a step that lost requests, a target never answered, a prober of the step before: each is a problem, exit 1', async () => {
    const c = await convergedAt(ws, 'nodes-2');
    c.logs[logPath(c, 'weave')] = 'loss[weave]: request to calico failed at 03:12:09\nloss: step=nodes-2 from=weave sent=12000 failed=3 weave=0/6000 calico=3/6000\n';
    serve(api, c);
    let report = JSON.parse((await status('--json')).stdout);
    expect(report.converged).toBe(false);
    expect(report.cluster.problems).toEqual([expect.stringMatching(/^3 of 12000 requests from weave failed during nodes-2, more than spec.probe.maxLossPercent \(0%\): when, in kubectl logs --namespace=cni-migrate-probe probe-loss-from-weave-/)]);

    c.logs[logPath(c, 'weave')] = 'loss: step=nodes-2 from=weave sent=600 failed=0 weave=0/600 calico=waiting\n';
    serve(api, c);
    report = JSON.parse((await status('--json')).stdout);
    expect(report.cluster.problems).toEqual([expect.stringMatching(/^the loss prober on weave has had no answer yet from calico: kubectl logs/)]);

    // The Recreate rollout has not replaced the calico prober yet: its pod is of nodes-1.
    const old = c.pods.find((p) => p.metadata.name.startsWith('probe-loss-from-calico-'));
    old.metadata.annotations = { 'cni-migrate.io/step': 'nodes-1' };
    c.logs[logPath(c, 'weave')] = 'loss: step=nodes-2 from=weave sent=600 failed=0 weave=0/600 calico=0/600\n';
    serve(api, c);
    report = JSON.parse((await status('--json')).stdout);
    expect(report.cluster.problems).toEqual(['no loss prober of step nodes-2 runs on the calico network yet (Deployment cni-migrate-probe/probe-loss-from-calico)']);
  });
});
