/**
 * The NetworkPolicy findings of `plan`, and the ipBlock rewrite on restore, over the corpus.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { stableJson } from '../src/util/stable-json';
import { CORPUS_NAMESPACES, POLICY_CORPUS } from './fixtures/policy-corpus';
import { cli, demoWorkspace, editConfig, readManifests, setStep, type Workspace } from './support/workspace';

function corpusWorkspace(namespaces: string[] = CORPUS_NAMESPACES): Workspace {
  const ws = demoWorkspace();
  fs.rmSync(path.join(ws.cluster, 'networkpolicies'), { recursive: true });
  for (const p of POLICY_CORPUS) {
    const dir = path.join(ws.cluster, 'networkpolicies', p.metadata.namespace);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${p.metadata.name}.yaml`), YAML.stringify(p));
  }
  fs.writeFileSync(path.join(ws.cluster, 'namespaces.yaml'), YAML.stringify({ apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NamespaceList', namespaces }));
  return ws;
}

const findings = async (ws: Workspace) => {
  const r = await cli(ws, 'plan', '--json');
  return { code: r.code, findings: JSON.parse(r.stdout).findings as { severity: string; code: string; message: string; fix: string }[] };
};

describe('policy findings', () => {
  it('name the policies another tool owns, by tool', async () => {
    const { findings: f } = await findings(corpusWorkspace());
    const owned = f.filter((x) => x.code === 'policy-owned-elsewhere').map((x) => x.message);
    expect(owned).toEqual([
      'argocd/argocd-server: applied by Argo CD, which would bring them back while they are suspended (and fight this migration over them)',
      'flux-apps/from-flux: applied by Flux, which would bring them back while they are suspended (and fight this migration over them)',
      'helm-apps/from-helm: applied by Helm, which would bring them back while they are suspended (and fight this migration over them)',
    ]);
  });

  it('take this migration\'s own tracking marks (left by adopt) for no other owner, and Argo CD 2.x\'s instance label for one', async () => {
    const ws = corpusWorkspace();
    const mark = (ns: string, name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> }) => {
      const file = path.join(ws.cluster, 'networkpolicies', ns, `${name}.yaml`);
      const p = YAML.parse(fs.readFileSync(file, 'utf8'));
      p.metadata.labels = { ...p.metadata.labels, ...meta.labels };
      p.metadata.annotations = { ...p.metadata.annotations, ...meta.annotations };
      fs.writeFileSync(file, YAML.stringify(p));
    };
    // What the demo's own Application (cni-migrate-demo, in Argo CD's namespace or another) and
    // its Flux Kustomizations write on the policies they adopted.
    mark('shop', 'named-port', { annotations: { 'argocd.argoproj.io/tracking-id': 'cni-migrate-demo:networking.k8s.io/NetworkPolicy:shop/named-port' }, labels: { 'app.kubernetes.io/instance': 'cni-migrate-demo' } });
    mark('shop', 'named-port-egress', { annotations: { 'argocd.argoproj.io/tracking-id': 'platform_cni-migrate-demo:networking.k8s.io/NetworkPolicy:shop/named-port-egress' } });
    mark('monitoring', 'scrape', { labels: { 'kustomize.toolkit.fluxcd.io/name': 'cni-migrate-demo-30-policies', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } });
    // Another Application, tracked by Argo CD 2.x's default label only.
    mark('payments', 'end-port', { labels: { 'app.kubernetes.io/instance': 'payments-netpol' } });
    // Another migration's Application whose name only starts like ours.
    mark('payments', 'end-port-udp', { annotations: { 'argocd.argoproj.io/tracking-id': 'cni-migrate-demo2:networking.k8s.io/NetworkPolicy:payments/end-port-udp' } });
    const owned = (await findings(ws)).findings.filter((x) => x.code === 'policy-owned-elsewhere').map((x) => x.message.replace(/, which would bring.*/, ''));
    expect(owned).toEqual([
      'argocd/argocd-server, payments/end-port-udp: applied by Argo CD',
      'payments/end-port: applied by Argo CD (app.kubernetes.io/instance, its tracking label before 3.0) or another tool that sets that label',
      'flux-apps/from-flux: applied by Flux',
      'helm-apps/from-helm: applied by Helm',
    ]);
  });

  it('flag ipBlocks on the Weave, Calico and service CIDRs, named ports and port ranges', async () => {
    const ws = corpusWorkspace();
    editConfig(ws, (d) => (d.spec.policies.rewriteIPBlocks = false));
    const { code, findings: f } = await findings(ws);
    const by = (code: string) => f.find((x) => x.code === code)?.message ?? '';
    // Only the rules that let pods in by Weave addresses and not by Calico's, once restored as is.
    expect(code).toBe(1);
    expect(f.find((x) => x.code === 'policy-ipblock-weave')?.severity).toBe('error');
    expect(by('policy-ipblock-weave')).toMatch(/^payments\/ipblock-weave \(spec\.ingress\[0\]\.from\), payments\/ipblock-weave-subnet \(spec\.ingress\[0\]\.from\): an ipBlock lets pods in or out by their Weave addresses \(10\.32\.0\.0\/12\) only/);
    expect(by('policy-ipblock-calico')).toContain('payments/ipblock-calico');
    expect(by('policy-ipblock-service')).toContain('payments/ipblock-services');
    expect(by('policy-named-port')).toMatch(/monitoring\/scrape, shop\/named-port, shop\/named-port-egress: named ports/);
    expect(by('policy-end-port')).toMatch(/payments\/end-port, payments\/end-port-udp: port ranges/);
    expect(by('policy-ipblock-weave')).not.toContain('ipblock-partner');
  });

  it('refuse policies whose namespace is gone at a step that applies them, and warn otherwise', async () => {
    const ws = corpusWorkspace(CORPUS_NAMESPACES.filter((n) => n !== 'gone'));
    const adopt = await findings(ws);
    expect(adopt.code).toBe(1);
    expect(adopt.findings.find((x) => x.code === 'policy-namespace-gone')).toMatchObject({ severity: 'error', message: 'gone/orphan: their namespace no longer exists, so applying them fails the sync' });
    const synth = await cli(ws, 'synth');
    expect(synth.code).toBe(2);
    expect(synth.stderr).toMatch(/networkpolicies: spec: gone\/orphan: their namespace no longer exists/);
    setStep(ws, 'nodes-2');
    const later = await findings(ws);
    expect(later.findings.find((x) => x.code === 'policy-namespace-gone')?.severity).toBe('warning');
  });
});

describe('restore', () => {
  it('is exact unless ipBlock rewrites are enabled; then only the configured CIDRs change', async () => {
    const ws = corpusWorkspace();
    const policies = async (step: string) => {
      setStep(ws, step);
      expect((await cli(ws, 'synth')).code).toBe(0);
      return new Map(readManifests(ws.dist).filter((m) => m.obj.kind === 'NetworkPolicy').map((m) => [`${m.obj.metadata.namespace}/${m.obj.metadata.name}`, m.obj.spec]));
    };
    const original = new Map(POLICY_CORPUS.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.spec]));
    // Restored exactly: without rewrites, and with the policies that name Weave's range acknowledged.
    editConfig(ws, (d) => (d.spec.policies = { rewriteIPBlocks: false, acknowledge: ['payments/ipblock-weave', 'payments/ipblock-weave-subnet'] }));
    expect(await policies('policies-restored')).toEqual(original);
    editConfig(ws, (d) => (d.spec.policies = { rewriteIPBlocks: true }));
    // Before restore nothing is rewritten, even with the option on.
    expect(await policies('adopt')).toEqual(original);
    const restored = await policies('policies-restored');
    const changed = [...restored].filter(([k, v]) => stableJson(v) !== stableJson(original.get(k))).map(([k]) => k).sort();
    expect(changed).toEqual(['payments/ipblock-except-weave', 'payments/ipblock-weave', 'payments/ipblock-weave-subnet']);
    expect(restored.get('payments/ipblock-weave-subnet').ingress[0].from[0].ipBlock).toEqual({ cidr: '10.56.0.0/16' });
    expect(restored.get('payments/ipblock-weave').ingress[0].from[0].ipBlock).toEqual({ cidr: '10.48.0.0/12' });
    expect(restored.get('payments/ipblock-except-weave').egress[0].to[0].ipBlock).toEqual({ cidr: '10.0.0.0/8', except: ['10.48.0.0/12', '10.96.0.0/12'] });
    // Labels and annotations come back exactly, rewritten or not.
    // (less the sync-wave annotation that orders the layer for Argo CD)
    const meta = (o: any) => {
      const { 'argocd.argoproj.io/sync-wave': _wave, ...annotations } = o.metadata.annotations ?? {};
      return [`${o.metadata.namespace}/${o.metadata.name}`, stableJson({ labels: o.metadata.labels, annotations: Object.keys(annotations).length ? annotations : undefined })];
    };
    expect(readManifests(ws.dist).filter((m) => m.obj.kind === 'NetworkPolicy').map((m) => meta(m.obj).join(' ')).sort()).toEqual(POLICY_CORPUS.map((p) => meta(p).join(' ')).sort());
    expect(POLICY_CORPUS.some((p: any) => p.metadata.labels || p.metadata.annotations)).toBe(true);
  });
});
