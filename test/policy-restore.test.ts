/**
 * NetworkPolicies across the move (issue 16): a restore that would cut traffic is refused at plan
 * time unless rewritten or acknowledged (the rewrite itself: policy-rewrite.test.ts); and while
 * suspended, a ValidatingAdmissionPolicy freezes NetworkPolicies, its CEL checked with a CEL evaluator (@bufbuild/cel) on admission requests.
 */
import { run } from '@bufbuild/cel';
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { FREEZE_EXPRESSION } from '../src/constructs/policy-freeze';
import { stepList } from '../src/steps/steps';
import { checkSchemas } from './support/schemas';
import { cli, demoWorkspace, editConfig, readManifests, setStep, type Workspace } from './support/workspace';

describe('the demo\'s allow-from-pod-network', () => {
  const restored = async (ws: Workspace) => {
    setStep(ws, 'policies-restored');
    expect((await cli(ws, 'synth')).code).toBe(0);
    return readManifests(ws.dist).find((m) => m.obj.kind === 'NetworkPolicy' && m.obj.metadata.name === 'allow-from-pod-network')!.obj;
  };

  it('makes plan exit 1 at the default settings, naming it and the two ways out', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => delete d.spec.policies);
    const r = await cli(ws, 'plan');
    expect(r.code).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.startsWith('ERROR policy-ipblock-weave'))!;
    expect(line).toContain('payments/allow-from-pod-network (spec.ingress[0].from)');
    expect(line).toMatch(/spec\.policies\.rewriteIPBlocks: true.*or list the policy in spec\.policies\.acknowledge/);
    expect((await cli(ws, 'synth')).code).toBe(2);
  });

  it('passes with a rewrite, and the restored object shows it', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.policies = { rewriteIPBlocks: true }));
    expect((await cli(ws, 'plan')).code).toBe(0);
    expect((await restored(ws)).spec.ingress[0].from).toEqual([{ ipBlock: { cidr: '10.48.0.0/12' } }]);
    expect(fs.readFileSync(path.join(ws.dist, 'PLAN.md'), 'utf8')).toContain('ipBlock rewrite in payments/allow-from-pod-network, spec.ingress[0].from[0].ipBlock.cidr: `10.32.0.0/12` → `10.48.0.0/12`');
  });

  it('with rewriteIPBlocks on, the restored object is the backup with only the rewritten CIDR changed (labels, annotations, every other field kept)', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.policies = { rewriteIPBlocks: true }));
    const file = path.join(ws.cluster, 'networkpolicies', 'payments', 'allow-from-pod-network.yaml');
    const backup = YAML.parse(fs.readFileSync(file, 'utf8'));
    backup.metadata.labels = { team: 'payments', 'app.kubernetes.io/part-of': 'ledger' };
    backup.metadata.annotations = { 'example.com/owner': 'payments-oncall', 'example.com/reviewed': '2024-05-01' };
    backup.spec.egress = [{ to: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }] }];
    backup.spec.policyTypes = ['Ingress', 'Egress'];
    fs.writeFileSync(file, YAML.stringify(backup));
    const got = await restored(ws);
    delete got.metadata.annotations['argocd.argoproj.io/sync-wave'];
    const want = structuredClone(backup);
    want.spec.ingress[0].from[0].ipBlock.cidr = '10.48.0.0/12';
    expect(got).toEqual(want);
  });

  it('passes with an acknowledgement, restored as backed up; an unknown name is an error', async () => {
    const ws = demoWorkspace();
    editConfig(ws, (d) => (d.spec.policies = { acknowledge: ['payments/allow-from-pod-network'] }));
    expect((await cli(ws, 'plan')).code).toBe(0);
    expect((await restored(ws)).spec.ingress[0].from).toEqual([{ ipBlock: { cidr: '10.32.0.0/12' } }]);
    editConfig(ws, (d) => (d.spec.policies = { acknowledge: ['payments/allow-from-pod-network', 'payments/typo'] }));
    const r = await cli(ws, 'plan');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR policy-acknowledge-unknown: payments\/typo is acknowledged, but no such NetworkPolicy/m);
  });
});

describe('the freeze while NetworkPolicies are suspended', () => {
  it('exists exactly at the steps without policies, validates against the schemas, and the revert removes it', async () => {
    const ws = demoWorkspace();
    for (const s of stepList(5)) {
      setStep(ws, s.name);
      expect((await cli(ws, 'synth')).code).toBe(0);
      const objs = readManifests(ws.dist);
      const freeze = objs.filter((m) => m.obj.kind.startsWith('ValidatingAdmissionPolicy'));
      const policies = objs.filter((m) => m.obj.kind === 'NetworkPolicy');
      expect([s.name, freeze.length]).toEqual([s.name, policies.length === 0 ? 2 : 0]);
      expect(checkSchemas(freeze)).toEqual([]);
    }
  });

  it('is left out, with a warning, on a control plane older than 1.30', async () => {
    const ws = demoWorkspace();
    for (const n of ['cp-1', 'cp-2']) {
      const f = path.join(ws.cluster, 'control-plane', 'kube-controller-manager', `${n}.yaml`);
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/kube-controller-manager:v1\.30\.\d+/, 'kube-controller-manager:v1.29.9'));
    }
    const ds = path.join(ws.cluster, 'control-plane', 'kube-proxy-daemonset.yaml');
    fs.writeFileSync(ds, fs.readFileSync(ds, 'utf8').replace(/kube-proxy:v1\.30\.\d+/, 'kube-proxy:v1.29.9'));
    setStep(ws, 'nodes-1');
    const r = await cli(ws, 'plan');
    expect(r.stdout).toMatch(/^WARNING policy-freeze-unsupported: the control plane is older than Kubernetes 1\.30/m);
    expect((await cli(ws, 'synth')).code).toBe(0);
    expect(readManifests(ws.dist).filter((m) => m.obj.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
  });

  /** The admission decision for one request, as the API server evaluates the policy (CEL, then the match). */
  const toCel = (v: unknown): unknown => (Array.isArray(v) ? v.map(toCel) : v && typeof v === 'object' ? new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)])) : v);
  function admits(operation: 'CREATE' | 'UPDATE' | 'DELETE', username: string, labels?: Record<string, string>): boolean {
    const obj = readManifests(frozen.dist).find((m) => m.obj.kind === 'ValidatingAdmissionPolicy')!.obj;
    if (!obj.spec.matchConstraints.resourceRules[0].operations.includes(operation)) return true;
    const object = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'new', namespace: 'shop', ...(labels ? { labels } : {}) }, spec: { podSelector: {} } };
    expect(obj.spec.validations[0].expression).toBe(FREEZE_EXPRESSION);
    return run(obj.spec.validations[0].expression, { request: toCel({ operation, userInfo: { username } }), object: toCel(object) } as never) === true;
  }
  let frozen: Workspace;
  beforeAll(async () => {
    frozen = demoWorkspace();
    setStep(frozen, 'nodes-2');
    expect((await cli(frozen, 'synth')).code).toBe(0);
  });

  it.each([
    ['CREATE', 'alice', undefined, false],
    ['UPDATE', 'system:serviceaccount:argocd:argocd-application-controller', undefined, false],
    ['CREATE', 'alice', { 'cni-migrate.io/allow-during-migration': 'true' }, true],
    ['CREATE', 'alice', { 'cni-migrate.io/allow-during-migration': 'yes' }, false],
    ['UPDATE', 'system:serviceaccount:kube-system:cni-migrate-gate', undefined, true],
    ['CREATE', 'system:serviceaccount:shop:cni-migrate-impostor', undefined, false],
    ['DELETE', 'alice', undefined, true],
  ] as const)('%s by %s with labels %j: admitted %s', (operation, user, labels, admitted) => {
    expect(admits(operation, user, labels as Record<string, string> | undefined)).toBe(admitted);
  });

  it('the denial names the migration, the steps, and the way to an exception', () => {
    const obj = readManifests(frozen.dist).find((m) => m.obj.kind === 'ValidatingAdmissionPolicy')!.obj;
    expect(obj.spec.validations[0].message).toMatch(/migration demo from step policies-suspended until step policies-restored.*label it cni-migrate\.io\/allow-during-migration=true/);
    expect(YAML.stringify(readManifests(frozen.dist).find((m) => m.obj.kind === 'ValidatingAdmissionPolicyBinding')!.obj.spec)).toMatch(/validationActions:\n  - Deny/);
  });
});

describe('plan reports policies owned through ownerReferences', () => {
  it('names them', async () => {
    const ws = demoWorkspace();
    const dir = path.join(ws.cluster, 'networkpolicies', 'shop');
    const f = path.join(dir, fs.readdirSync(dir).filter((x) => x.endsWith('.yaml'))[0]);
    const p = YAML.parse(fs.readFileSync(f, 'utf8'));
    p.metadata.ownerReferences = [{ apiVersion: 'example.com/v1', kind: 'App', name: 'shop', uid: '1', controller: true }];
    fs.writeFileSync(f, YAML.stringify(p));
    const r = await cli(ws, 'plan');
    expect(r.stdout).toMatch(new RegExp(`^WARNING policy-owned-elsewhere: shop/${p.metadata.name}: applied by their owner \\(ownerReferences: an operator or controller\\)`, 'm'));
  });
});
