/**
 * The PostSync hook of every Argo CD step (scripts/step-healthy.sh): it counts our DaemonSets and
 * Jobs healthy as Argo CD does (gitops-engine pkg/health/health_daemonset.go, health_job.go),
 * whether the operation applied them or not, so a retried or restarted sync cannot end Succeeded
 * over a stuck node switch or a failed Job. Run in the kubectl image's tool set against the
 * stand-in kubectl, and once with the real kubectl against the recorded-response API server.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { FakeApiServer } from './support/fake-apiserver';
import { runScript } from './support/gitops-simulator';
import { REAL_KUBECTL, runInImage, runInKubectlImageAsync } from './support/image-tools';
import { requirePeer } from './support/peers';
import { cli, demoWorkspace, editConfig, readManifests, setStep } from './support/workspace';

const OURS = { 'app.kubernetes.io/name': 'cni-migrate' };

interface SetStatus { generation?: number; observed?: number; desired: number; updated: number; available: number; onDelete?: boolean }
function daemonSet(name: string, s: SetStatus, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name, namespace: 'kube-system', labels: { ...OURS }, generation: s.generation ?? 3, ...extra },
    spec: { updateStrategy: { type: s.onDelete ? 'OnDelete' : 'RollingUpdate' } },
    status: { observedGeneration: s.observed ?? s.generation ?? 3, desiredNumberScheduled: s.desired, updatedNumberScheduled: s.updated, numberAvailable: s.available, currentNumberScheduled: s.desired, numberReady: s.available },
  };
}
const healthySet = (name: string, n = 3) => daemonSet(name, { desired: n, updated: n, available: n });

function job(name: string, namespace: string, conditions: { type: string; status: string; message?: string }[], annotations: Record<string, string> = {}) {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace, labels: { ...OURS }, annotations }, status: { conditions } };
}
const complete = (name: string, ns = 'kube-system') => job(name, ns, [{ type: 'Complete', status: 'True' }]);

/** Run the hook against the stand-in kubectl with these lists (namespace → DaemonSets, Jobs). */
function hook(lists: Record<string, { sets?: object[]; jobs?: object[] }>, env: Record<string, string> = {}) {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'step-healthy-'));
  fs.writeFileSync(path.join(store, 'calls.log'), '');
  for (const [ns, l] of Object.entries(lists)) {
    fs.writeFileSync(path.join(store, `DaemonSetList.${ns}.json`), JSON.stringify({ items: l.sets ?? [] }));
    fs.writeFileSync(path.join(store, `JobList.${ns}.json`), JSON.stringify({ items: l.jobs ?? [] }));
  }
  const r = runScript(readScript('step-healthy.sh'), { WORK_DIR: store, FAKE_KUBE_STORE: store, NAMESPACES: Object.keys(lists).join(' '), TIMEOUT_SECONDS: '0', ...env }, undefined, 'kubectl');
  const calls = fs.readFileSync(path.join(store, 'calls.log'), 'utf8').trim().split('\n');
  fs.rmSync(store, { recursive: true, force: true });
  return { ...r, calls };
}

describe('step-healthy.sh (stand-in kubectl)', () => {
  it('passes when every DaemonSet is rolled out and available and every Job complete, in every namespace, paging through each list', () => {
    const r = hook({ 'kube-system': { sets: ['a', 'b', 'c', 'd', 'e'].map((n) => healthySet(`cni-migrate-switch-wave-${n}`)), jobs: [complete('cidr-supernet-1')] }, 'cni-migrate-probe': { jobs: [complete('probe-from-weave-1', 'cni-migrate-probe')] } });
    expect([r.code, r.log.trim()]).toEqual([0, 'step-healthy: every DaemonSet and Job of this step is healthy']);
    // Five sets in pages of at most two (the stand-in's cap): three requests in kube-system, one in
    // the probe's namespace, all by label.
    expect(r.calls.filter((c) => c.includes('/daemonsets?')).length).toBe(4);
    expect(r.calls.every((c) => c.includes('labelSelector=app.kubernetes.io%2Fname%3Dcni-migrate'))).toBe(true);
  });

  it.each([
    ['a newer template the controller has not seen', { generation: 4, observed: 3, desired: 3, updated: 3, available: 3 }, 'the controller has not seen its newest template yet'],
    ['pods not updated yet', { desired: 3, updated: 2, available: 3 }, '2 of 3 pods updated'],
    ['a pod not available (a drain held by a PodDisruptionBudget)', { desired: 3, updated: 3, available: 2 }, '2 of 3 pods available'],
  ])('fails naming a DaemonSet with %s, as Argo CD counts it Progressing', (_what, status, why) => {
    const r = hook({ 'kube-system': { sets: [healthySet('cni-migrate-switch-wave-1'), daemonSet('cni-migrate-switch-wave-3', status)] } });
    expect(r.code).toBe(1);
    expect(r.log).toContain(`step-healthy: 1 object(s) of this step are not healthy; PLAN.md, "If this step is stuck", says how to retry each:\nprogressing DaemonSet kube-system/cni-migrate-switch-wave-3: ${why}\n`);
  });

  it('counts an OnDelete DaemonSet healthy once observed, and an empty one (no node selected) healthy', () => {
    const r = hook({ 'kube-system': { sets: [daemonSet('cni-migrate-newcomer-switch', { desired: 0, updated: 0, available: 0 }), daemonSet('od', { desired: 3, updated: 1, available: 1, onDelete: true })] } });
    expect(r.code).toBe(0);
    const stale = hook({ 'kube-system': { sets: [daemonSet('od', { generation: 2, observed: 1, desired: 3, updated: 3, available: 3, onDelete: true })] } });
    expect(stale.code).toBe(1);
  });

  it('fails at once on a Failed Job, with its message, however long it may wait; a running Job is Progressing', () => {
    const failed = hook({ 'cni-migrate-probe': { jobs: [job('probe-from-calico-1', 'cni-migrate-probe', [{ type: 'Failed', status: 'True', message: 'Job has reached the specified backoff limit' }])] } }, { TIMEOUT_SECONDS: '600' });
    expect([failed.code, failed.log]).toEqual([1, expect.stringContaining('\nfailed Job cni-migrate-probe/probe-from-calico-1: Job has reached the specified backoff limit\n')]);
    // It did not wait: one look at each list.
    expect(failed.calls.length).toBe(2);
    const running = hook({ 'kube-system': { jobs: [job('cidr-supernet-1', 'kube-system', []), job('old', 'kube-system', [{ type: 'Failed', status: 'False' }])] } });
    expect([running.code, running.log]).toEqual([1, expect.stringContaining('step-healthy: 2 object(s) of this step are not healthy; PLAN.md, "If this step is stuck", says how to retry each:\nprogressing Job kube-system/cidr-supernet-1: not complete yet\nprogressing Job kube-system/old: not complete yet\n')]);
  });

  it('leaves out Argo CD\'s own hooks (the gate that just ran, this hook itself)', () => {
    const r = hook({ 'kube-system': { jobs: [job('gate-calico-ready-1', 'kube-system', [{ type: 'Failed', status: 'True' }], { 'argocd.argoproj.io/hook': 'PreSync' }), job('step-healthy-1', 'kube-system', [], { 'argocd.argoproj.io/hook': 'PostSync' })], sets: [daemonSet('hooked', { desired: 3, updated: 0, available: 0 }, { annotations: { 'argocd.argoproj.io/hook': 'PostSync' } })] } });
    expect([r.code, r.log.trim()]).toEqual([0, 'step-healthy: every DaemonSet and Job of this step is healthy']);
  });

  it('waits while something is Progressing and passes once it is healthy', () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'step-healthy-'));
    try {
      fs.writeFileSync(path.join(store, 'calls.log'), '');
      fs.writeFileSync(path.join(store, 'JobList.kube-system.json'), JSON.stringify({ items: [] }));
      fs.writeFileSync(path.join(store, 'DaemonSetList.kube-system.json'), JSON.stringify({ items: [daemonSet('w', { desired: 2, updated: 2, available: 1 })] }));
      // The stand-in kubectl is wrapped: its third call finds the pod available (the rollout went on meanwhile).
      const wrapper = `n=$(wc -l < "$FAKE_KUBE_STORE/calls.log"); if [ "$n" -ge 2 ]; then printf '%s' '${JSON.stringify({ items: [healthySet('w', 2)] })}' > "$FAKE_KUBE_STORE/DaemonSetList.kube-system.json"; fi`;
      const r = runInImage('kubectl', `kubectl() { ${wrapper}; command kubectl "$@"; }\n${readScript('step-healthy.sh').replace('#!/bin/sh', '')}`, { WORK_DIR: store, FAKE_KUBE_STORE: store, NAMESPACES: 'kube-system', TIMEOUT_SECONDS: '30', INTERVAL_SECONDS: '1' });
      expect([r.code, r.log.trim()]).toEqual([0, 'step-healthy: every DaemonSet and Job of this step is healthy']);
      expect(fs.readFileSync(path.join(store, 'calls.log'), 'utf8').trim().split('\n').length).toBe(4);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  it('gives up at its timeout naming what is still Progressing', () => {
    const r = hook({ 'kube-system': { sets: [daemonSet('cni-migrate-switch-wave-3', { desired: 1, updated: 1, available: 0 })] } }, { TIMEOUT_SECONDS: '2', INTERVAL_SECONDS: '1' });
    expect([r.code, r.log]).toEqual([1, expect.stringContaining('progressing DaemonSet kube-system/cni-migrate-switch-wave-3: 0 of 1 pods available')]);
    expect(r.calls.length).toBeGreaterThanOrEqual(4);
  });

  it.each(['jq', 'sleep', 'kubectl'])('fails closed without %s in the image, before it reads anything', (tool) => {
    const r = runInImage('kubectl', readScript('step-healthy.sh'), { NAMESPACES: 'kube-system', WORK_DIR: os.tmpdir() }, { without: [tool] });
    expect([r.code, r.stderr.trim()]).toEqual([1, `step-healthy: ERROR: ${tool} not found in the image`]);
  });

  it('refuses to run without NAMESPACES', () => {
    const r = runInImage('kubectl', readScript('step-healthy.sh'), { WORK_DIR: os.tmpdir() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('NAMESPACES must name the namespaces to check');
  });
});

describe('step-healthy.sh with the real kubectl against the recorded-response API server', () => {
  const api = new FakeApiServer();
  let work = '';
  let kubeconfig = '';
  beforeAll(async () => {
    if (!requirePeer(REAL_KUBECTL !== undefined, 'kubectl (Debian package kubernetes-client)', 'the PostSync hook with the real kubectl')) return;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'step-healthy-real-'));
    // kubectl sends no bearer token to a plain-http server.
    api.requireToken = false;
    kubeconfig = api.writeKubeconfig(work, await api.start());
  });
  afterAll(async () => {
    await api.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('lists both namespaces by label through pages and names the stuck switch set and the failed Job', async () => {
    const sel = '?labelSelector=app.kubernetes.io%2Fname%3Dcni-migrate';
    api.setList(`/apis/apps/v1/namespaces/kube-system/daemonsets${sel}`, [...Array.from({ length: 20 }, (_, i) => healthySet(`cni-migrate-switch-wave-${i + 1}`, 250)), daemonSet('cni-migrate-switch-wave-21', { desired: 250, updated: 250, available: 249 })]);
    api.setList(`/apis/batch/v1/namespaces/kube-system/jobs${sel}`, [complete('cidr-supernet-1')]);
    api.setList(`/apis/apps/v1/namespaces/cni-migrate-probe/daemonsets${sel}`, []);
    api.setList(`/apis/batch/v1/namespaces/cni-migrate-probe/jobs${sel}`, [job('probe-from-calico-1', 'cni-migrate-probe', [{ type: 'Failed', status: 'True', message: 'Job has reached the specified backoff limit' }])]);
    const r = await runInKubectlImageAsync(readScript('step-healthy.sh'), { KUBECONFIG: kubeconfig, HOME: work, WORK_DIR: work, NAMESPACES: 'kube-system cni-migrate-probe', TIMEOUT_SECONDS: '0' });
    expect([r.code, r.stderr]).toEqual([1, 'step-healthy: 2 object(s) of this step are not healthy; PLAN.md, "If this step is stuck", says how to retry each:\nfailed Job cni-migrate-probe/probe-from-calico-1: Job has reached the specified backoff limit\nprogressing DaemonSet kube-system/cni-migrate-switch-wave-21: 249 of 250 pods available\n']);
    // 21 sets in pages of at most 7 (the server's cap): three pages.
    expect(api.requests.filter((q) => q.includes('/namespaces/kube-system/daemonsets')).length).toBe(3);
  });
});

describe('the hook in the output', () => {
  it('is a PostSync hook at every Argo CD step after adopt, the same file from wave to wave, read-only and namespaced', async () => {
    const ws = demoWorkspace();
    const files = new Map<string, Map<string, string>>();
    for (const step of ['calico', 'nodes-1', 'nodes-2', 'weave-removed', 'finalized']) {
      setStep(ws, step);
      const out = path.join(ws.dir, `d-${step}`);
      expect((await cli(ws, 'synth', '--out', out)).code).toBe(0);
      const objs = readManifests(out).map((m) => m.obj).filter((o: any) => o.metadata?.labels?.['app.kubernetes.io/component'] === 'step-healthy');
      for (const o of objs as any[]) expect([step, o.kind, o.metadata.annotations?.['argocd.argoproj.io/hook']]).toEqual([step, o.kind, 'PostSync']);
      const roles = objs.filter((o: any) => o.kind === 'Role') as any[];
      expect([step, roles.map((r) => r.metadata.namespace)]).toEqual([step, step === 'finalized' ? ['kube-system'] : ['cni-migrate-probe', 'kube-system']]);
      for (const r of roles) expect(r.rules).toEqual([{ apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['list'] }, { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] }]);
      expect(objs.some((o: any) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
      const job = objs.find((o: any) => o.kind === 'Job') as any;
      const pod = job.spec.template.spec;
      expect([pod.hostNetwork, pod.containers[0].securityContext.privileged, pod.containers[0].securityContext.runAsNonRoot, job.spec.backoffLimit]).toEqual([undefined, undefined, true, 0]);
      const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value]));
      expect(env.TIMEOUT_SECONDS).toBe(String(600 + 240));
      expect(job.spec.activeDeadlineSeconds).toBe(600 + 240 + 120);
      files.set(step, new Map(fs.readdirSync(path.join(out, '00-gate')).filter((f) => f.includes('step-healthy')).map((f) => [f, fs.readFileSync(path.join(out, '00-gate', f), 'utf8')])));
    }
    // Advancing a wave changes no file of it (issue 14: a wave commit touches that wave's files only).
    expect(files.get('nodes-2')).toEqual(files.get('nodes-1'));
    expect(files.get('nodes-1')!.size).toBeGreaterThan(0);
  });

  it('is not in Flux\'s output, whose Kustomizations wait for every object of a layer at every reconcile', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    setStep(ws, 'nodes-1');
    const out = path.join(ws.dir, 'd');
    expect((await cli(ws, 'synth', '--out', out)).code).toBe(0);
    expect(readManifests(out).map((m) => m.obj).filter((o: any) => o.metadata?.labels?.['app.kubernetes.io/component'] === 'step-healthy')).toEqual([]);
  });
});
