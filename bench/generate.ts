/**
 * Generates a synthetic cluster for benchmarks: N nodes (3 control-plane), P NetworkPolicies of
 * varied shapes, Weave's objects, and a migration.yaml with W explicit waves at a given step.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';

export interface GeneratedCluster {
  readonly dir: string;
  readonly config: string;
  readonly waves: string[][];
}

export function generateCluster(dir: string, nodeCount: number, policyCount: number, waveCount: number, step: string): GeneratedCluster {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'cluster', 'weave'), { recursive: true });
  const nodes = Array.from({ length: nodeCount }, (_, i) => {
    const cp = i < 3;
    const name = cp ? `cp-${i + 1}` : `node-${String(i).padStart(5, '0')}.pool-${i % 7}.example.internal`;
    return {
      name,
      roles: cp ? ['control-plane'] : [],
      internalIP: `172.16.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      podCIDRs: [`10.${32 + Math.floor(i / 256)}.${i % 256}.0/24`],
      containerRuntime: 'containerd://1.7.24',
      ...(cp ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {}),
    };
  });
  fs.writeFileSync(path.join(dir, 'cluster', 'nodes.yaml'), YAML.stringify({ apiVersion: 'cni-migrate.io/v1alpha1', kind: 'NodeInventory', nodes }));
  for (let i = 0; i < policyCount; i++) {
    const ns = `team-${String(i % 400).padStart(3, '0')}`;
    const name = `policy-${String(i).padStart(6, '0')}`;
    fs.mkdirSync(path.join(dir, 'cluster', 'networkpolicies', ns), { recursive: true });
    const spec =
      i % 3 === 0
        ? { podSelector: {}, policyTypes: ['Ingress'] }
        : i % 3 === 1
          ? { podSelector: { matchLabels: { app: `app-${i}` } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: ns } }, podSelector: { matchLabels: { role: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] }
          : { podSelector: { matchLabels: { app: `app-${i}` } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.32.0.0/12', except: ['10.32.1.0/24'] } }], ports: [{ protocol: 'TCP', port: 5432, endPort: 5440 }] }] };
    fs.writeFileSync(path.join(dir, 'cluster', 'networkpolicies', ns, `${name}.yaml`), YAML.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec }));
  }
  fs.writeFileSync(path.join(dir, 'cluster', 'weave', 'serviceaccount-kube-system-weave-net.yaml'), YAML.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'weave-net', namespace: 'kube-system' } }));
  fs.writeFileSync(path.join(dir, 'cluster', 'weave', 'daemonset-kube-system-weave-net.yaml'), YAML.stringify({
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'weave-net', namespace: 'kube-system' },
    spec: { selector: { matchLabels: { name: 'weave-net' } }, template: { metadata: { labels: { name: 'weave-net' } }, spec: { hostNetwork: true, containers: [{ name: 'weave', image: 'docker.io/weaveworks/weave-kube:2.8.1' }] } } },
  }));
  // Control plane last, workers split evenly over the other waves.
  const workers = nodes.slice(3).map((n) => n.name);
  const per = Math.ceil(workers.length / (waveCount - 1));
  const waves = [...Array.from({ length: waveCount - 1 }, (_, i) => workers.slice(i * per, (i + 1) * per)), nodes.slice(0, 3).map((n) => n.name)].filter((w) => w.length > 0);
  const config = path.join(dir, 'migration.yaml');
  fs.writeFileSync(config, YAML.stringify({
    apiVersion: 'cni-migrate.io/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'bench' },
    spec: {
      step,
      gitops: { engine: 'argocd', repoURL: 'https://git.example.com/net.git' },
      network: { weaveCIDR: '10.32.0.0/12', serviceCIDR: '10.96.0.0/12' },
      controlPlane: { mode: 'kubeadm' },
      nodes: { waves },
      // A third of the generated policies name Weave's range: move them to Calico's on restore.
      policies: { rewriteIPBlocks: true },
    },
  }));
  return { dir, config, waves };
}
