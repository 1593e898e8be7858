/**
 * cni-migrate status on a big cluster (5,000 nodes, 150,000 pods) served by the local API
 * server, next to `kubectl get pods -A -o wide` against the same server where kubectl exists.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FakeApiServer } from '../test/support/fake-apiserver';
import { loadPlan } from '../src/plan/migration-plan';
import { expectedWorkloads } from '../src/step-app';
import { generateCluster } from './generate';

export async function benchStatus(nodeCount: number, podCount: number): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-status-bench-'));
  const api = new FakeApiServer();
  try {
    const g = generateCluster(path.join(work, 'c'), nodeCount, 100, 20, 'nodes-10');
    const plan = loadPlan({ configFile: g.config });
    const workloads = expectedWorkloads(plan);
    const names = plan.snapshot.nodes.map((n) => n.name);
    const ready = [{ type: 'Ready', status: 'True' }];
    const pods: object[] = [];
    const perNode = Math.max(0, Math.floor(podCount / names.length) - 2);
    names.forEach((node, i) => {
      pods.push({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'kube-system', name: `calico-node-${i}`, labels: { 'k8s-app': 'calico-node' } }, spec: { nodeName: node, hostNetwork: true }, status: { phase: 'Running', podIP: `172.16.0.${i % 250}`, conditions: ready } });
      pods.push({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'kube-system', name: `weave-net-${i}`, labels: { name: 'weave-net' } }, spec: { nodeName: node, hostNetwork: true }, status: { phase: 'Running', podIP: `172.16.0.${i % 250}`, conditions: ready } });
      // The pod of each of our DaemonSets that selects the node, converged at this step.
      for (const set of workloads.sets.filter((x) => (x.only ? x.only.includes(node) : !x.except?.includes(node)))) {
        pods.push({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'kube-system', name: `${set.name}-${i}`, labels: { 'app.kubernetes.io/name': 'cni-migrate', 'cni-migrate.io/nodes': 'set', 'cni-migrate.io/pod-spec': set.podSpec }, ownerReferences: [{ kind: 'DaemonSet', name: set.name, controller: true }] }, spec: { nodeName: node, hostNetwork: true }, status: { phase: 'Running', conditions: ready } });
      }
      const onCalico = plan.waveOf.get(node)! <= plan.state.switchedWaves;
      for (let j = 0; j < perNode; j++) {
        const n = i * perNode + j;
        pods.push({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: `team-${n % 400}`, name: `app-${n}`, labels: { app: `a${n % 50}` } }, spec: { nodeName: node, containers: [{ name: 'app', image: 'registry.example/app:1' }] }, status: { phase: 'Running', podIP: `10.${onCalico ? 48 : 32}.${(n >> 8) & 255}.${n & 255}`, conditions: ready } });
      }
    });
    api.pageCap = 5000;
    api.requireToken = false;
    api.setList('/api/v1/nodes', names.map((n) => ({ metadata: { name: n }, spec: {} })));
    api.setList('/api/v1/pods', pods);
    api.setList('/apis/batch/v1/namespaces/kube-system/jobs?labelSelector=app.kubernetes.io%2Fname%3Dcni-migrate', workloads.jobs.map((j) => ({ metadata: { name: j.name }, status: { conditions: [{ type: 'Complete', status: 'True' }] } })));
    api.setList('/apis/networking.k8s.io/v1/networkpolicies', []);
    api.setList('/api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-controller-manager', []);
    // Discovery, for kubectl: it resolves "pods" through it before listing.
    api.setObject('/api', { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    api.setObject('/apis', { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    api.setObject('/api/v1', { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'] }] });
    const url = await api.start();
    const kubeconfig = api.writeKubeconfig(work, url);
    const { ApiClient } = await import('../src/cluster/api-client');
    const { collectStatus } = await import('../src/cluster/status');
    const client = ApiClient.fromKubeconfig(kubeconfig, undefined, { timeoutMs: 60000 });
    const t0 = process.hrtime.bigint();
    const report = await collectStatus(client, plan, workloads);
    const statusMs = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`status: ${names.length} nodes, ${pods.length} pods: ${statusMs.toFixed(0)} ms (goal < 10000 ms), converged=${report.converged}`);
    if (spawnSync('kubectl', ['version', '--client']).status === 0) {
      const k0 = process.hrtime.bigint();
      // Asynchronously: the API server answering kubectl runs in this process.
      const k = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=60s', 'get', 'pods', '-A', '-o', 'wide'], { env: { ...process.env, HOME: work } });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      if (k.status !== 0) console.log(`kubectl failed: ${k.stderr.split('\n').slice(0, 3).join(' | ')}`);
      const kubectlMs = Number(process.hrtime.bigint() - k0) / 1e6;
      const lines = k.stdout.split('\n').length - 2;
      console.log(`kubectl get pods -A -o wide: ${lines} pods listed in ${kubectlMs.toFixed(0)} ms (exit ${k.status}); status / kubectl = ${(statusMs / kubectlMs).toFixed(2)} (goal ≤ 1)`);
    } else {
      console.log('kubectl get pods -A -o wide: not measured (kubectl not installed)');
    }
  } finally {
    await api.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
