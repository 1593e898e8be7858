/**
 * Every step of the demo applied in order and then in reverse, with prune semantics, running the
 * real switch script for each new Job against per-node folders; after each step (and after
 * DaemonSet restarts) every node must load the network the step says, and an injected crash at
 * any line of the script must never leave a node without a loadable first config.
 */
import * as fs from 'fs';
import * as path from 'path';
import { stepList } from '../src/steps/steps';
import * as YAML from 'yaml';
import { GitOpsSimulator, runScript, withCrashPoints, type ControlPlaneSeed } from './support/gitops-simulator';
import { cli, demoWorkspace, editConfig, setStep } from './support/workspace';
import { readScript } from '../src/scripts/read-script';

const WAVES = [['worker-1'], ['worker-2', 'worker-3'], ['worker-gpu-1'], ['cp-1'], ['cp-2']];
const NODES = WAVES.flat().sort();
const STEPS = stepList(WAVES.length).map((s) => s.name);

/** The network every node must load at `step`. */
function expected(step: string): Record<string, string> {
  const i = STEPS.indexOf(step);
  const switchedWaves = step.startsWith('nodes-') ? Number(step.slice(6)) : i >= STEPS.indexOf('weave-removed') ? WAVES.length : 0;
  return Object.fromEntries(NODES.map((n) => [n, WAVES.findIndex((w) => w.includes(n)) < switchedWaves ? 'k8s-pod-network' : 'weave']));
}

const dists = new Map<string, string>();
const narrowDists = new Map<string, string>();
/** kubeadm's podSubnet (10.244.0.0/16) is not Weave's range: the nodes' podCIDRs lie outside the supernet. */
const podSubnetDists = new Map<string, string>();
/** Drains off: the node Jobs are the folder switch alone, for the crash-point walks. */
const switchOnlyDists = new Map<string, string>();
let seed: ControlPlaneSeed;
let podSubnetSeed: ControlPlaneSeed;

/** The control plane as captured in `ws`: kube-proxy, kubeadm-config, the Nodes (with their podCIDRs) and each kcm manifest. */
function seedOf(ws: ReturnType<typeof demoWorkspace>): ControlPlaneSeed {
  const cp = (f: string) => YAML.parse(fs.readFileSync(path.join(ws.cluster, 'control-plane', f), 'utf8'));
  const inventory = YAML.parse(fs.readFileSync(path.join(ws.cluster, 'nodes.yaml'), 'utf8'));
  return {
    objects: [cp('kube-proxy-configmap.yaml'), cp('kube-proxy-daemonset.yaml'), cp('kubeadm-config.yaml'),
      ...inventory.nodes.map((n: any) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.name }, spec: { podCIDR: n.podCIDRs[0], podCIDRs: n.podCIDRs } }))],
    manifests: Object.fromEntries(['cp-1', 'cp-2'].map((n) => [n, fs.readFileSync(path.join(ws.cluster, 'control-plane', 'kube-controller-manager', `${n}.yaml`), 'utf8')])),
  };
}

/** Each file of `ws`'s cluster/control-plane and nodes.yaml with every 10.32.0.0/12 and 10.32.N.0/24 moved to 10.244. */
function moveKubeadmPodSubnet(ws: ReturnType<typeof demoWorkspace>): void {
  const files = ['nodes.yaml', 'control-plane/kube-proxy-configmap.yaml', 'control-plane/kubeadm-config.yaml', 'control-plane/kube-controller-manager/cp-1.yaml', 'control-plane/kube-controller-manager/cp-2.yaml'];
  for (const f of files) {
    const file = path.join(ws.cluster, f);
    const text = fs.readFileSync(file, 'utf8');
    const moved = text.replaceAll('10.32.0.0/12', '10.244.0.0/16').replace(/10\.32\.(\d+)\.0\/24/g, '10.244.$1.0/24');
    expect(moved).not.toBe(text);
    fs.writeFileSync(file, moved);
  }
}

beforeAll(async () => {
  const ws = demoWorkspace();
  // The policies come back exactly as backed up (the checks below compare them with the backup).
  editConfig(ws, (d) => (d.spec.policies = { rewriteIPBlocks: false, acknowledge: ['payments/allow-from-pod-network'] }));
  seed = seedOf(ws);
  for (const [map, tag] of [[dists, 'default'], [narrowDists, 'narrow'], [switchOnlyDists, 'switch-only']] as const) {
    if (tag === 'narrow') editConfig(ws, (d) => (d.spec.controlPlane.disableNodeCidrAllocation = true));
    if (tag === 'switch-only') editConfig(ws, (d) => (d.spec.nodes.drain = false));
    for (const step of STEPS) {
      setStep(ws, step);
      const out = path.join(ws.dir, `dist-${tag}-${step}`);
      const r = await cli(ws, 'synth', '--out', out);
      expect(r.code).toBe(0);
      map.set(step, out);
    }
  }
  const moved = demoWorkspace();
  editConfig(moved, (d) => (d.spec.policies = { rewriteIPBlocks: false, acknowledge: ['payments/allow-from-pod-network'] }));
  editConfig(moved, (d) => (d.spec.controlPlane.disableNodeCidrAllocation = true));
  moveKubeadmPodSubnet(moved);
  podSubnetSeed = seedOf(moved);
  for (const step of STEPS) {
    setStep(moved, step);
    const out = path.join(moved.dir, `dist-pod-subnet-${step}`);
    const r = await cli(moved, 'synth', '--out', out);
    expect([step, r.code, r.stderr]).toEqual([step, 0, '']);
    podSubnetDists.set(step, out);
  }
});

type Variant = 'supernet' | 'narrow' | 'pod-subnet';

/**
 * The cluster CIDR the control plane holds at `step`. The demo's kcm allocates and its podCIDRs are
 * Weave's; in the pod-subnet variant they are kubeadm's 10.244.0.0/16, outside the supernet, so
 * allocation goes off in the same edit that widens the CIDR.
 */
function expectedCidr(step: string, variant: Variant): { cidr: string; allocate: string } {
  const i = STEPS.indexOf(step);
  if (i < STEPS.indexOf('cluster-cidr')) return { cidr: variant === 'pod-subnet' ? '10.244.0.0/16' : '10.32.0.0/12', allocate: 'true' };
  if (step !== 'finalized') return { cidr: '10.32.0.0/11', allocate: variant === 'pod-subnet' ? 'false' : 'true' };
  return variant === 'supernet' ? { cidr: '10.32.0.0/11', allocate: 'true' } : { cidr: '10.48.0.0/12', allocate: 'false' };
}

function controlPlaneProblems(sim: GitOpsSimulator, step: string, variant: Variant): string[] {
  const want = expectedCidr(step, variant);
  const got: string[] = [];
  const kp = YAML.parse(sim.apiObject('ConfigMap', 'kube-system', 'kube-proxy').data['config.conf']);
  if (kp.clusterCIDR !== want.cidr) got.push(`${step}: kube-proxy clusterCIDR ${kp.clusterCIDR}, want ${want.cidr}`);
  const cc = YAML.parse(sim.apiObject('ConfigMap', 'kube-system', 'kubeadm-config').data.ClusterConfiguration);
  if (cc.networking.podSubnet !== want.cidr) got.push(`${step}: kubeadm podSubnet ${cc.networking.podSubnet}, want ${want.cidr}`);
  for (const n of ['cp-1', 'cp-2']) {
    const m = sim.manifest(n);
    if (!m.includes(`--cluster-cidr=${want.cidr}\n`)) got.push(`${step}: ${n} kube-controller-manager lacks --cluster-cidr=${want.cidr}`);
    if (!m.includes(`--allocate-node-cidrs=${want.allocate}\n`)) got.push(`${step}: ${n} kube-controller-manager lacks --allocate-node-cidrs=${want.allocate}`);
  }
  return got;
}

describe('GitOps simulator: control-plane cluster CIDR', () => {
  it('PLAN.md says at which step the kube-controller-manager Job turns node CIDR allocation off, and what reverting it turns back on', () => {
    const plan = (dists: Map<string, string>, step: string) => fs.readFileSync(path.join(dists.get(step)!, 'PLAN.md'), 'utf8');
    const OFF = 'and --allocate-node-cidrs to false';
    expect([dists, narrowDists, podSubnetDists].map((d) => [plan(d, 'cluster-cidr').includes(OFF), plan(d, 'finalized').includes(OFF)])).toEqual([[false, false], [false, true], [true, false]]);
    expect(plan(podSubnetDists, 'cluster-cidr')).toContain('back to their values as captured (node CIDR allocation on again)');
    expect(plan(narrowDists, 'finalized')).toContain('the cluster CIDR goes back to the supernet 10.32.0.0/11, and node CIDR allocation is turned back on');
    expect(plan(podSubnetDists, 'finalized')).toContain('the cluster CIDR goes back to the supernet 10.32.0.0/11\n');
  });

  it.each([
    ['keeping the supernet at finalized', 'supernet'],
    ['narrowing with allocation off at finalized', 'narrow'],
    ['with kubeadm\'s podSubnet outside the supernet: allocation off from cluster-cidr on', 'pod-subnet'],
  ] as const)('advances and reverts, %s', (_n, variant) => {
    const start = variant === 'pod-subnet' ? podSubnetSeed : seed;
    const sim = new GitOpsSimulator(NODES, { controlPlane: start });
    const problems: string[] = [];
    const source = { supernet: dists, narrow: narrowDists, 'pod-subnet': podSubnetDists }[variant];
    try {
      let restarts = 0;
      let lastAnnotation: string | undefined;
      for (const step of [...STEPS, ...[...STEPS].reverse().slice(1)]) {
        for (const f of sim.apply(source.get(step)!)) problems.push(`${step}: Job ${f.job} failed: ${f.log.trim()}`);
        problems.push(...controlPlaneProblems(sim, step, variant));
        const a = sim.apiObject('DaemonSet', 'kube-system', 'kube-proxy').spec.template.metadata.annotations?.['cni-migrate.io/kube-proxy-config'];
        if (a !== lastAnnotation) restarts++;
        lastAnnotation = a;
      }
      expect(problems).toEqual([]);
      // Back at the start, every control-plane text is byte-for-byte what was captured.
      expect(sim.apiObject('ConfigMap', 'kube-system', 'kube-proxy').data).toEqual(start.objects[0].data);
      expect(sim.apiObject('ConfigMap', 'kube-system', 'kubeadm-config').data).toEqual(start.objects[2].data);
      for (const n of ['cp-1', 'cp-2']) expect(sim.manifest(n)).toBe(start.manifests[n]);
      // kube-proxy restarts only when its configuration changes: forward to cluster-cidr (and to a
      // narrower final value), and back again.
      expect(restarts).toBe(variant === 'supernet' ? 2 : 4);
    } finally {
      sim.dispose();
    }
  });
});

const byName = (a: any, b: any) => (`${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1);
function withoutWave(o: any): any {
  const c = structuredClone(o);
  delete c.metadata.annotations?.['argocd.argoproj.io/sync-wave'];
  if (c.metadata.annotations && Object.keys(c.metadata.annotations).length === 0) delete c.metadata.annotations;
  return c;
}
/** The policies backed up in the demo's cluster/networkpolicies. */
function readBackup(): any[] {
  const root = path.join(__dirname, '..', 'cluster', 'networkpolicies');
  return fs.readdirSync(root).filter((ns) => !ns.startsWith('.')).flatMap((ns) => fs.readdirSync(path.join(root, ns)).map((f) => YAML.parse(fs.readFileSync(path.join(root, ns, f), 'utf8')))).sort(byName);
}

function walk(sim: GitOpsSimulator, order: string[], restart: boolean, source: ReadonlyMap<string, string> = dists): string[] {
  const problems: string[] = [];
  for (const step of order) {
    const failed = sim.apply(source.get(step)!);
    for (const f of failed) problems.push(`${step}: Job ${f.job} on ${f.node} failed: ${f.log.trim()}`);
    const check = (when: string) => {
      for (const [node, want] of Object.entries(expected(step))) {
        const got = sim.loadedNetwork(node);
        if (got !== want) problems.push(`${step}${when}: ${node} loads ${got}, want ${want} (files: ${sim.files(node).join(' ')})`);
      }
    };
    check('');
    if (restart) {
      sim.restartDaemonSets();
      check(' after DaemonSet restarts');
    }
  }
  return problems;
}

describe('GitOps simulator', () => {
  it('advances through every step, then reverts through every step', () => {
    const sim = new GitOpsSimulator(NODES, { controlPlane: seed });
    try {
      expect(walk(sim, [...STEPS, ...[...STEPS].reverse().slice(1)], false)).toEqual([]);
      expect(sim.runs.length).toBeGreaterThan(20);
      // NetworkPolicies and Weave's objects, with prune semantics, forward and back.
      const backup = readBackup();
      for (const step of [...STEPS, ...[...STEPS].reverse().slice(1)]) {
        sim.apply(dists.get(step)!);
        const i = STEPS.indexOf(step);
        const policiesOn = i < STEPS.indexOf('policies-suspended') || i >= STEPS.indexOf('policies-restored');
        const policies = sim.liveObjects('NetworkPolicy').map(withoutWave).sort(byName);
        expect([step, policies]).toEqual([step, policiesOn ? backup : []]);
        expect([step, sim.liveObjects('DaemonSet').some((o) => o.metadata.name === 'weave-net')]).toEqual([step, i < STEPS.indexOf('weave-removed')]);
      }
    } finally {
      sim.dispose();
    }
  });

  it('holds when Weave and Calico rewrite their files between steps', () => {
    const sim = new GitOpsSimulator(NODES, { controlPlane: seed });
    try {
      expect(walk(sim, [...STEPS, ...[...STEPS].reverse().slice(1)], true)).toEqual([]);
      // By finalized the copy is gone and Calico's own file is first.
      sim.apply(dists.get('finalized')!);
      for (const n of NODES) expect(sim.files(n)[0]).toBe('10-calico.conflist');
    } finally {
      sim.dispose();
    }
  });

  it('survives a crash injected at each line of the script, followed by a rerun', () => {
    const { points } = withCrashPoints(readScript('node-switch.sh'));
    expect(points).toBeGreaterThan(30);
    const violations: string[] = [];
    let crashes = 0;
    for (let n = 1; n <= points; n++) {
      // Neither the gates nor the drains touch the nodes' files (they have tests of their own):
      // the walks run the folder switch alone, which is what crashes here.
      const sim = new GitOpsSimulator(NODES, { crashAt: n, skipControlPlaneJobs: true, skipGates: true });
      try {
        for (const p of walk(sim, [...STEPS, ...[...STEPS].reverse().slice(1)], true, switchOnlyDists)) violations.push(`crash at ${n}: ${p}`);
        crashes += sim.afterCrash.length;
        for (const c of sim.afterCrash) {
          if (!['weave', 'k8s-pod-network'].includes(c.network)) violations.push(`crash at ${n} in ${c.job}: ${c.node} loads ${c.network}`);
        }
      } finally {
        sim.dispose();
      }
    }
    expect(violations).toEqual([]);
    // The crash points were reached, not skipped.
    expect(crashes).toBeGreaterThan(points);
  });

  it('the crash check can fail: an unsafe script caught mid-write leaves a broken first file', () => {
    const unsafe = 'printf \'{"name":\' > "$CNI_DIR/05-calico.conflist"\ncat "$CNI_DIR/20-calico.conflist" > "$CNI_DIR/05-calico.conflist"\n';
    const { script, points } = withCrashPoints(unsafe);
    expect(points).toBe(2);
    const sim = new GitOpsSimulator(['n']);
    try {
      const dir = sim.nodeDirs.get('n')!;
      fs.writeFileSync(path.join(dir, '20-calico.conflist'), '{"name":"k8s-pod-network","plugins":[{"type":"calico"}]}');
      expect(runScript(script, { CNI_DIR: dir }, 2).code).not.toBe(0);
      expect(sim.loadedNetwork('n')).toBe('BROKEN (05-calico.conflist)');
      expect(runScript(unsafe, { CNI_DIR: dir }).code).toBe(0);
      expect(sim.loadedNetwork('n')).toBe('k8s-pod-network');
    } finally {
      sim.dispose();
    }
  });
});
