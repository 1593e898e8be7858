/**
 * Objects too large for Argo CD's client-side apply: kubectl copies the object into an annotation,
 * and the API server caps an object's annotations at 256 KiB. The simulator refuses such an apply as
 * the API server does; these tests hold synth to never giving it one, at 5,000 nodes with long names,
 * and hold the simulator's refusal to the API server's arithmetic.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { generateCluster } from '../bench/generate';
import { lastAppliedBytes, needsServerSideApply, SERVER_SIDE_APPLY_ABOVE_BYTES, withServerSideApply } from '../src/gitops/server-side-apply';
import { toYaml } from '../src/synth/render';
import { argoApplyRefusal, GitOpsSimulator } from './support/gitops-simulator';
import { REPO_ROOT } from './support/workspace';

const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';

function configMap(name: string, data: string, annotations?: Record<string, string>): any {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...(annotations ? { annotations } : {}), name, namespace: 'kube-system' }, data: { text: data } };
}

describe('the size kubectl stores for a client-side apply', () => {
  it('counts <, > and & as the six-byte escapes of Go\'s encoder', () => {
    const plain = configMap('a', 'x'.repeat(1000));
    const escaped = configMap('a', '&'.repeat(400) + '<'.repeat(300) + '>'.repeat(300));
    expect(lastAppliedBytes(escaped)).toBe(lastAppliedBytes(plain) + 5 * 1000);
    expect(lastAppliedBytes(configMap('a', 'é'))).toBe(Buffer.byteLength(JSON.stringify(configMap('a', 'é'))));
  });

  it('asks for a server-side apply exactly past the threshold, measuring Go\'s escapes', () => {
    const base = lastAppliedBytes(configMap('a', ''));
    const at = configMap('a', 'x'.repeat(SERVER_SIDE_APPLY_ABOVE_BYTES - base));
    expect(lastAppliedBytes(at)).toBe(SERVER_SIDE_APPLY_ABOVE_BYTES);
    expect(needsServerSideApply(at)).toBe(false);
    const past = configMap('a', 'x'.repeat(SERVER_SIDE_APPLY_ABOVE_BYTES - base + 1));
    expect(needsServerSideApply(past)).toBe(true);
    // Under the threshold in JavaScript's JSON, over it in kubectl's.
    const ampersands = configMap('a', '&&'.repeat(15000));
    expect(Buffer.byteLength(JSON.stringify(ampersands))).toBeLessThan(SERVER_SIDE_APPLY_ABOVE_BYTES);
    expect(needsServerSideApply(ampersands)).toBe(true);
    expect(needsServerSideApply(configMap('a', 'x'.repeat(1000)))).toBe(false);
  });

  it('puts ServerSideApply=true first among the other sync options, in cdk8s\'s key order, once', () => {
    const kept = withServerSideApply(configMap('a', 'x', { 'argocd.argoproj.io/sync-wave': '40', [SYNC_OPTIONS]: 'Prune=false,Delete=false' }));
    expect(kept.metadata.annotations).toEqual({ [SYNC_OPTIONS]: 'ServerSideApply=true,Prune=false,Delete=false', 'argocd.argoproj.io/sync-wave': '40' });
    expect(Object.keys(kept.metadata.annotations)).toEqual([SYNC_OPTIONS, 'argocd.argoproj.io/sync-wave']);
    expect(Object.keys(kept)).toEqual(['apiVersion', 'kind', 'metadata', 'data']);
    expect(withServerSideApply(kept)).toBe(kept);
    const bare = withServerSideApply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { labels: { a: 'b' }, name: 'a' }, data: {} });
    expect(Object.keys(bare.metadata)).toEqual(['annotations', 'labels', 'name']);
    expect(bare.metadata.annotations).toEqual({ [SYNC_OPTIONS]: 'ServerSideApply=true' });
  });
});

describe('the simulator\'s Argo CD apply', () => {
  const big = 'x'.repeat(270_000);

  it('is refused by the API server past 256 KiB of annotations, client-side only', () => {
    expect(argoApplyRefusal(configMap('small', 'x'.repeat(1000)))).toBeUndefined();
    expect(argoApplyRefusal(configMap('big', big))).toMatch(/^ConfigMap kube-system\/big is invalid: metadata\.annotations: Too long: must have at most 262144 bytes/);
    expect(argoApplyRefusal(configMap('big', big, { [SYNC_OPTIONS]: 'ServerSideApply=true' }))).toBeUndefined();
    // The copy comes on top of the object's own annotations, which the copy also holds: 130,000
    // bytes of annotation make an object of about 130 KB whose annotations pass 260 KB.
    expect(argoApplyRefusal(configMap('noted', '', { note: 'y'.repeat(131_000) }))).toBeDefined();
  });

  it('stops the sync at the wave of the refused object, with Argo CD; Flux applies it', () => {
    const write = (dir: string, obj: any) => {
      fs.mkdirSync(path.join(dir, '60-probe'), { recursive: true });
      fs.writeFileSync(path.join(dir, '60-probe', 'configmap.yaml'), toYaml(obj));
    };
    const refused = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ssa-'));
    const fine = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ssa-'));
    try {
      write(refused, configMap('big', big));
      write(fine, configMap('big', big, { [SYNC_OPTIONS]: 'ServerSideApply=true' }));
      const argo = new GitOpsSimulator(['worker-1'], { skipControlPlaneJobs: true, skipGates: true }).applyAs('argocd', refused);
      expect(argo.waitingAt).toEqual({ layer: '60-probe', unhealthy: [expect.stringContaining('ConfigMap kube-system/big is invalid: metadata.annotations: Too long')] });
      expect(new GitOpsSimulator(['worker-1'], { skipControlPlaneJobs: true, skipGates: true }).applyAs('argocd', fine).waitingAt).toBeUndefined();
      expect(new GitOpsSimulator(['worker-1'], { skipControlPlaneJobs: true, skipGates: true }).applyAs('flux', refused).waitingAt).toBeUndefined();
    } finally {
      fs.rmSync(refused, { recursive: true, force: true });
      fs.rmSync(fine, { recursive: true, force: true });
    }
  });

  it('refuses a PreSync hook too large for a client-side apply before any wave, and not in a self-heal (hooks skipped)', () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ssa-'));
    try {
      fs.mkdirSync(path.join(dist, '00-gate'));
      fs.writeFileSync(path.join(dist, '00-gate', 'configmap.yaml'), toYaml(configMap('gate-wave-1', big, { 'argocd.argoproj.io/hook': 'PreSync' })));
      const sim = () => new GitOpsSimulator(['worker-1'], { skipControlPlaneJobs: true, skipGates: true });
      expect(sim().applyAs('argocd', dist).waitingAt).toEqual({ layer: '00-gate', unhealthy: [expect.stringContaining('ConfigMap kube-system/gate-wave-1 is invalid: metadata.annotations: Too long')] });
      expect(sim().applyAs('argocd', dist, { selfHeal: true }).waitingAt).toBeUndefined();
    } finally {
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });
});

/**
 * dist/ of `step` for a generated cluster, rendered by the compiled app in a child process (5,000
 * nodes are slow inside Jest's module sandbox), as {file: object}.
 */
function renderedObjects(config: string, step: string): Record<string, any> {
  const script = `
    const { loadPlan, buildPlan } = require(${JSON.stringify(path.join(REPO_ROOT, 'build', 'src', 'plan', 'migration-plan.js'))});
    const { renderStep } = require(${JSON.stringify(path.join(REPO_ROOT, 'build', 'src', 'synth', 'render.js'))});
    const [config, step] = JSON.parse(process.argv[1]);
    const base = loadPlan({ configFile: config });
    const dist = renderStep(buildPlan({ ...base.migration, spec: { ...base.migration.spec, step } }, base.snapshot, config, config)).dist;
    process.stdout.write(JSON.stringify(Object.fromEntries([...dist].filter(([f]) => f.endsWith('.yaml')))));`;
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify([config, step])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return Object.fromEntries(Object.entries(JSON.parse(r.stdout) as Record<string, string>).map(([f, text]) => [f, YAML.parse(text)]));
}

describe('synth at 5,000 nodes with long names', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ssa-scale-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const g = generateCluster(dir, 5000, 12, 10, 'nodes-1');
  // Names as long as a GCE instance's internal DNS name (instance.zone.c.project.internal).
  for (const f of [g.config, path.join(dir, 'cluster', 'nodes.yaml')]) {
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/\.example\.internal/g, '.europe-west4-a.c.payments-production-0123.internal'));
  }
  const setEngine = (engine: string) => fs.writeFileSync(g.config, fs.readFileSync(g.config, 'utf8').replace(/engine: \S+/, `engine: ${engine}`));

  it('gives Argo CD no object it must refuse: the newcomers\' DaemonSet, past 256 KiB, is applied server-side', () => {
    setEngine('argocd');
    const objs = renderedObjects(g.config, 'nodes-1');
    const refusals = Object.values(objs).map(argoApplyRefusal).filter((r) => r);
    expect(refusals).toEqual([]);
    const newcomers = objs['40-nodes/daemonset-kube-system-cni-migrate-newcomer-switch.yaml'];
    expect(newcomers.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values).toHaveLength(5000);
    expect(newcomers.metadata.annotations[SYNC_OPTIONS]).toBe('ServerSideApply=true');
    // Without the option, the API server would refuse it, and the step could never sync.
    const clientSide = { ...newcomers, metadata: { ...newcomers.metadata, annotations: { 'argocd.argoproj.io/sync-wave': '40' } } };
    expect(argoApplyRefusal(clientSide)).toMatch(/Too long: must have at most 262144 bytes/);
    // Only what is large: a wave's DaemonSet (500 names) stays client-side.
    expect(objs['40-nodes/daemonset-kube-system-cni-migrate-switch-wave-2.yaml'].metadata.annotations[SYNC_OPTIONS]).toBeUndefined();
  });

  it('leaves Flux\'s objects as they are: kustomize-controller applies server-side', () => {
    setEngine('flux');
    const objs = renderedObjects(g.config, 'nodes-1');
    const newcomers = objs['40-nodes/daemonset-kube-system-cni-migrate-newcomer-switch.yaml'];
    expect(newcomers.metadata.annotations?.[SYNC_OPTIONS]).toBeUndefined();
    expect(Object.values(objs).filter((o) => o.kind !== 'CustomResourceDefinition' && o.metadata?.annotations?.[SYNC_OPTIONS]?.includes('ServerSideApply'))).toEqual([]);
  });
});
