/**
 * The step model in process, on the demo inventory (6 nodes in 5 waves: worker-1 | worker-2,
 * worker-3 | worker-gpu-1 | cp-1 | cp-2): what every node converges to at each step, how the nodes
 * are grouped into switch DaemonSets, what newcomers get, the gate, the probe and tunnel checks,
 * the cluster CIDR, the policies and Weave's objects. model-agreement.test.ts checks that what is
 * rendered agrees with the model; this states what the model must be, so a one-line change in it
 * fails here (and a mutation run scores the step model in seconds per mutant).
 */
import type { NodeConvergence, NodeState } from '../src/model/node-states';
import { runtimeOf } from '../src/model/node-states';
import { gateCheckList } from '../src/model/gate-checks';
import { typhaReplicasFor } from '../src/model/calico-settings';
import { probeNetworks } from '../src/model/probe-targets';
import { ownedWeaveObjects } from '../src/model/adopted-objects';
import type { StepModel } from '../src/model/step-model';
import { switchSets } from '../src/model/switch-sets';
import type { Migration } from '../src/config/types';
import type { StepState } from '../src/steps/steps';
import { loadPlan } from '../src/plan/migration-plan';
import { demoWorkspace, editConfig, setStep, type Workspace } from './support/workspace';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';

const conv = (c: NodeConvergence) => [
  `${c.role}:${c.desired}:${c.calicoConfName}`,
  c.drain ? `drain${c.drain.timeoutSeconds}${c.drain.restartDaemonSetPods ? '+ds' : ''}` : '',
  c.restartRuntime ? `restart-${c.restartRuntime}` : '',
  c.weaveTaint ? 'taint' : '',
].filter(Boolean).join(':');
const node = (n: NodeState) => `${n.name} w${n.wave}${n.controlPlane ? ' cp' : ''} ${n.network}${n.switched ? ' switched' : ''} ${n.firstConflist}${n.drainedOnSwitch ? ' drained' : ''}${n.weaveLeftoversRemoved ? ' clean' : ''}${n.drainLanes ? ` lanes=${n.drainLanes}` : ''} [${n.convergences.map(conv).join(' ')}]`;
const sets = (m: StepModel) => m.switchSets.map((s) => `${s.name} ${s.nodes?.join(',') ?? '*'} ${conv(s.convergence)}${s.drainLanes ? ` lanes=${s.drainLanes}` : ''}`);

/** The demo with kubelet restarts on and worker-3 (wave 2, beside worker-2 on containerd) on `runtime`. */
function restartsWithWorker3On(runtime: string): Workspace {
  const ws = demoWorkspace();
  editConfig(ws, (d) => (d.spec.nodes.restartKubelet = true));
  const file = path.join(ws.cluster, 'nodes.yaml');
  const doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  doc.nodes.find((n: { name: string }) => n.name === 'worker-3').containerRuntime = runtime;
  fs.writeFileSync(file, YAML.stringify(doc));
  return ws;
}

function modelAt(ws: Workspace, step: string): StepModel {
  setStep(ws, step);
  return loadPlan({ configFile: ws.config }).model;
}

describe('the demo (drains on, a budget of 2 concurrent drains, DaemonSet pods restarted, kubelet restarted)', () => {
  const ws = demoWorkspace();
  editConfig(ws, (d) => {
    d.spec.nodes.maxConcurrentDrains = 2;
    d.spec.nodes.restartDaemonSetPods = true;
    d.spec.nodes.restartKubelet = true;
    d.spec.nodes.drainTimeoutSeconds = 900;
  });

  it('adopt: every node on Weave, nothing to converge, no gate, no probe', () => {
    const m = modelAt(ws, 'adopt');
    expect(m.nodes.map(node)).toEqual([
      'cp-1 w4 cp weave 10-weave.conflist lanes=1 []',
      'cp-2 w5 cp weave 10-weave.conflist lanes=1 []',
      'worker-1 w1 weave 10-weave.conflist lanes=1 []',
      'worker-2 w2 weave 10-weave.conflist lanes=2 []',
      'worker-3 w2 weave 10-weave.conflist lanes=2 []',
      'worker-gpu-1 w3 weave 10-weave.conflist lanes=1 []',
    ]);
    expect([sets(m), m.newcomers, m.gate, m.probe, m.tunnelCheck]).toEqual([[], { weaveLeftoversRemoved: false }, undefined, [], []]);
    expect([m.calico.installed, m.calico.confName, m.clusterCidr]).toEqual([false, '20-calico.conflist', { phase: 'original', value: undefined, targets: undefined }]);
    expect([m.policies.present, m.policies.objects.length, m.policies.freeze]).toEqual([true, 12, undefined]);
    expect([m.weave.present, m.weave.objects, m.weave.owned.length]).toEqual([true, m.weave.owned, 6]);
  });

  it('calico: every wave\'s switch keeps Weave first; newcomers too; the gate wants no pod on Calico; the first wave\'s tunnels are checked', () => {
    const m = modelAt(ws, 'calico');
    expect(m.nodes.map(node)).toEqual([
      'cp-1 w4 cp weave 10-weave.conflist lanes=1 [wave:weave-first:20-calico.conflist]',
      'cp-2 w5 cp weave 10-weave.conflist lanes=1 [wave:weave-first:20-calico.conflist]',
      'worker-1 w1 weave 10-weave.conflist lanes=1 [wave:weave-first:20-calico.conflist]',
      'worker-2 w2 weave 10-weave.conflist lanes=2 [wave:weave-first:20-calico.conflist]',
      'worker-3 w2 weave 10-weave.conflist lanes=2 [wave:weave-first:20-calico.conflist]',
      'worker-gpu-1 w3 weave 10-weave.conflist lanes=1 [wave:weave-first:20-calico.conflist]',
    ]);
    expect(sets(m)).toEqual([
      'cni-migrate-switch-wave-4 cp-1 wave:weave-first:20-calico.conflist lanes=1',
      'cni-migrate-switch-wave-5 cp-2 wave:weave-first:20-calico.conflist lanes=1',
      'cni-migrate-switch-wave-1 worker-1 wave:weave-first:20-calico.conflist lanes=1',
      'cni-migrate-switch-wave-2 worker-2,worker-3 wave:weave-first:20-calico.conflist lanes=2',
      'cni-migrate-switch-wave-3 worker-gpu-1 wave:weave-first:20-calico.conflist lanes=1',
    ]);
    expect(m.newcomers).toEqual({ convergence: { role: 'wave', desired: 'weave-first', calicoConfName: '20-calico.conflist', drain: undefined, restartRuntime: undefined, weaveTaint: false }, daemonSet: 'cni-migrate-newcomer-switch', weaveLeftoversRemoved: false });
    expect(m.gate).toEqual({ calicoReadyEverywhere: false, noPodsInCalicoCidr: '10.48.0.0/12' });
    expect(m.probe).toEqual([{ name: 'weave', cidr: '10.32.0.0/12', node: 'worker-gpu-1' }]);
    expect(m.tunnelCheck).toEqual(['worker-1']);
    expect([m.calico.installed, m.clusterCidr.phase, m.clusterCidr.value, !!m.clusterCidr.targets]).toEqual([true, 'original', undefined, true]);
    expect(m.calico.coexistence).toEqual({ poolCidr: '10.48.0.0/12', ipipMode: 'Always', ipAutodetectionMethod: 'kubernetes-internal-ip', iptablesBackend: 'NFT', vethMtu: 0, finalName: false, images: {}, typhaReplicas: 0 });
  });

  it('cluster-cidr: the supernet; the same gate as calico\'s', () => {
    const m = modelAt(ws, 'cluster-cidr');
    expect(m.clusterCidr.phase).toBe('supernet');
    expect(m.clusterCidr.value).toBe('10.32.0.0/11');
    expect(m.gate).toEqual({ calicoReadyEverywhere: false, noPodsInCalicoCidr: '10.48.0.0/12' });
    expect([m.policies.present, m.policies.freeze]).toEqual([true, undefined]);
  });

  it('policies-suspended: no policy, the freeze on, no gate', () => {
    const m = modelAt(ws, 'policies-suspended');
    expect([m.policies.present, m.policies.objects, m.policies.freeze, m.gate]).toEqual([false, [], { migration: 'demo' }, undefined]);
    expect(m.policies.asRestored.objects).toHaveLength(12);
    expect(m.nodes.every((n) => n.network === 'weave' && !n.convergences[0].weaveTaint)).toBe(true);
  });

  it('nodes-2: waves 1 and 2 on Calico, drained and restarted; the rest on Weave and tainted; the gate checks room for wave 2\'s drains and exempts the Weave-first sets', () => {
    const m = modelAt(ws, 'nodes-2');
    expect(m.nodes.map(node)).toEqual([
      'cp-1 w4 cp weave 10-weave.conflist lanes=1 [wave:weave-first:20-calico.conflist:taint]',
      'cp-2 w5 cp weave 10-weave.conflist lanes=1 [wave:weave-first:20-calico.conflist:taint]',
      'worker-1 w1 calico switched 05-calico.conflist drained lanes=1 [wave:calico-first:20-calico.conflist:drain900+ds:restart-containerd]',
      'worker-2 w2 calico switched 05-calico.conflist drained lanes=2 [wave:calico-first:20-calico.conflist:drain900+ds:restart-containerd]',
      'worker-3 w2 calico switched 05-calico.conflist drained lanes=2 [wave:calico-first:20-calico.conflist:drain900+ds:restart-containerd]',
      'worker-gpu-1 w3 weave 10-weave.conflist lanes=1 [wave:weave-first:20-calico.conflist:taint]',
    ]);
    expect(m.newcomers).toEqual({
      convergence: { role: 'wave', desired: 'calico-first', calicoConfName: '20-calico.conflist', drain: { timeoutSeconds: 900, restartDaemonSetPods: true }, restartRuntime: 'containerd', weaveTaint: false },
      daemonSet: 'cni-migrate-newcomer-switch',
      drainLanes: 2,
      weaveLeftoversRemoved: false,
    });
    expect(m.gate).toEqual({
      calicoReadyEverywhere: true,
      drainCapacity: { wave: 2, waveNodes: ['worker-2', 'worker-3'], concurrent: 2 },
      weaveFirstSets: ['cni-migrate-switch-wave-4', 'cni-migrate-switch-wave-5', 'cni-migrate-switch-wave-3'],
    });
    // Weave: the last node of the waves still on it that is a worker; Calico: one of the wave just switched.
    expect(m.probe).toEqual([{ name: 'weave', cidr: '10.32.0.0/12', node: 'worker-gpu-1' }, { name: 'calico', cidr: '10.48.0.0/12', node: 'worker-2' }]);
    expect(m.tunnelCheck).toEqual(['worker-gpu-1']);
    // Nodes that converge alike share one convergence (thousands of nodes, a few distinct switches).
    const byName = new Map(m.nodes.map((n) => [n.name, n.convergences[0]]));
    expect(byName.get('worker-2')).toBe(byName.get('worker-3'));
    expect(byName.get('cp-1')).toBe(byName.get('worker-gpu-1'));
    expect(byName.get('worker-1')).not.toBe(byName.get('cp-1'));
  });

  it('nodes-4 and nodes-5: control-plane waves; the probe falls back to a control-plane node when a wave has no worker', () => {
    const m4 = modelAt(ws, 'nodes-4');
    expect(m4.probe).toEqual([{ name: 'weave', cidr: '10.32.0.0/12', node: 'cp-2' }, { name: 'calico', cidr: '10.48.0.0/12', node: 'cp-1' }]);
    expect(m4.tunnelCheck).toEqual(['cp-2']);
    expect(m4.gate?.drainCapacity).toEqual({ wave: 4, waveNodes: ['cp-1'], concurrent: 1 });
    const m5 = modelAt(ws, 'nodes-5');
    expect(m5.nodes.every((n) => n.switched && n.network === 'calico' && !n.convergences[0].weaveTaint)).toBe(true);
    expect(m5.probe).toEqual([{ name: 'calico', cidr: '10.48.0.0/12', node: 'cp-2' }]);
    expect(m5.tunnelCheck).toEqual([]);
    expect(m5.gate).toEqual({ calicoReadyEverywhere: true, drainCapacity: { wave: 5, waveNodes: ['cp-2'], concurrent: 1 } });
  });

  it('weave-removed: one switch for every node, to Calico\'s final name, cleaning Weave\'s leftovers; the gate wants no pod on Weave', () => {
    const m = modelAt(ws, 'weave-removed');
    expect(m.nodes.map(node)).toEqual([
      'cp-1 w4 cp calico switched 05-calico.conflist drained clean lanes=1 [final:calico-first:10-calico.conflist]',
      'cp-2 w5 cp calico switched 05-calico.conflist drained clean lanes=1 [final:calico-first:10-calico.conflist]',
      'worker-1 w1 calico switched 05-calico.conflist drained clean lanes=1 [final:calico-first:10-calico.conflist]',
      'worker-2 w2 calico switched 05-calico.conflist drained clean lanes=2 [final:calico-first:10-calico.conflist]',
      'worker-3 w2 calico switched 05-calico.conflist drained clean lanes=2 [final:calico-first:10-calico.conflist]',
      'worker-gpu-1 w3 calico switched 05-calico.conflist drained clean lanes=1 [final:calico-first:10-calico.conflist]',
    ]);
    expect(sets(m)).toEqual(['cni-migrate-switch-all * final:calico-first:10-calico.conflist']);
    expect(m.newcomers).toEqual({ convergence: { role: 'final', desired: 'calico-first', calicoConfName: '10-calico.conflist' }, daemonSet: 'cni-migrate-switch-all', weaveLeftoversRemoved: true });
    expect(m.gate).toEqual({ calicoReadyEverywhere: false, noPodsInWeaveCidr: '10.32.0.0/12' });
    expect([m.calico.confName, m.calico.coexistence.finalName, m.weave.present, m.weave.objects, m.weave.owned.length]).toEqual(['10-calico.conflist', true, false, [], 6]);
    expect(m.probe).toEqual([{ name: 'calico', cidr: '10.48.0.0/12', node: 'cp-2' }]);
    expect(m.tunnelCheck).toEqual([]);
    expect([m.policies.present, m.policies.freeze]).toEqual([false, { migration: 'demo' }]);
  });

  it('policies-restored: the restored (rewritten) copies; finalized: Calico native, the final cluster CIDR, no probe', () => {
    const r = modelAt(ws, 'policies-restored');
    expect([r.policies.present, r.policies.objects, r.policies.freeze]).toEqual([true, r.policies.asRestored.objects, undefined]);
    expect(r.policies.asRestored.rewrites.length).toBeGreaterThan(0);
    expect(r.gate).toEqual({ calicoReadyEverywhere: false, noPodsInWeaveCidr: '10.32.0.0/12' });
    const f = modelAt(ws, 'finalized');
    expect(f.nodes.map(node)[0]).toBe('cp-1 w4 cp calico switched 10-calico.conflist drained clean lanes=1 [final:calico-native:10-calico.conflist]');
    expect(sets(f)).toEqual(['cni-migrate-switch-all * final:calico-native:10-calico.conflist']);
    expect(f.newcomers.convergence).toEqual({ role: 'final', desired: 'calico-native', calicoConfName: '10-calico.conflist' });
    expect([f.clusterCidr.phase, f.clusterCidr.value, f.probe, f.tunnelCheck]).toEqual(['final', '10.32.0.0/11', [], []]);
    expect(f.gate).toEqual({ calicoReadyEverywhere: false, noPodsInWeaveCidr: '10.32.0.0/12' });
  });
});

describe('settings', () => {
  it('without drains: no drain, no taint, no lanes, no drain-capacity check', () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.nodes.drain = false));
    const m = modelAt(ws, 'nodes-1');
    expect(m.nodes.map(node)).toEqual([
      'cp-1 w4 cp weave 10-weave.conflist [wave:weave-first:20-calico.conflist]',
      'cp-2 w5 cp weave 10-weave.conflist [wave:weave-first:20-calico.conflist]',
      'worker-1 w1 calico switched 05-calico.conflist [wave:calico-first:20-calico.conflist]',
      'worker-2 w2 weave 10-weave.conflist [wave:weave-first:20-calico.conflist]',
      'worker-3 w2 weave 10-weave.conflist [wave:weave-first:20-calico.conflist]',
      'worker-gpu-1 w3 weave 10-weave.conflist [wave:weave-first:20-calico.conflist]',
    ]);
    expect(m.newcomers).toEqual({ convergence: { role: 'wave', desired: 'calico-first', calicoConfName: '20-calico.conflist', drain: undefined, restartRuntime: undefined, weaveTaint: false }, daemonSet: 'cni-migrate-newcomer-switch', weaveLeftoversRemoved: false });
    expect(m.gate).toEqual({ calicoReadyEverywhere: true, weaveFirstSets: ['cni-migrate-switch-wave-4', 'cni-migrate-switch-wave-5', 'cni-migrate-switch-wave-2', 'cni-migrate-switch-wave-3'] });
  });

  it('with the probe off: no probe and no tunnel check at any step', () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.probe = { enabled: false }));
    for (const step of ['calico', 'nodes-2', 'weave-removed']) expect([modelAt(ws, step).probe, modelAt(ws, step).tunnelCheck]).toEqual([[], []]);
  });

  it('restarts on, a wave that mixes runtimes: one set per runtime, a newcomer restarts nothing (its runtime unknown)', () => {
    const ws = restartsWithWorker3On('cri-o://1.30.4');
    const m = modelAt(ws, 'nodes-2');
    expect(sets(m).filter((s) => s.includes('wave-2'))).toEqual([
      'cni-migrate-switch-wave-2-containerd worker-2 wave:calico-first:20-calico.conflist:drain600:restart-containerd lanes=1',
      'cni-migrate-switch-wave-2-crio worker-3 wave:calico-first:20-calico.conflist:drain600:restart-crio lanes=1',
    ]);
    expect(m.newcomers.convergence?.restartRuntime).toBeUndefined();
    // The names do not depend on whether the wave has switched.
    expect(sets(modelAt(ws, 'nodes-1')).filter((s) => s.includes('wave-2')).map((s) => s.split(' ')[0])).toEqual(['cni-migrate-switch-wave-2-containerd', 'cni-migrate-switch-wave-2-crio']);
  });

  it('the Weave objects GitOps owns leave out the weave-net ConfigMap (Weave\'s own peer list, which it rewrites)', () => {
    const obj = (kind: string, name: string) => ({ apiVersion: 'v1', kind, metadata: { name, namespace: 'kube-system' } });
    expect(ownedWeaveObjects([obj('ConfigMap', 'weave-net'), obj('DaemonSet', 'weave-net'), obj('ConfigMap', 'other')]).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['DaemonSet/weave-net', 'ConfigMap/other']);
  });
});

describe('settings read from the snapshot', () => {
  it('the cluster CIDR value at each phase: the supernet, then Calico\'s alone once allocation is turned off', () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.controlPlane.disableNodeCidrAllocation = true));
    expect(['calico', 'cluster-cidr', 'weave-removed', 'finalized'].map((s) => modelAt(ws, s).clusterCidr.value)).toEqual([undefined, '10.32.0.0/11', '10.32.0.0/11', '10.48.0.0/12']);
  });

  it('Felix\'s iptables backend: as configured, else NFT when kube-proxy runs nftables, else Auto', () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => delete d.spec.calico.iptablesBackend);
    expect(modelAt(ws, 'calico').calico.coexistence.iptablesBackend).toBe('Auto');
    const file = path.join(ws.cluster, 'control-plane', 'kube-proxy-configmap.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('mode: ""', 'mode: nftables'));
    expect(fs.readFileSync(file, 'utf8')).toContain('mode: nftables');
    expect(modelAt(ws, 'calico').calico.coexistence.iptablesBackend).toBe('NFT');
    editConfig(ws, (d) => (d.spec.calico.iptablesBackend = 'Legacy'));
    expect(modelAt(ws, 'calico').calico.coexistence.iptablesBackend).toBe('Legacy');
  });

  it('a node whose runtime is not known names its own set when restarts are on and its wave mixes runtimes', () => {
    const ws = restartsWithWorker3On('docker://24.0.7');
    expect(sets(modelAt(ws, 'calico')).filter((s) => s.includes('wave-2')).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual(['cni-migrate-switch-wave-2-containerd worker-2', 'cni-migrate-switch-wave-2-unknown worker-3']);
  });
});

describe('switch sets from Calico\'s final name on', () => {
  const final = (desired: NodeConvergence['desired']): NodeConvergence => ({ role: 'final', desired, calicoConfName: '10-calico.conflist' });
  const n = (name: string, c: NodeConvergence[]) => ({ name, wave: 1, convergences: c }) as unknown as NodeState;
  const finalState = { calicoInstalled: true, calicoFinalName: true } as StepState;

  it('one set for every node, none for an empty inventory, and a refusal when the nodes\' final switches differ', () => {
    expect(switchSets({} as Migration, [], [n('a', [final('calico-first')]), n('b', [final('calico-first')])], finalState)).toEqual([{ name: 'cni-migrate-switch-all', convergence: final('calico-first') }]);
    expect(switchSets({} as Migration, [], [], finalState)).toEqual([]);
    expect(() => switchSets({} as Migration, [], [n('a', [final('calico-first')]), n('b', [final('calico-native')])], finalState))
      .toThrow(`the final convergence differs between nodes: ${JSON.stringify(final('calico-first'))} / ${JSON.stringify(final('calico-native'))}`);
  });
});

describe('cluster CIDR targets (what the cluster-cidr Jobs write at each phase)', () => {
  const kubeProxyCidr = (text: string) => /^clusterCIDR: (.*)$/m.exec(text)?.[1];
  const podSubnet = (text: string) => /^  podSubnet: (.*)$/m.exec(text)?.[1];

  it('kubeadm: kube-proxy\'s config.conf, kubeadm\'s ClusterConfiguration and each controller-manager, original, supernet and final', () => {
    const t = modelAt(demoWorkspace(), 'calico').clusterCidr.targets!;
    expect(t.kubeProxy.mode).toBe('configmap');
    const texts = (t.kubeProxy as { texts: Record<string, string> }).texts;
    expect([texts.original, texts.supernet, texts.final].map(kubeProxyCidr)).toEqual(['10.32.0.0/12', '10.32.0.0/11', '10.32.0.0/11']);
    // Only that line changes.
    expect(texts.supernet.replace('10.32.0.0/11', '10.32.0.0/12')).toBe(texts.original);
    expect([t.kubeadmConfig!.original, t.kubeadmConfig!.supernet, t.kubeadmConfig!.final].map(podSubnet)).toEqual(['10.32.0.0/12', '10.32.0.0/11', '10.32.0.0/11']);
    expect(t.controllerManagers).toEqual(['cp-1', 'cp-2'].map((node) => ({ node, cidr: { original: '10.32.0.0/12', supernet: '10.32.0.0/11', final: '10.32.0.0/11' }, allocate: { original: 'true', supernet: 'true', final: 'true' } })));
    expect(t.controllerManagerSkipped).toBeUndefined();
  });

  it('with node CIDR allocation turned off at the end: the final phase says so', () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.controlPlane.disableNodeCidrAllocation = true));
    const t = modelAt(ws, 'calico').clusterCidr.targets!;
    expect(t.controllerManagers.map((c) => c.allocate)).toEqual([{ original: 'true', supernet: 'true', final: 'false' }, { original: 'true', supernet: 'true', final: 'false' }]);
  });

  it('managed: kube-proxy only, and why the controller-manager is left out', () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.controlPlane.mode = 'managed'));
    const t = modelAt(ws, 'calico').clusterCidr.targets!;
    expect([t.kubeProxy.mode, t.kubeadmConfig, t.controllerManagers, t.controllerManagerSkipped]).toEqual(['configmap', undefined, [], 'the control plane is managed by the provider']);
  });
});

describe('pieces of the model', () => {
  it('the runtime of a node, from its containerRuntimeVersion', () => {
    expect(['containerd://1.7.24', 'cri-o://1.30.4', 'docker://24.0.7', 'containerd', ''].map(runtimeOf)).toEqual(['containerd', 'crio', undefined, undefined, undefined]);
  });

  it('Typha replicas: none up to 50 nodes, then one per 200 plus a spare, at least 3', () => {
    expect([1, 50, 51, 200, 399, 400, 599, 600, 5000].map(typhaReplicasFor)).toEqual([0, 0, 3, 3, 3, 4, 4, 5, 27]);
  });

  it('the gate\'s checks as PLAN.md and status list them', () => {
    expect(gateCheckList({ calicoReadyEverywhere: true })).toEqual([{ kind: 'calico-ready', text: 'calico-node is Ready on every node' }]);
    expect(gateCheckList({ calicoReadyEverywhere: true, weaveFirstSets: [] })[0].text).toBe('calico-node is Ready on every node');
    expect(gateCheckList({ calicoReadyEverywhere: true, weaveFirstSets: ['s'], drainCapacity: { wave: 3, waveNodes: ['a', 'b'], concurrent: 2 } })).toEqual([
      { kind: 'calico-ready', text: 'calico-node is Ready on every node, but the nodes of a wave this step reverts to Weave' },
      { kind: 'drain-capacity', text: 'the other schedulable nodes have room (allocatable minus requests) for the pods of the 2 node(s) of wave 3 still to drain with the most to evict' },
    ]);
    expect(gateCheckList({ calicoReadyEverywhere: false, noPodsInWeaveCidr: '10.32.0.0/12', noPodsInCalicoCidr: '10.48.0.0/12' })).toEqual([
      { kind: 'no-weave-pods', text: 'no pod other than Weave\'s own has an IP in 10.32.0.0/12' },
      { kind: 'no-calico-pods', text: 'no pod has an IP in 10.48.0.0/12 (Calico\'s): this step keeps the NetworkPolicies in force, so a revert to it waits until the waves\' pods are back on Weave' },
    ]);
    expect(gateCheckList({ calicoReadyEverywhere: false })).toEqual([]);
  });

  it('probe targets: a worker of the waves still on Weave (the last first), one of the wave just switched', () => {
    const waves = [['w1'], ['cp1', 'w2'], ['w3', 'w4'], ['cp2']];
    const cidrs = { weave: 'W', calico: 'C' };
    const cp = new Set(['cp1', 'cp2']);
    expect(probeNetworks(waves, cp, 0, true, cidrs)).toEqual([{ name: 'weave', cidr: 'W', node: 'w3' }]);
    expect(probeNetworks(waves, cp, 2, true, cidrs)).toEqual([{ name: 'weave', cidr: 'W', node: 'w3' }, { name: 'calico', cidr: 'C', node: 'w2' }]);
    expect(probeNetworks(waves, cp, 3, true, cidrs)).toEqual([{ name: 'weave', cidr: 'W', node: 'cp2' }, { name: 'calico', cidr: 'C', node: 'w3' }]);
    expect(probeNetworks(waves, cp, 4, true, cidrs)).toEqual([{ name: 'calico', cidr: 'C', node: 'cp2' }]);
    expect(probeNetworks(waves, cp, 2, false, cidrs)).toEqual([{ name: 'calico', cidr: 'C', node: 'w2' }]);
  });
});
