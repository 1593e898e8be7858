import * as fs from 'fs';
import type { NodeInfo } from '../src/kube/objects';
import { stateAt, stepList } from '../src/steps/steps';
import { rewriteStep } from '../src/steps/transitions';
import { resolveMigration } from '../src/config/load';
import { maxWaveNodes, resolveWaves } from '../src/steps/waves';
import { cli, demoWorkspace, editConfig } from './support/workspace';

describe('step list', () => {
  it('has the fixed steps around one nodes step per wave', () => {
    expect(stepList(1).map((s) => s.name)).toEqual(['adopt', 'calico', 'cluster-cidr', 'policies-suspended', 'nodes-1', 'weave-removed', 'policies-restored', 'finalized']);
    expect(stepList(3).map((s) => s.name)).toEqual(['adopt', 'calico', 'cluster-cidr', 'policies-suspended', 'nodes-1', 'nodes-2', 'nodes-3', 'weave-removed', 'policies-restored', 'finalized']);
    const twenty = stepList(20);
    expect(twenty).toHaveLength(27);
    expect(twenty.filter((s) => s.kind === 'nodes').map((s) => s.wave)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(twenty.map((s) => s.index)).toEqual(Array.from({ length: 27 }, (_, i) => i));
    expect(twenty[23].name).toBe('nodes-20');
  });

  it('rejects zero waves', () => expect(() => stepList(0)).toThrow(/at least one wave/));

  it('gives the cumulative state at each step', () => {
    const steps = stepList(3);
    const s = (n: string) => stateAt(steps.find((x) => x.name === n)!, 3);
    expect(s('adopt')).toEqual({ calicoInstalled: false, clusterCidr: 'original', policiesPresent: true, policiesRestored: false, switchedWaves: 0, weavePresent: true, calicoFinalName: false, calicoNative: false });
    expect(s('calico').calicoInstalled).toBe(true);
    expect(s('calico').clusterCidr).toBe('original');
    expect(s('cluster-cidr').clusterCidr).toBe('supernet');
    expect(s('policies-suspended').policiesPresent).toBe(false);
    expect(s('nodes-2')).toMatchObject({ switchedWaves: 2, policiesPresent: false, weavePresent: true });
    expect(s('weave-removed')).toMatchObject({ switchedWaves: 3, weavePresent: false, calicoFinalName: true, policiesPresent: false });
    expect(s('policies-restored')).toMatchObject({ policiesPresent: true, policiesRestored: true, clusterCidr: 'supernet' });
    expect(s('finalized').clusterCidr).toBe('final');
  });
});

describe('waves', () => {
  const n = (name: string, cp = false): NodeInfo => ({ name, roles: cp ? ['control-plane'] : [], internalIP: '192.168.0.1', podCIDRs: [], containerRuntime: 'containerd://1.7.24', taints: [] });
  const nodes = [...Array.from({ length: 12 }, (_, i) => n(`w${String(i).padStart(2, '0')}`)), n('cp-a', true), n('cp-b', true), n('cp-c', true)];

  it('grows from a canary up to the cap, control plane last', () => {
    const waves = resolveWaves({ waveStrategy: { canary: 1, growthFactor: 2, maxWaveSize: 4, controlPlaneWaveSize: 2 }, drain: true, drainTimeoutSeconds: 600, restartDaemonSetPods: false, restartKubelet: false }, nodes, 'm.yaml');
    expect(waves.map((w) => w.length)).toEqual([1, 2, 4, 4, 1, 2, 1]);
    expect(waves.slice(-2)).toEqual([['cp-a', 'cp-b'], ['cp-c']]);
    expect(waves.flat().sort()).toEqual(nodes.map((x) => x.name).sort());
  });

  it('by default: a canary of one, then growth to a quarter of the workers; 5,000 nodes in at most 16 waves', () => {
    const defaults = resolveMigration({ apiVersion: 'cni-migrate.io/v1alpha1', kind: 'Migration', metadata: { name: 'm' }, spec: { step: 'adopt', gitops: { engine: 'flux', repoURL: 'https://git.example/infra.git' }, network: { serviceCIDR: '10.96.0.0/12' } } }, 'm.yaml').spec.nodes;
    const cluster = (workers: number, cp: number) => [...Array.from({ length: workers }, (_, i) => n(`w${String(i).padStart(5, '0')}`)), ...Array.from({ length: cp }, (_, i) => n(`cp-${i}`, true))];
    const sizes = (workers: number, cp: number) => resolveWaves(defaults, cluster(workers, cp), 'm.yaml').map((w) => w.length);
    expect(sizes(4997, 3)).toEqual([1, 3, 9, 27, 81, 243, 729, 1249, 1249, 1249, 157, 1, 1, 1]);
    expect(sizes(497, 3)).toEqual([1, 3, 9, 27, 81, 124, 124, 124, 4, 1, 1, 1]);
    expect(sizes(47, 3)).toEqual([1, 3, 9, 11, 11, 11, 1, 1, 1, 1]);
    expect(sizes(4, 2)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(sizes(9995, 5).length).toBeLessThanOrEqual(16);
    // A share and a number cap alike.
    expect(maxWaveNodes('25%', 4997)).toBe(1249);
    expect(maxWaveNodes('1%', 10)).toBe(1);
    expect(maxWaveNodes(7, 10)).toBe(7);
  });

  it('cni-migrate steps on a generated 5,000-node inventory with the default strategy: at most 16 node waves', async () => {
    const ws = demoWorkspace();
    const nodesFile = `${ws.cluster}/nodes.yaml`;
    const lines = ['apiVersion: cni-migrate.io/v1alpha1', 'kind: NodeInventory', 'nodes:'];
    for (let i = 0; i < 5000; i++) {
      const cp = i < 3;
      lines.push(`- {name: ${cp ? `cp-${i + 1}` : `node-${String(i).padStart(5, '0')}`}, roles: [${cp ? 'control-plane' : ''}], internalIP: 172.16.${i >> 8}.${i & 255}, podCIDRs: [10.${32 + (i >> 8)}.${i & 255}.0/24], containerRuntime: 'containerd://1.7.24', cniConfigFiles: [10-weave.conflist]}`);
    }
    fs.writeFileSync(nodesFile, `${lines.join('\n')}\n`);
    editConfig(ws, (d) => delete d.spec.nodes.waveStrategy);
    const r = await cli(ws, 'steps');
    expect(r.code).toBe(0);
    const waves = r.stdout.split('\n').filter((l) => / nodes-\d+ /.test(l));
    expect(waves.length).toBe(14);
    expect(waves[0]).toMatch(/nodes-1  wave 1: node-00003$/);
    expect(r.stdout.split('\n').filter((l) => /^\s*>?\s*\d+\./.test(l)).length).toBe(21);
    // The largest waves hold over a thousand nodes: each line names its first ten and counts the rest.
    const largest = waves.find((l) => / and \d+ more$/.test(l) && Number(/ and (\d+) more$/.exec(l)![1]) > 1000);
    expect(largest).toMatch(/wave \d+: (node-\d{5}, ){9}node-\d{5} and \d+ more$/);
    expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThan(300);
    expect(r.stdout).toContain('`cni-migrate plan --json` and dist/waves.md list every node');
    // plan: the same short lines, and its --json form keeps every name.
    const plan = await cli(ws, 'plan');
    expect(Math.max(...plan.stdout.split('\n').filter((l) => l.startsWith('wave ')).map((l) => l.length))).toBeLessThan(300);
    const json = JSON.parse((await cli(ws, 'plan', '--json')).stdout) as { waves: string[][] };
    expect(json.waves.flat().length).toBe(5000);
  });

  it('grows with a fractional factor', () => {
    const waves = resolveWaves({ waveStrategy: { canary: 1, growthFactor: 1.5, maxWaveSize: 100, controlPlaneWaveSize: 1 }, drain: true, drainTimeoutSeconds: 600, restartDaemonSetPods: false, restartKubelet: false }, nodes.slice(0, 12), 'm.yaml');
    expect(waves.map((w) => w.length)).toEqual([1, 2, 3, 5, 1]);
  });

  it('keeps explicit waves as given', () => {
    const explicit = [['cp-a'], nodes.filter((x) => x.name !== 'cp-a').map((x) => x.name)];
    expect(resolveWaves({ waves: explicit, waveStrategy: { canary: 1, growthFactor: 2, maxWaveSize: 10, controlPlaneWaveSize: 1 }, drain: true, drainTimeoutSeconds: 600, restartDaemonSetPods: false, restartKubelet: false }, nodes, 'm.yaml')).toEqual(explicit);
  });

  describe('explicit waves', () => {
    const spec = (waves: string[][]) => ({ waves, drain: true, drainTimeoutSeconds: 600, restartDaemonSetPods: false, restartKubelet: false });
    const three = [n('a'), n('b'), n('c')];
    const refusal = (waves: string[][], others: NodeInfo[] = []) => {
      try {
        resolveWaves(spec(waves), three, 'm.yaml', others);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };

    it('are taken as written when every node is in exactly one', () => {
      expect(resolveWaves(spec([['b'], ['c', 'a']]), three, 'm.yaml')).toEqual([['b'], ['c', 'a']]);
    });

    it('refuse, naming the field and the node, a node not in the inventory, twice, in none, or one that cannot switch', () => {
      expect(refusal([['a'], ['b', 'x'], ['c']])).toBe('m.yaml: spec.nodes.waves[1][1]: node "x" is not in the inventory; allowed: a node of cluster/nodes.yaml (a, b, c)');
      expect(refusal([['a', 'b'], ['c', 'a']])).toBe('m.yaml: spec.nodes.waves[1][1]: node "a" is already in spec.nodes.waves[0]; allowed: each node in exactly one wave');
      expect(refusal([['a'], ['c']])).toBe('m.yaml: spec.nodes.waves: 1 node(s) are in no wave: b; allowed: every node of cluster/nodes.yaml in exactly one wave');
      const win = { ...n('win-1'), os: 'windows' };
      expect(refusal([['a', 'b', 'c'], ['win-1']], [win])).toBe('m.yaml: spec.nodes.waves[1][0]: node "win-1" is a windows node, which cannot run the node switches or calico-node; allowed: Linux nodes only: leave it out of the waves');
    });

    it('name at most five nodes in a refusal, with the count', () => {
      const many = Array.from({ length: 8 }, (_, i) => n(`n${i}`));
      let message = '';
      try {
        resolveWaves(spec([['n0']]), many, 'm.yaml');
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toBe('m.yaml: spec.nodes.waves: 7 node(s) are in no wave: n1, n2, n3, n4, n5, ... (7 in all); allowed: every node of cluster/nodes.yaml in exactly one wave');
    });
  });
});

describe('advance and retreat', () => {
  it('rewrites only the step, keeping comments, quotes and layout', () => {
    const text = '# head\nspec:\n  # the step\n  step: "nodes-2"   # trailing\n  other: 1\n';
    expect(rewriteStep(text, 'nodes-3', 'm.yaml')).toBe('# head\nspec:\n  # the step\n  step: "nodes-3"   # trailing\n  other: 1\n');
    expect(rewriteStep("spec: {step: 'adopt', x: 1}\n", 'calico', 'm.yaml')).toBe("spec: {step: 'calico', x: 1}\n");
  });

  it('walks the demo forward to the end and back, refusing past either end', async () => {
    const ws = demoWorkspace();
    const original = fs.readFileSync(ws.config, 'utf8');
    const names = stepList(5).map((s) => s.name);

    const back = await cli(ws, 'retreat');
    expect(back.code).toBe(2);
    expect(back.stderr).toMatch(/spec\.step: "adopt" is the first step; there is nothing to retreat to/);
    expect(fs.readFileSync(ws.config, 'utf8')).toBe(original);

    for (let i = 1; i < names.length; i++) {
      const r = await cli(ws, 'advance');
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toMatch(new RegExp(`^cni-migrate: advance to ${names[i]}`));
      const now = fs.readFileSync(ws.config, 'utf8');
      expect(now).toBe(original.replace('step: adopt', `step: ${names[i]}`));
    }
    expect((await cli(ws, 'advance')).stdout).toBe('');
    const past = await cli(ws, 'advance');
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/"finalized" is the last step; there is nothing to advance to/);

    const r = await cli(ws, 'retreat');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('cni-migrate: retreat to policies-restored');
  });

  it('names the wave and its nodes in the commit message', async () => {
    const ws = demoWorkspace();
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('step: adopt', 'step: nodes-1'));
    const r = await cli(ws, 'advance');
    expect(r.stdout.trim()).toBe('cni-migrate: advance to nodes-2 (wave 2/5: worker-2, worker-3)');
  });

  it('steps marks the current step', async () => {
    const ws = demoWorkspace();
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('step: adopt', 'step: nodes-2'));
    const r = await cli(ws, 'steps');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(12);
    expect(lines.filter((l) => l.startsWith('>'))).toEqual(['>  6. nodes-2  wave 2: worker-2, worker-3']);
    expect(lines.filter((l) => l.startsWith('✓'))).toHaveLength(5);
  });
});
