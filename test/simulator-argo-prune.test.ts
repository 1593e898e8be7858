/**
 * The simulator's Argo CD prune, against what gitops-engine does (pkg/sync/sync_context.go
 * getSyncTasks and Sync; pkg/sync/sync_tasks.go Less): prune tasks run inside the waves, at their
 * object's wave with the prune waves swapped end for end, ordered by kind then name within a wave,
 * PruneLast after the last wave, Prune=false never; and a wave that stops the operation leaves the
 * prunes of later waves undone. The engine matrix rests on this, so it is pinned on small hand-made
 * commits whose answer can be read off the source.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { GitOpsSimulator, type Obj } from './support/gitops-simulator';

let root: string;
beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'argo-prune-'))));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function configMap(name: string, wave: number, syncOptions?: string): Obj {
  const annotations: Record<string, string> = { 'argocd.argoproj.io/sync-wave': String(wave) };
  if (syncOptions) annotations['argocd.argoproj.io/sync-options'] = syncOptions;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'kube-system', annotations } as Obj['metadata'], data: {} };
}

/** A Job with no node: the simulator runs it (and an injected failure fails it) without a script. */
function job(name: string): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'kube-system', annotations: { 'argocd.argoproj.io/sync-wave': '40' } } as Obj['metadata'],
    spec: { template: { spec: { containers: [{ name: 'noop', image: 'busybox', command: ['true'] }] } } },
  };
}

/** A commit's dist/: layer folder → objects. */
function commit(name: string, layers: Record<string, Obj[]>): string {
  const dir = path.join(root, name);
  for (const [layer, objects] of Object.entries(layers)) {
    fs.mkdirSync(path.join(dir, layer), { recursive: true });
    for (const o of objects) fs.writeFileSync(path.join(dir, layer, `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`), YAML.stringify(o));
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const cm = (name: string) => `ConfigMap/kube-system/${name}`;

describe('Argo CD prune in the simulator', () => {
  it('prunes in the waves, highest wave first, kinds then names in order, PruneLast after the last wave, Prune=false never', () => {
    const sim = new GitOpsSimulator(['node-a']);
    try {
      const first = commit('first', {
        '10-calico': [configMap('w10-b', 10), configMap('w10-a', 10), configMap('kept', 10, 'Prune=false')],
        '20-control-plane': [{ ...configMap('aaa', 20), kind: 'ServiceAccount' }, configMap('w20', 20), configMap('last', 20, 'PruneLast=true')],
        '50-weave': [configMap('w50', 50)],
      });
      expect(sim.applyAs('argocd', first)).toEqual({ failed: [], pruned: [] });
      const second = commit('second', { '30-policies': [configMap('stays', 30)] });
      // Prune waves 10, 20, 50 swap symmetrically: 50's object goes at 10, 20's stays, 10's at 50
      // (a ConfigMap before a ServiceAccount, then names); PruneLast at one past the last wave.
      expect(sim.applyAs('argocd', second)).toEqual({ failed: [], pruned: [cm('w50'), cm('w20'), 'ServiceAccount/kube-system/aaa', cm('w10-a'), cm('w10-b'), cm('last')] });
      expect(sim.liveObjects('ConfigMap').map((o) => o.metadata.name).sort()).toEqual(['kept', 'stays']);
    } finally {
      sim.dispose();
    }
  });

  it('a wave that stops the operation leaves the later prunes undone, and the retry completes them', () => {
    const sim = new GitOpsSimulator(['node-a']);
    try {
      sim.applyAs('argocd', commit('first', { '10-calico': [configMap('w10', 10)], '50-weave': [configMap('w50', 50)] }));
      sim.failNextRun('switch');
      const second = commit('second', { '40-nodes': [job('switch-node-a')] });
      // w50 is pruned in wave 10 (swapped), before the Job of wave 40 fails; w10 (pruned at 50) is not reached.
      const stopped = sim.applyAs('argocd', second);
      expect(stopped.waitingAt).toEqual({ layer: '40-nodes', unhealthy: ['Job switch-node-a failed on (api)'] });
      expect(stopped.pruned).toEqual([cm('w50')]);
      expect(sim.liveObjects('ConfigMap').map((o) => o.metadata.name)).toEqual(['w10']);
      // The operator deletes the failed Job (PLAN.md's retry): the next sync runs it again and prunes the rest.
      sim.deleteLive('Job', 'switch-node-a');
      const retried = sim.applyAs('argocd', second);
      expect(retried).toEqual({ failed: [], pruned: [cm('w10')] });
      expect(sim.liveObjects('ConfigMap')).toEqual([]);
    } finally {
      sim.dispose();
    }
  });

  it('Flux prunes a layer at its own apply, so a stopped chain keeps what the later layers dropped', () => {
    const sim = new GitOpsSimulator(['node-a']);
    try {
      sim.applyAs('flux', commit('first', { '10-calico': [configMap('w10', 10)], '50-weave': [configMap('w50', 50)] }));
      sim.failNextRun('switch');
      const stopped = sim.applyAs('flux', commit('second', { '10-calico': [], '40-nodes': [job('switch-node-a')], '50-weave': [] }));
      expect(stopped.waitingAt?.layer).toBe('40-nodes');
      expect(sim.liveObjects('ConfigMap').map((o) => o.metadata.name)).toEqual(['w50']);
    } finally {
      sim.dispose();
    }
  });
});
