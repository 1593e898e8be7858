/**
 * Synth of every step of the demo, for both engines: what each layer holds, determinism, the
 * schemas, and the GitOps wiring (sync-waves, kustomize layers, the bootstrap).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { stepList } from '../src/steps/steps';
import { checkSchemas } from './support/schemas';
import { requirePeer } from './support/peers';
import { stepsOf, switchSetsByNode } from './support/jobs';
import { cli, demoWorkspace, editConfig, readManifests, REPO_ROOT, setStep, treeDigest, type Workspace } from './support/workspace';

const STEPS = stepList(5).map((s) => s.name);
const WAVES = [['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1'], ['cp-2']];
const NODES = WAVES.flat();

interface StepOutput {
  readonly step: string;
  readonly files: Map<string, string>;
  readonly layer: (id: string) => any[];
  readonly stepJson: any;
}

async function synthAll(engine: 'argocd' | 'flux'): Promise<{ ws: Workspace; outputs: StepOutput[] }> {
  const ws = demoWorkspace();
  if (engine === 'flux') editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
  const outputs: StepOutput[] = [];
  for (const step of STEPS) {
    setStep(ws, step);
    const r = await cli(ws, 'synth');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const files = new Map<string, string>();
    for (const [rel] of treeDigest(ws.dist)) files.set(rel, fs.readFileSync(path.join(ws.dist, rel), 'utf8'));
    const manifests = readManifests(ws.dist);
    outputs.push({
      step,
      files,
      layer: (id) => manifests.filter((m) => m.file.startsWith(`${id}/`)).map((m) => m.obj),
      stepJson: JSON.parse(files.get('step.json')!),
    });
  }
  return { ws, outputs };
}

describe.each(['argocd', 'flux'] as const)('synth with %s', (engine) => {
  let ws: Workspace;
  let outputs: StepOutput[];
  beforeAll(async () => {
    ({ ws, outputs } = await synthAll(engine));
  });
  const at = (step: string) => outputs.find((o) => o.step === step)!;

  it('PLAN.md says, from calico on, how to retry a failed Job, re-run a refused gate and leave a sync that waits, with this engine\'s commands', () => {
    const section = (step: string) => {
      const plan = at(step).files.get('PLAN.md')!;
      const start = plan.indexOf('## If this step is stuck');
      return start < 0 ? undefined : plan.slice(start, plan.indexOf('\n## ', start + 1));
    };
    expect(section('adopt')).toBeUndefined();
    for (const step of STEPS.slice(1)) {
      const text = section(step)!;
      const gate = at(step).layer('00-gate').find((o) => o.kind === 'Job' && o.metadata.labels?.['app.kubernetes.io/component'] === 'gate');
      if (engine === 'argocd') {
        // Retry a failed Job, re-run a refused gate, re-run the PostSync hook once what it names is fixed.
        expect([step, text.match(/`argocd app sync cni-migrate-demo`/g)?.length]).toEqual([step, gate ? 3 : 2]);
        expect(text).toContain('**The PostSync hook `step-healthy` failed**');
        expect(text).toContain('`argocd app terminate-op cni-migrate-demo`');
        expect(text).not.toContain('flux ');
      } else {
        expect(text).toContain('flux reconcile kustomization <kustomization> --namespace flux-system --with-source');
        if (gate) expect(text).toContain(`\`kubectl delete job --namespace=kube-system ${gate.metadata.name}\` and \`flux reconcile kustomization cni-migrate-demo-00-gate --namespace flux-system --with-source\``);
        expect(text).not.toContain('argocd ');
      }
      expect([step, text.includes('**The gate refused**')]).toEqual([step, !!gate]);
    }
  });

  it('writes every layer folder in apply order, PLAN.md and step.json', () => {
    for (const o of outputs) {
      expect(o.files.has('PLAN.md')).toBe(true);
      expect(o.stepJson).toMatchObject({ kind: 'StepReport', step: o.step, engine, total: 12 });
      const folders = [...new Set([...o.files.keys()].filter((f) => f.includes('/')).map((f) => f.split('/')[0]))];
      for (const f of folders) expect(f).toMatch(/^(00-gate|10-calico|20-control-plane|30-policies|40-nodes|50-weave|60-probe)$/);
      if (engine === 'flux') expect(folders).toEqual(['00-gate', '10-calico', '20-control-plane', '30-policies', '40-nodes', '50-weave', '60-probe']);
      else expect([...o.files.keys()].some((f) => f.endsWith('kustomization.yaml'))).toBe(false);
    }
  });

  it('adopt: owns Weave and the policies unchanged, nothing else', () => {
    const o = at('adopt');
    expect(o.layer('40-nodes')).toEqual([]);
    expect(o.layer('50-weave').map((x) => `${x.kind}/${x.metadata.name}`).sort()).toEqual(
      ['ClusterRole/weave-net', 'ClusterRoleBinding/weave-net', 'DaemonSet/weave-net', 'Role/weave-net', 'RoleBinding/weave-net', 'ServiceAccount/weave-net']);
    const policies = o.layer('30-policies');
    expect(policies).toHaveLength(12);
    // Byte-for-byte the backed-up objects, apart from the sync-wave annotation Argo CD needs.
    for (const p of policies) {
      const original = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'cluster', 'networkpolicies', p.metadata.namespace, `${p.metadata.name}.yaml`), 'utf8'));
      const copy = structuredClone(p);
      if (engine === 'argocd') {
        expect(copy.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('30');
        delete copy.metadata.annotations['argocd.argoproj.io/sync-wave'];
        if (Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
      }
      expect(copy).toEqual(original);
    }
  });

  // Per inventory node, the desired state of the one switch DaemonSet that selects it.
  const desiredByNode = (step: string) => {
    const sets = switchSetsByNode(at(step).layer('40-nodes'), NODES);
    for (const [n, s] of sets) expect([n, s.length]).toEqual([n, 1]);
    return Object.fromEntries([...sets].map(([n, [ds]]) => [n, ds.metadata.labels['cni-migrate.io/desired']]));
  };

  it('calico: every node is selected by one weave-first switch DaemonSet, and no node Job is left', () => {
    expect(desiredByNode('calico')).toEqual(Object.fromEntries(NODES.map((n) => [n, 'weave-first'])));
    const sets = at('calico').layer('40-nodes').filter((o) => o.kind === 'DaemonSet');
    for (const ds of sets) expect(stepsOf(ds).find((c: any) => c.name === 'switch').env).toContainEqual({ name: 'DESIRED', value: 'weave-first' });
    expect(outputs.flatMap((o) => o.layer('40-nodes')).filter((x) => x.kind === 'Job')).toEqual([]);
  });

  it('policies leave at policies-suspended and stay out until policies-restored', () => {
    const count = Object.fromEntries(outputs.map((o) => [o.step, o.layer('30-policies').filter((x: any) => x.kind === 'NetworkPolicy').length]));
    // While they are out, the freeze on creating them is in (and only then).
    const frozen = Object.fromEntries(outputs.map((o) => [o.step, o.layer('30-policies').filter((x: any) => x.kind === 'ValidatingAdmissionPolicy').length]));
    expect(Object.entries(frozen).filter(([, n]) => n === 1).map(([s]) => s)).toEqual(Object.entries(count).filter(([, n]) => n === 0).map(([s]) => s));
    expect(count).toEqual({ adopt: 12, calico: 12, 'cluster-cidr': 12, 'policies-suspended': 0, 'nodes-1': 0, 'nodes-2': 0, 'nodes-3': 0, 'nodes-4': 0, 'nodes-5': 0, 'weave-removed': 0, 'policies-restored': 12, finalized: 12 });
  });

  it('nodes-k: waves 1..k are calico-first, the rest weave-first', () => {
    for (let k = 1; k <= WAVES.length; k++) {
      const desired = desiredByNode(`nodes-${k}`);
      for (let w = 0; w < WAVES.length; w++) for (const n of WAVES[w]) expect([n, desired[n]]).toEqual([n, w < k ? 'calico-first' : 'weave-first']);
    }
  });

  it('weave-removed: Weave is pruned and every node keeps Calico first; finalized drops the copy', () => {
    const o = at('weave-removed');
    // Weave's own objects are gone; what is left in the layer is its removal.
    expect(o.layer('50-weave').filter((x) => !['weave-removal', 'job-script'].includes(x.metadata.labels?.['app.kubernetes.io/component']))).toEqual([]);
    // One DaemonSet for every node from here: the final-name switch replaces the waves' (whose
    // source, 20-calico.conflist, install-cni has removed), and it selects every Linux node by
    // label alone, so it converges the nodes that joined since the snapshot too.
    const sets = (step: string) => at(step).layer('40-nodes').filter((x) => x.kind === 'DaemonSet');
    expect(sets('weave-removed').map((d) => d.metadata.name)).toEqual(['cni-migrate-switch-all']);
    const [all] = sets('weave-removed');
    expect(all.metadata.labels['cni-migrate.io/desired']).toBe('calico-first');
    expect(all.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields).toBeUndefined();
    expect(desiredByNode('weave-removed')).toEqual(Object.fromEntries(NODES.map((n) => [n, 'calico-first'])));
    // It waits for calico-node, switches (no drain: the node is on Calico already), releases a
    // cordon this tool may have left, then holds the pod Ready.
    expect(stepsOf(all).map((c: any) => c.name)).toEqual(['wait-for-calico-node', 'switch', 'uncordon', 'converged']);
    expect(desiredByNode('finalized')).toEqual(Object.fromEntries(NODES.map((n) => [n, 'calico-native'])));
    expect(at('finalized').layer('50-weave').filter((x) => x.metadata.name === 'weave-net')).toEqual([]);
  });

  it('step.json carries the cluster CIDR of each step', () => {
    const cidr = Object.fromEntries(outputs.map((o) => [o.step, o.stepJson.network.clusterCIDR]));
    expect(cidr.adopt).toBe('unchanged');
    expect(cidr.calico).toBe('unchanged');
    expect(cidr['cluster-cidr']).toBe('10.32.0.0/11');
    expect(cidr['policies-restored']).toBe('10.32.0.0/11');
    // podCIDRs come from the Weave range and kcm allocates: the final value keeps the supernet.
    expect(cidr.finalized).toBe('10.32.0.0/11');
  });

  it('Jobs never need an in-place update: one name, one content, across all steps', () => {
    const seen = new Map<string, string>();
    for (const o of outputs) {
      for (const [file, text] of o.files) {
        if (!/^\d\d-[a-z-]+\/job-/.test(file)) continue;
        const job = YAML.parse(text);
        expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
        const key = `${job.metadata.namespace}/${job.metadata.name}`;
        if (seen.has(key)) expect(text).toBe(seen.get(key));
        seen.set(key, text);
      }
    }
    expect(seen.size).toBeGreaterThan(0);
  });

  it(engine === 'argocd' ? 'argocd: every step but adopt ends with a PostSync hook, so its sync ends only once every object is healthy' : 'flux: no PostSync hook (each layer waits for its own health)', () => {
    for (const o of outputs) {
      const hooks = [...o.files].filter(([f]) => f.endsWith('.yaml')).map(([, t]) => YAML.parse(t)).filter((x) => x.metadata?.annotations?.['argocd.argoproj.io/hook'] === 'PostSync');
      if (engine === 'flux' || o.step === 'adopt') {
        expect([o.step, hooks]).toEqual([o.step, []]);
        continue;
      }
      // The Job, its script, and a read-only account that lists our DaemonSets and Jobs.
      const roles = o.step === 'finalized' ? 1 : 2;
      expect([o.step, hooks.map((h) => h.kind).sort()]).toEqual([o.step, ['ConfigMap', 'Job', ...Array(roles).fill('Role'), ...Array(roles).fill('RoleBinding'), 'ServiceAccount'].sort()]);
      const job = hooks.find((h) => h.kind === 'Job');
      const pod = job.spec.template.spec;
      // Its token lists; no host access, no privilege.
      expect([pod.automountServiceAccountToken, pod.serviceAccountName]).toEqual([true, 'cni-migrate-step-healthy']);
      expect(pod.hostNetwork ?? pod.hostPID ?? pod.hostIPC).toBeUndefined();
      expect(pod.volumes.every((v: any) => !v.hostPath)).toBe(true);
      expect(pod.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
      expect(pod.containers[0].command[1]).toMatch(/\/step-healthy\.sh$/);
      for (const r of hooks.filter((h) => h.kind === 'Role')) expect(r.rules.flatMap((x: any) => x.verbs)).toEqual(['list', 'list']);
    }
  });

  it('DaemonSets of ours keep their selector across every step (the API server refuses to change it), and no two select the same pods', () => {
    const selectors = new Map<string, string>();
    for (const o of outputs) {
      const sets = [...o.files].filter(([f]) => /\/daemonset-kube-system-cni-migrate-/.test(f)).map(([, t]) => YAML.parse(t));
      expect(sets.length).toBeGreaterThan(o.step === 'adopt' ? -1 : 0);
      for (const ds of sets) {
        const sel = JSON.stringify(ds.spec.selector);
        if (selectors.has(ds.metadata.name)) expect([o.step, ds.metadata.name, sel]).toEqual([o.step, ds.metadata.name, selectors.get(ds.metadata.name)]);
        selectors.set(ds.metadata.name, sel);
        // Its selector matches its own pods and no other DaemonSet's (controllers would fight over them).
        const selects = (pod: Record<string, string>) => Object.entries(ds.spec.selector.matchLabels).every(([k, v]) => pod[k] === v);
        expect(sets.filter((other) => selects(other.spec.template.metadata.labels)).map((x) => x.metadata.name)).toEqual([ds.metadata.name]);
      }
    }
  });

  it('every object validates against the Kubernetes, Argo CD and Flux schemas with no unknown fields', () => {
    const all = new Map<string, { file: string; obj: any }>();
    for (const o of outputs) {
      for (const [file, text] of o.files) {
        if (file.endsWith('.yaml') && !file.endsWith('kustomization.yaml')) all.set(text, { file: `${o.step}/${file}`, obj: YAML.parse(text) });
      }
    }
    for (const m of readManifests(ws.gitops)) all.set(JSON.stringify(m.obj), { file: `gitops/${m.file}`, obj: m.obj });
    expect(checkSchemas([...all.values()])).toEqual([]);
  });

  it('two synths of the same inputs are byte-identical', async () => {
    setStep(ws, 'nodes-3');
    await cli(ws, 'synth');
    const first = treeDigest(ws.dist);
    const gitopsFirst = treeDigest(ws.gitops);
    await cli(ws, 'synth');
    expect(treeDigest(ws.dist)).toEqual(first);
    expect(treeDigest(ws.gitops)).toEqual(gitopsFirst);
    // And a third, into another folder, from another workspace with the same inputs.
    const other = demoWorkspace();
    if (engine === 'flux') editConfig(other, (d) => (d.spec.gitops.engine = 'flux'));
    setStep(other, 'nodes-3');
    await cli(other, 'synth', '--out', path.join(other.dir, 'elsewhere'));
    expect(treeDigest(path.join(other.dir, 'elsewhere'))).toEqual(first);
  });

  it('advancing one wave changes only that wave\'s node files, its gate (the room for its drains), the probe, PLAN.md and step.json', () => {
    for (let k = 2; k <= WAVES.length; k++) {
      const a = at(`nodes-${k - 1}`).files;
      const b = at(`nodes-${k}`).files;
      const changed = [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f));
      // The wave's own switch DaemonSet (one per runtime when restarts are on and the wave mixes them).
      const own = new RegExp(`^40-nodes/daemonset-kube-system-cni-migrate-switch-wave-${k}(-[a-z]+)?\\.yaml$`);
      // The probe is the step's own: its servers and loss probers restart, its Jobs run again and the
      // tunnel check moves on to the next wave, at every step.
      const probe = changed.filter((f) => f.startsWith('60-probe/'));
      expect(probe).toEqual(expect.arrayContaining(['60-probe/deployment-cni-migrate-probe-probe-loss-from-weave.yaml', '60-probe/deployment-cni-migrate-probe-probe-loss-from-calico.yaml']));
      const others = changed.filter((f) => !own.test(f) && !probe.includes(f));
      const gate = others.filter((f) => f.startsWith('00-gate/') && f !== '00-gate/kustomization.yaml');
      // The previous wave's gate Job and node list go, this wave's come.
      expect(gate.map((f) => f.replace(/-[0-9a-f]{8}\.yaml$/, '')).sort()).toEqual([
        `00-gate/configmap-kube-system-cni-migrate-gate-wave-${k - 1}`, `00-gate/configmap-kube-system-cni-migrate-gate-wave-${k}`,
        '00-gate/job-kube-system-gate-calico-ready-drain-capacity', '00-gate/job-kube-system-gate-calico-ready-drain-capacity',
      ]);
      expect(others.filter((f) => !gate.includes(f)).sort()).toEqual(engine === 'flux' ? ['00-gate/kustomization.yaml', 'PLAN.md', 'step.json'] : ['PLAN.md', 'step.json']);
      expect(changed.length - others.length - probe.length).toBe(1);
    }
  });
});

describe('GitOps wiring', () => {
  it('argocd: sync-wave per layer and an Application over dist/ with no finalizer', async () => {
    const ws = demoWorkspace();
    setStep(ws, 'nodes-1');
    await cli(ws, 'synth');
    for (const m of readManifests(ws.dist)) {
      expect(m.obj.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(String(Number(m.file.slice(0, 2))));
    }
    const app = YAML.parse(fs.readFileSync(path.join(ws.gitops, 'application.yaml'), 'utf8'));
    expect(app.spec.source).toEqual({ repoURL: 'https://git.example.com/platform/cluster-network.git', targetRevision: 'main', path: 'dist', directory: { recurse: true, exclude: 'step.json' } });
    expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(app.metadata.finalizers).toBeUndefined();
    // Deleting the Application (argocd app delete cascades by default) deletes none of its objects.
    // Only what a commit changed is applied and waited for, so a revert is not held behind the
    // health of Calico's objects it leaves as they are.
    expect(app.spec.syncPolicy.syncOptions).toEqual(['Delete=false', 'ApplyOutOfSyncOnly=true']);
    // A retry takes the newest commit (a revert pushed meanwhile), unless turned off for an Argo CD before 3.1.
    expect(app.spec.syncPolicy.retry).toEqual({ limit: 5, backoff: { duration: '30s', factor: 2, maxDuration: '10m' }, refresh: true });
    editConfig(ws, (d) => (d.spec.gitops.retryRefresh = false));
    await cli(ws, 'synth');
    expect(YAML.parse(fs.readFileSync(path.join(ws.gitops, 'application.yaml'), 'utf8')).spec.syncPolicy.retry.refresh).toBeUndefined();
  });

  it('flux: a GitRepository and one Kustomization per layer, chained with dependsOn and wait', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops = { ...d.spec.gitops, engine: 'flux', revision: 'release', path: 'clusters/prod/dist' }));
    await cli(ws, 'synth');
    const objs = readManifests(ws.gitops).map((m) => m.obj);
    const repo = objs.find((o) => o.kind === 'GitRepository');
    expect(repo.spec).toMatchObject({ url: 'https://git.example.com/platform/cluster-network.git', ref: { branch: 'release' } });
    const ks = objs.filter((o) => o.kind === 'Kustomization');
    expect(ks.map((k) => k.spec.path)).toEqual(['00-gate', '10-calico', '20-control-plane', '30-policies', '40-nodes', '50-weave', '60-probe'].map((l) => `./clusters/prod/dist/${l}`));
    ks.forEach((k, i) => {
      expect(k.metadata.namespace).toBe('flux-system');
      // Calico's layer does not wait for calico-node's health: with wait, its not being healthy
      // would hold every later layer back, a revert's switch DaemonSets included.
      expect(k.spec).toMatchObject({ prune: true, wait: k.spec.path.endsWith('/10-calico') ? false : true, deletionPolicy: 'Orphan', sourceRef: { kind: 'GitRepository', name: repo.metadata.name } });
      expect(k.spec.dependsOn).toEqual(i === 0 ? undefined : [{ name: ks[i - 1].metadata.name }]);
    });
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  (requirePeer(kubectl.status === 0, 'kubectl (for kubectl kustomize)', 'the kustomize builds of the Flux layers') ? it : it.skip)('flux: every layer builds with kustomize (kubectl kustomize) to exactly its files', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    setStep(ws, 'nodes-2');
    await cli(ws, 'synth');
    for (const layer of fs.readdirSync(ws.dist).filter((f) => /^\d\d-/.test(f))) {
      const out = execFileSync('kubectl', ['kustomize', path.join(ws.dist, layer)], { encoding: 'utf8' });
      const built = YAML.parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
      const files = readManifests(path.join(ws.dist, layer)).map((m) => m.obj);
      const key = (o: any) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
      expect(built.map(key).sort()).toEqual(files.map(key).sort());
    }
  });
});

describe('cdk8s synth', () => {
  it('gives the same dist/ as cni-migrate synth', async () => {
    const ws = demoWorkspace();
    setStep(ws, 'nodes-2');
    await cli(ws, 'synth');
    const ours = treeDigest(ws.dist);
    fs.rmSync(ws.dist, { recursive: true });
    fs.writeFileSync(path.join(ws.dir, 'cdk8s.yaml'), fs.readFileSync(path.join(REPO_ROOT, 'cdk8s.yaml'), 'utf8').replace('node bin/cdk8s-app.js', `node ${path.join(REPO_ROOT, 'bin', 'cdk8s-app.js')}`));
    const r = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth'], { cwd: ws.dir, encoding: 'utf8', env: { ...process.env, HOME: ws.dir } });
    expect(r.status).toBe(0);
    expect(treeDigest(ws.dist)).toEqual(ours);
  });
});
