/**
 * Reverting `calico` (back to `adopt`) takes calico-node and the rest of Calico out, but never
 * Calico's CRDs: deleting a CRD deletes its objects, the IP pools and IPAM blocks among them. Both
 * engines' output through the GitOps simulator, whose prune honours Argo CD's Prune=false and
 * Flux's prune: disabled as the engines document them.
 */
import * as path from 'path';
import { GitOpsSimulator } from './support/gitops-simulator';
import { cli, demoWorkspace, editConfig, setStep } from './support/workspace';

const NODES = ['cp-1', 'cp-2', 'worker-1', 'worker-2', 'worker-3', 'worker-gpu-1'];

describe.each(['argocd', 'flux'] as const)('a revert to adopt (%s output)', (engine) => {
  const dist = new Map<string, string>();
  beforeAll(async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.gitops.engine = engine));
    for (const step of ['adopt', 'calico']) {
      setStep(ws, step);
      const out = path.join(ws.dir, `dist-${step}`);
      const r = await cli(ws, 'synth', '--out', out);
      expect([r.code, r.stderr]).toEqual([0, '']);
      dist.set(step, out);
    }
  });

  it('prunes calico-node and keeps the CRDs; going forward again applies them unchanged', () => {
    const sim = new GitOpsSimulator(NODES, { skipControlPlaneJobs: true });
    try {
      expect(sim.apply(dist.get('adopt')!)).toEqual([]);
      expect(sim.liveObjects('CustomResourceDefinition')).toEqual([]);
      expect(sim.apply(dist.get('calico')!)).toEqual([]);
      const crds = sim.liveObjects('CustomResourceDefinition').map((c) => c.metadata.name).sort();
      expect(crds).toContain('ippools.crd.projectcalico.org');
      expect(crds).toContain('blockaffinities.crd.projectcalico.org');
      expect(sim.liveObjects('DaemonSet').map((d) => d.metadata.name)).toContain('calico-node');

      expect(sim.apply(dist.get('adopt')!)).toEqual([]);
      expect(sim.liveObjects('DaemonSet').map((d) => d.metadata.name)).not.toContain('calico-node');
      expect(sim.liveObjects('ServiceAccount').map((d) => d.metadata.name)).not.toContain('calico-node');
      expect(sim.liveObjects('CustomResourceDefinition').map((c) => c.metadata.name).sort()).toEqual(crds);
      for (const n of NODES) expect(sim.loadedNetwork(n)).toBe('weave');

      expect(sim.apply(dist.get('calico')!)).toEqual([]);
      expect(sim.liveObjects('CustomResourceDefinition').map((c) => c.metadata.name).sort()).toEqual(crds);
    } finally {
      sim.dispose();
    }
  });
});
