/**
 * Removing Weave: the gate against recorded pod lists (script and status agree), the node cleanup
 * on scratch folders and inside a real network namespace, what synth emits, the guard's flag,
 * and the simulator through weave-removed and back.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { podsOnWeave } from '../src/cluster/weave-pods';
import { Cidr } from '../src/network/cidr';
import { readScript, scriptPath } from '../src/scripts/read-script';
import { runScript } from './support/gitops-simulator';
import { toolRoot } from './support/image-tools';
import { requirePeer } from './support/peers';
import { cli, demoWorkspace, editConfig, readManifests, setStep } from './support/workspace';

const PODS = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'pods-weave-removal.json'), 'utf8'));
const FAKE_KUBECTL = path.join(__dirname, 'support', 'fake-kubectl');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'weave-rm-'));

function gate(pods: unknown[], cidr = '10.32.0.0/12', network = 'weave') {
  const store = tmp();
  fs.writeFileSync(path.join(store, 'calls.log'), '');
  fs.writeFileSync(path.join(store, 'PodList.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
  return runScript(readScript('gate-no-pods-in-cidr.sh'), { NETWORK: network, POD_CIDR: cidr, WORK_DIR: store, FAKE_KUBE_STORE: store }, undefined, 'kubectl');
}

describe('the weave-removed gate', () => {
  it('fails on pods with a Weave IP, naming pod, node and IP; skips Weave, host-network, finished and IP-less pods', () => {
    const r = gate(PODS.items);
    expect(r.code).toBe(1);
    const lines = r.log.trim().split('\n');
    expect(lines[0]).toBe('gate: 3 pod(s) still have an IP in the Weave CIDR 10.32.0.0/12; restart them (they come back on Calico) before removing Weave:');
    expect(lines.slice(1)).toEqual([
      'dual/ds-pod node=cp-1 ip=10.47.255.254',
      'monitoring/node-exporter-abc node=worker-2 ip=10.35.0.2',
      'shop/api-7d9c-abcde node=worker-1 ip=10.32.0.7',
    ]);
  });

  it('passes when no such pod is left', () => {
    const r = gate(PODS.items.filter((p: any) => !['api-7d9c-abcde', 'ds-pod', 'node-exporter-abc'].includes(p.metadata.name)));
    expect(r).toMatchObject({ code: 0 });
    expect(r.log).toMatch(/no pod other than Weave's own has an IP in 10.32.0.0\/12/);
  });

  it('ignores Failed pods as it ignores Succeeded ones (they hold no network), and status agrees', () => {
    const failed = { metadata: { namespace: 'batch', name: 'job-crashed' }, spec: { nodeName: 'worker-1' }, status: { phase: 'Failed', podIP: '10.32.9.9' } };
    const running = { ...failed, metadata: { namespace: 'batch', name: 'job-running' }, status: { phase: 'Running', podIP: '10.32.9.10' } };
    const r = gate([failed, running]);
    expect([r.code, r.log.trim().split('\n').slice(1)]).toEqual([1, ['batch/job-running node=worker-1 ip=10.32.9.10']]);
    expect(gate([failed]).code).toBe(0);
    expect(podsOnWeave([failed, running], Cidr.parse('10.32.0.0/12')).map((p) => p.pod)).toEqual(['batch/job-running']);
  });

  it('and cni-migrate status agree on the same recorded list', () => {
    const ts = podsOnWeave(PODS.items, Cidr.parse('10.32.0.0/12')).map((p) => `${p.pod} node=${p.node} ip=${p.ip}`);
    const sh = gate(PODS.items).log.trim().split('\n').slice(1);
    expect(ts).toEqual(sh);
    // A non-default Weave range.
    expect(podsOnWeave(PODS.items, Cidr.parse('10.48.0.0/12')).map((p) => p.pod)).toEqual(['edge/just-outside', 'shop/web-55f-xyz12']);
    expect(gate(PODS.items, '10.48.0.0/12').log).toMatch(/edge\/just-outside node=cp-2 ip=10.48.0.0\nshop\/web-55f-xyz12/);
  });
});

describe('weave-cleanup.sh', () => {
  const scratch = () => {
    const root = tmp();
    for (const d of ['net', 'bin', 'data']) fs.mkdirSync(path.join(root, d));
    for (const f of ['net/10-weave.conflist', 'net/05-calico.conflist', 'net/10-calico.conflist', 'net/calico-kubeconfig', 'bin/weave-net', 'bin/weave-ipam', 'bin/weave-plugin-2.8.1', 'bin/calico', 'bin/calico-ipam', 'bin/portmap', 'data/weave-netdata.db', 'data/.hidden']) {
      fs.writeFileSync(path.join(root, f), 'x');
    }
    return root;
  };
  const run = (root: string, extra: Record<string, string> = {}) =>
    runScript(readScript('weave-cleanup.sh'), { CNI_DIR: path.join(root, 'net'), BIN_DIR: path.join(root, 'bin'), DATA_DIR: path.join(root, 'data'), NODE_NAME: 'n1', NETWORK: '0', ...extra }, undefined, 'calico-node');

  it('removes Weave\'s files only, says what it removed, and is idempotent', () => {
    const root = scratch();
    const r = run(root);
    expect(r.code).toBe(0);
    expect(r.log).toMatch(/removed .*net\/10-weave.conflist/);
    expect(r.log).toMatch(/done: 6 item\(s\) removed/);
    expect(fs.readdirSync(path.join(root, 'net')).sort()).toEqual(['05-calico.conflist', '10-calico.conflist', 'calico-kubeconfig']);
    expect(fs.readdirSync(path.join(root, 'bin')).sort()).toEqual(['calico', 'calico-ipam', 'portmap']);
    expect(fs.readdirSync(path.join(root, 'data'))).toEqual([]);
    expect(run(root).log).toMatch(/done: 0 item\(s\) removed/);
  });

  const netns = `cni-migrate-test-${process.pid}`;
  const netnsWorks = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'add', netns]).status === 0;
  if (netnsWorks) spawnSync('ip', ['netns', 'del', netns]);
  const canNetns = requirePeer(netnsWorks, 'root and `ip netns`', 'the network-namespace cleanup tests');

  (canNetns ? describe : describe.skip)('inside a network namespace of its own', () => {
    const ns = (...args: string[]) => spawnSync('ip', ['netns', 'exec', netns, ...args], { encoding: 'utf8' });
    /** weave-cleanup.sh in the namespace, with calico/node's tools alone on PATH (its image). */
    const inCalicoNode = (...env: string[]) => inCalicoNodeWith('', ...env);
    /** As inCalicoNode, with `first` (a folder of commands that stand in for some of the image's) ahead on PATH. */
    const inCalicoNodeWith = (first: string, ...env: string[]) => {
      const tools = toolRoot('calico-node');
      return spawnSync('ip', ['netns', 'exec', netns, 'env', '-i', `PATH=${first ? `${first}:` : ''}${tools}/bin`, ...env, `${tools}/bin/sh`, scriptPath('weave-cleanup.sh')], { encoding: 'utf8' });
    };
    beforeEach(() => {
      expect(spawnSync('ip', ['netns', 'add', netns]).status).toBe(0);
    });
    afterEach(() => {
      spawnSync('ip', ['netns', 'del', netns]);
    });

    it('deletes Weave\'s links, chains and the rules that use them, and nothing else', () => {
      const must = (...args: string[]) => expect([args.join(' '), ns(...args).status]).toEqual([args.join(' '), 0]);
      must('ip', 'link', 'add', 'weave', 'type', 'bridge');
      must('ip', 'link', 'add', 'datapath', 'type', 'bridge');
      must('ip', 'link', 'add', 'vethwe-bridge', 'type', 'veth', 'peer', 'name', 'vethwe-datapath');
      must('ip', 'link', 'add', 'vethwepl1234', 'type', 'veth', 'peer', 'name', 'eth-pod');
      must('ip', 'link', 'add', 'cali12345', 'type', 'veth', 'peer', 'name', 'eth-cali');
      const hasVxlan = ns('ip', 'link', 'add', 'vxlan-6784', 'type', 'vxlan', 'id', '42', 'dstport', '6784').status === 0;
      for (const ipt of ['iptables-legacy', ...(ns('iptables-nft', '-S').status === 0 ? ['iptables-nft'] : [])]) {
        must(ipt, '-N', 'WEAVE-NPC');
        must(ipt, '-N', 'WEAVE-NPC-INGRESS');
        must(ipt, '-A', 'WEAVE-NPC', '-j', 'WEAVE-NPC-INGRESS');
        must(ipt, '-A', 'FORWARD', '-o', 'weave', '-j', 'WEAVE-NPC');
        must(ipt, '-A', 'FORWARD', '-i', 'weave', '!', '-o', 'weave', '-j', 'ACCEPT');
        must(ipt, '-A', 'FORWARD', '-m', 'comment', '--comment', 'cali:keep me', '-j', 'ACCEPT');
        must(ipt, '-t', 'nat', '-N', 'WEAVE');
        must(ipt, '-t', 'nat', '-A', 'POSTROUTING', '-j', 'WEAVE');
        must(ipt, '-t', 'mangle', '-N', 'WEAVE-CANARY');
      }
      const root = scratch();
      const r = inCalicoNode(`CNI_DIR=${root}/net`, `BIN_DIR=${root}/bin`, `DATA_DIR=${root}/data`, 'NODE_NAME=n1');
      expect([r.status, r.stderr]).toEqual([0, '']);
      const links = ns('ip', '-o', 'link', 'show').stdout;
      expect(links).not.toMatch(/\d+: (weave|datapath|vethwe|vxlan-6784)/);
      expect(links).toMatch(/cali12345/);
      if (hasVxlan) expect(r.stdout).toMatch(/removed link vxlan-6784/);
      for (const ipt of ['iptables-legacy', ...(ns('iptables-nft', '-S').status === 0 ? ['iptables-nft'] : [])]) {
        const all = ['filter', 'nat', 'mangle'].map((t) => ns(ipt, '-t', t, '-S').stdout).join('\n');
        expect([ipt, /WEAVE|weave/.test(all)]).toEqual([ipt, false]);
        expect(all).toMatch(/cali:keep me/);
      }
      const again = inCalicoNode(`CNI_DIR=${root}/net`, `BIN_DIR=${root}/bin`, `DATA_DIR=${root}/data`, 'NODE_NAME=n1');
      expect([again.status, again.stdout.match(/done: .*/)?.[0]]).toEqual([0, 'done: 0 item(s) removed']);
    });

    it('fails the Job, naming what is left, when the rules cannot be removed (the table keeps changing under it)', () => {
      const must = (...args: string[]) => expect([args.join(' '), ns(...args).status]).toEqual([args.join(' '), 0]);
      must('iptables-legacy', '-N', 'WEAVE-NPC');
      must('iptables-legacy', '-A', 'FORWARD', '-o', 'weave', '-j', 'WEAVE-NPC');
      // iptables-restore refusing every transaction, as it does when Felix or kube-proxy rewrite
      // the table between the read and the write: the one failure the kernel itself would give.
      const refuse = tmp();
      for (const b of ['iptables-legacy-restore', 'iptables-nft-restore']) {
        fs.writeFileSync(path.join(refuse, b), `#!${toolRoot('calico-node')}/bin/sh\ncat >/dev/null\necho "${b}: line 2 failed" >&2\nexit 1\n`, { mode: 0o755 });
      }
      const root = scratch();
      const r = inCalicoNodeWith(refuse, `CNI_DIR=${root}/net`, `BIN_DIR=${root}/bin`, `DATA_DIR=${root}/data`, 'NODE_NAME=n1');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/WARNING: could not remove Weave's iptables-legacy filter rules and chains after 3 attempts/);
      expect(ns('iptables-legacy', '-S').stdout).toMatch(/-A FORWARD -o weave -j WEAVE-NPC/);
      // The files were still removed: the rest of the cleanup does not stop at the first failure.
      expect(fs.existsSync(path.join(root, 'net', '10-weave.conflist'))).toBe(false);
    });

    it('removes the exact rules Weave 2.8 writes, quotes and all, and never evaluates rule text', () => {
      const must = (...args: string[]) => expect([args.join(' '), ns(...args).status]).toEqual([args.join(' '), 0]);
      must('ip', 'link', 'add', 'weave', 'type', 'bridge');
      const pwned = path.join(tmp(), 'pwned');
      const backends = ['iptables-legacy', ...(ns('iptables-nft', '-S').status === 0 ? ['iptables-nft'] : [])];
      for (const ipt of backends) {
        // weave-npc's chains and the FORWARD rules as weaveworks/weave net/bridge.go
        // (configureIPTables, inserted in this order by ensureRulesAtTop) and prog/weave-npc write
        // them, with the comment whose single quotes broke an eval'd delete.
        for (const c of ['WEAVE-NPC', 'WEAVE-NPC-DEFAULT', 'WEAVE-NPC-INGRESS', 'WEAVE-NPC-EGRESS', 'WEAVE-NPC-EGRESS-DEFAULT', 'WEAVE-NPC-EGRESS-CUSTOM', 'WEAVE-NPC-EGRESS-ACCEPT', 'WEAVE-CANARY']) must(ipt, '-N', c);
        must(ipt, '-A', 'WEAVE-NPC', '-m', 'state', '--state', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
        must(ipt, '-A', 'WEAVE-NPC', '-j', 'WEAVE-NPC-DEFAULT');
        must(ipt, '-A', 'WEAVE-NPC', '-j', 'WEAVE-NPC-INGRESS');
        must(ipt, '-A', 'WEAVE-NPC-EGRESS', '-j', 'WEAVE-NPC-EGRESS-DEFAULT');
        must(ipt, '-A', 'FORWARD', '-m', 'comment', '--comment', 'cali:keep me $(touch ' + pwned + '-kept)', '-j', 'ACCEPT');
        must(ipt, '-A', 'FORWARD', '-i', 'weave', '-m', 'comment', '--comment', "NOTE: this must go before '-j KUBE-FORWARD'", '-j', 'WEAVE-NPC-EGRESS');
        must(ipt, '-A', 'FORWARD', '-o', 'weave', '-m', 'comment', '--comment', "NOTE: this must go before '-j KUBE-FORWARD'", '-j', 'WEAVE-NPC');
        must(ipt, '-A', 'FORWARD', '-o', 'weave', '-m', 'state', '--state', 'NEW', '-j', 'NFLOG', '--nflog-group', '86');
        must(ipt, '-A', 'FORWARD', '-o', 'weave', '-j', 'DROP');
        must(ipt, '-A', 'FORWARD', '-i', 'weave', '!', '-o', 'weave', '-j', 'ACCEPT');
        must(ipt, '-A', 'FORWARD', '-o', 'weave', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
        must(ipt, '-A', 'FORWARD', '-i', 'weave', '-m', 'comment', '--comment', `$(touch ${pwned})`, '-j', 'ACCEPT');
        must(ipt, '-A', 'INPUT', '-i', 'weave', '-j', 'WEAVE-NPC-EGRESS');
        must(ipt, '-t', 'nat', '-N', 'WEAVE');
        must(ipt, '-t', 'nat', '-N', 'WEAVE-CANARY');
        must(ipt, '-t', 'nat', '-A', 'POSTROUTING', '-j', 'WEAVE');
        must(ipt, '-t', 'nat', '-A', 'WEAVE', '-s', '10.32.0.0/12', '-d', '224.0.0.0/4', '-j', 'RETURN');
        must(ipt, '-t', 'nat', '-A', 'WEAVE', '!', '-s', '10.32.0.0/12', '-d', '10.32.0.0/12', '-j', 'MASQUERADE');
        must(ipt, '-t', 'mangle', '-N', 'WEAVE-CANARY');
      }
      const root = scratch();
      const r = inCalicoNode(`CNI_DIR=${root}/net`, `BIN_DIR=${root}/bin`, `DATA_DIR=${root}/data`, 'NODE_NAME=n1');
      expect([r.status, r.stderr]).toEqual([0, '']);
      for (const ipt of backends) {
        const all = ['filter', 'nat', 'mangle'].map((t) => ns(ipt, '-t', t, '-S').stdout).join('\n');
        expect([ipt, all.split('\n').filter((l) => /WEAVE| -[io] weave/.test(l))]).toEqual([ipt, []]);
        expect(all).toContain('cali:keep me');
        expect(r.stdout).toContain(`removed ${ipt} filter rule: -A FORWARD -o weave -j DROP`);
        // iptables-legacy 1.8 prints the single quotes escaped (\\'), iptables-nft does not.
        expect(r.stdout).toMatch(new RegExp(`removed ${ipt} filter rule: -A FORWARD -i weave -m comment --comment "NOTE: this must go before \\\\?'-j KUBE-FORWARD\\\\?'" -j WEAVE-NPC-EGRESS`));
      }
      // The rule text was data, never a command.
      expect(fs.existsSync(pwned)).toBe(false);
      expect(fs.existsSync(`${pwned}-kept`)).toBe(false);
      const again = inCalicoNode(`CNI_DIR=${root}/net`, `BIN_DIR=${root}/bin`, `DATA_DIR=${root}/data`, 'NODE_NAME=n1');
      expect([again.status, again.stdout.match(/done: .*/)?.[0]]).toEqual([0, 'done: 0 item(s) removed']);
    });
  });
});

describe('synth at weave-removed', () => {
  const layers = async (engine: 'argocd' | 'flux') => {
    const ws = demoWorkspace();
    if (engine === 'flux') editConfig(ws, (d) => (d.spec.gitops.engine = 'flux'));
    setStep(ws, 'weave-removed');
    expect((await cli(ws, 'synth')).code).toBe(0);
    return readManifests(ws.dist);
  };

  it('argocd: the gate and its RBAC are PreSync hooks', async () => {
    const layer = (await layers('argocd')).filter((m) => m.file.startsWith('00-gate/'));
    // Beside the gate, only the PostSync hook that ends the sync once all is healthy.
    const healthy = layer.filter((m) => m.obj.metadata.annotations?.['argocd.argoproj.io/hook'] === 'PostSync');
    expect(healthy.map((m) => m.obj.kind).sort()).toEqual(['ConfigMap', 'Job', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'ServiceAccount']);
    const gate = layer.filter((m) => !healthy.includes(m));
    // The gate's script travels with it, as a hook too.
    expect(gate.map((m) => m.obj.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Job', 'ServiceAccount']);
    for (const m of gate) expect(m.obj.metadata.annotations['argocd.argoproj.io/hook']).toBe('PreSync');
    expect(gate.find((m) => m.obj.kind === 'ClusterRole')!.obj.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
  });

  it('flux: the gate is the first layer, plain', async () => {
    const gate = (await layers('flux')).filter((m) => m.file.startsWith('00-gate/'));
    expect(gate.filter((m) => m.obj.kind === 'Job').map((m) => m.obj.metadata.annotations)).toEqual([undefined]);
  });

  it('the cleanup: one DaemonSet on every Linux node, NET_ADMIN and NET_RAW only, the four host paths it changes, after Weave\'s pod is gone', async () => {
    const weave = (await layers('argocd')).filter((m) => m.file.startsWith('50-weave/')).map((m) => m.obj);
    // No Job per node: the only Job deletes Weave's DaemonSet and ConfigMap.
    expect(weave.filter((o) => o.kind === 'Job').map((o) => o.metadata.name)).toEqual([expect.stringMatching(/^weave-delete-daemonset-[0-9a-f]{8}$/)]);
    const sets = weave.filter((o) => o.kind === 'DaemonSet');
    expect(sets.map((d) => d.metadata.name)).toEqual(['cni-migrate-weave-cleanup']);
    for (const j of sets) {
      const pod = j.spec.template.spec;
      // Every Linux node, the inventory's and any that joined: no name list.
      expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }, { key: 'type', operator: 'NotIn', values: ['virtual-kubelet'] }] }]);
      expect(pod.initContainers.map((c: any) => c.name)).toEqual(['wait-for-weave-pod-gone', 'hostport-cleanup', 'cleanup']);
      expect(pod.containers.map((c: any) => c.name)).toEqual(['converged']);
      expect(pod.initContainers[1].securityContext).toMatchObject({ privileged: false, capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] } });
      const c = pod.initContainers[2];
      expect(c.securityContext).toMatchObject({ privileged: false, capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] } });
      expect(c.image).toBe('docker.io/calico/node:v3.28.5');
      expect(pod.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path)).toEqual(['/etc/cni/net.d', '/opt/cni/bin', '/var/lib/weave', '/run/xtables.lock']);
      expect(pod.hostNetwork).toBe(true);
    }
  });
});

describe('guard and simulator around weave-removed', () => {
  it('the guard refuses the revert from weave-removed without the explicit flag', async () => {
    const { execFileSync } = require('child_process') as typeof import('child_process');
    const ws = demoWorkspace();
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', ...a], { cwd: ws.dir, stdio: 'pipe' });
    git('init', '-q', '-b', 'main');
    setStep(ws, 'weave-removed');
    git('add', '-A');
    git('commit', '-qm', 'weave-removed');
    setStep(ws, 'nodes-5');
    const refused = await cli(ws, 'guard', '--from', 'HEAD');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/but not the state its cleanup removed.*--allow-weave-revert/);
    expect((await cli(ws, 'guard', '--from', 'HEAD', '--allow-weave-revert')).code).toBe(0);
    // Forward from weave-removed needs no flag.
    setStep(ws, 'policies-restored');
    expect((await cli(ws, 'guard', '--from', 'HEAD')).code).toBe(0);
  });

  it('the simulator: a failing gate applies nothing; then weave-removed cleans the nodes, and the revert keeps Calico first', async () => {
    const { GitOpsSimulator } = await import('./support/gitops-simulator');
    const ws = demoWorkspace();
    const dists: Record<string, string> = {};
    for (const step of ['calico', 'cluster-cidr', 'policies-suspended', 'nodes-1', 'nodes-2', 'nodes-3', 'nodes-4', 'nodes-5', 'weave-removed']) {
      setStep(ws, step);
      const out = path.join(ws.dir, `d-${step}`);
      expect((await cli(ws, 'synth', '--out', out)).code).toBe(0);
      dists[step] = out;
    }
    const nodes = ['cp-1', 'cp-2', 'worker-1', 'worker-2', 'worker-3', 'worker-gpu-1'];
    const sim = new GitOpsSimulator(nodes, { skipControlPlaneJobs: true });
    try {
      for (const step of ['calico', 'cluster-cidr', 'policies-suspended', 'nodes-1', 'nodes-2', 'nodes-3', 'nodes-4', 'nodes-5']) expect(sim.apply(dists[step])).toEqual([]);
      sim.setPods(PODS.items);
      const blocked = sim.apply(dists['weave-removed']);
      expect(blocked).toHaveLength(1);
      expect(blocked[0].log).toMatch(/3 pod\(s\) still have an IP in the Weave CIDR/);
      // Still nodes-5's DaemonSets: no Weave cleanup yet, and Weave's own still there.
      expect(sim.liveObjects('DaemonSet').map((d) => d.metadata.name).sort()).toEqual(['calico-node', 'cni-migrate-newcomer-switch', ...[1, 2, 3, 4, 5].map((w) => `cni-migrate-switch-wave-${w}`), 'weave-net']);
      sim.setPods([]);
      expect(sim.apply(dists['weave-removed'])).toEqual([]);
      for (const n of nodes) {
        expect(sim.files(n)).toEqual(['05-calico.conflist', '10-calico.conflist']);
        expect(sim.loadedNetwork(n)).toBe('k8s-pod-network');
      }
      // Revert: Weave comes back and re-creates its file; the copy keeps Calico first.
      expect(sim.apply(dists['nodes-5'])).toEqual([]);
      sim.restartDaemonSets();
      for (const n of nodes) {
        expect(sim.files(n)).toEqual(['05-calico.conflist', '10-weave.conflist', '20-calico.conflist']);
        expect(sim.loadedNetwork(n)).toBe('k8s-pod-network');
      }
    } finally {
      sim.dispose();
    }
  });
});

describe('the simulator\'s calico-node can be not Ready', () => {
  it('then the gate stops the step naming the node, and a wave Job on it fails at its wait', async () => {
    const { GitOpsSimulator } = await import('./support/gitops-simulator');
    const ws = demoWorkspace();
    const dists: Record<string, string> = {};
    const synthAt = async (step: string, tag = step) => {
      setStep(ws, step);
      const out = path.join(ws.dir, `d-${tag}`);
      expect((await cli(ws, 'synth', '--out', out)).code).toBe(0);
      dists[tag] = out;
    };
    for (const step of ['calico', 'cluster-cidr', 'policies-suspended', 'nodes-1']) await synthAt(step);
    editConfig(ws, (d) => (d.spec.nodes.drain = false));
    await synthAt('nodes-1', 'nodes-1-no-drain');
    const sim = new GitOpsSimulator(['cp-1', 'cp-2', 'worker-1', 'worker-2', 'worker-3', 'worker-gpu-1'], { skipControlPlaneJobs: true });
    try {
      expect(sim.apply(dists.calico)).toEqual([]);
      // No pod is on Calico before the first wave: cluster-cidr and policies-suspended do not
      // wait for calico-node (a revert to them is never held by it); the first wave's gate does.
      sim.calicoNotReady.add('worker-1');
      expect(sim.apply(dists['cluster-cidr'])).toEqual([]);
      expect(sim.apply(dists['policies-suspended'])).toEqual([]);
      // With drains, the wave has a gate of its own (it checks the room for the wave's drains),
      // which runs and stops the step naming worker-1 before any Job.
      const gated = sim.apply(dists['nodes-1']);
      expect(gated.map((r) => [r.node, r.code])).toEqual([['(gate)', 1]]);
      expect(gated[0].log).toMatch(/calico-node is not Ready on 1 node\(s\)[\s\S]*worker-1/);
      // Without them too, before worker-1's switch could wait.
      const failed = sim.apply(dists['nodes-1-no-drain']);
      expect(failed.map((r) => [r.node, r.code])).toEqual([['(gate)', 1]]);
      expect(failed[0].log).toMatch(/calico-node is not Ready on 1 node\(s\)[\s\S]*worker-1/);
    } finally {
      sim.dispose();
    }
  });
});
