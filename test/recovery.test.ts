import type { GitOpsSpec } from '../src/config/types';
import { rerunCommand, retryJobCommands, stuckSteps } from '../src/gitops/recovery';

const gitops = (engine: 'argocd' | 'flux', namespace: string) => ({ engine, namespace, repoURL: 'https://git.example.com/x.git', revision: 'main', path: 'dist', project: 'default', retryRefresh: true }) as GitOpsSpec;

describe('recovery commands', () => {
  it('Argo CD: a manual sync of the Application, naming its namespace only outside Argo CD\'s own', () => {
    expect(rerunCommand(gitops('argocd', 'argocd'), 'cni-migrate-prod', '40-nodes')).toBe('argocd app sync cni-migrate-prod');
    expect(rerunCommand(gitops('argocd', 'platform'), 'cni-migrate-prod', '40-nodes')).toBe('argocd app sync cni-migrate-prod --app-namespace platform');
    expect(stuckSteps(gitops('argocd', 'platform'), 'cni-migrate-prod').join('\n')).toContain('`argocd app terminate-op cni-migrate-prod --app-namespace platform`');
  });

  it('Flux: reconcile the Kustomization of the Job\'s layer, with its source', () => {
    expect(rerunCommand(gitops('flux', 'flux-system'), 'cni-migrate-prod', '20-control-plane')).toBe('flux reconcile kustomization cni-migrate-prod-20-control-plane --namespace flux-system --with-source');
    expect(retryJobCommands(gitops('flux', 'gitops'), 'cni-migrate-prod', { name: 'kcm-1', namespace: 'kube-system', layer: '20-control-plane' }))
      .toBe('`kubectl delete job --namespace=kube-system kcm-1`, then `flux reconcile kustomization cni-migrate-prod-20-control-plane --namespace gitops --with-source`');
  });

  it('names the gate only when the step has one', () => {
    for (const engine of ['argocd', 'flux'] as const) {
      expect(stuckSteps(gitops(engine, 'ns'), 'b').some((l) => l.startsWith('**The gate refused**'))).toBe(false);
      expect(stuckSteps(gitops(engine, 'ns'), 'b', { name: 'gate-x', namespace: 'kube-system' }).find((l) => l.startsWith('**The gate refused**'))).toContain('gate-x');
    }
  });
});
