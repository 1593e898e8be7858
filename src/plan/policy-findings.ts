/**
 * Preflight findings about the NetworkPolicies the migration suspends and restores.
 */
import type { ClusterSnapshot, KubeObject } from '../kube/objects';
import { Cidr } from '../network/cidr';
import type { NetworkPlan } from '../network/network-plan';
import type { StepState } from '../steps/steps';
import type { Finding } from './findings';

interface Port {
  port?: number | string;
  endPort?: number;
}
interface Peer {
  ipBlock?: { cidr?: string; except?: string[] };
}
interface Rule {
  ports?: Port[];
  from?: Peer[];
  to?: Peer[];
}
interface PolicySpec {
  ingress?: Rule[];
  egress?: Rule[];
}

/** Labels and annotations by which another tool marks objects it applies. */
const OWNERS: { tool: string; test: (o: KubeObject) => boolean }[] = [
  { tool: 'Argo CD', test: (o) => !!annotations(o)['argocd.argoproj.io/tracking-id'] || !!labels(o)['argocd.argoproj.io/instance'] },
  { tool: 'Flux', test: (o) => !!labels(o)['kustomize.toolkit.fluxcd.io/name'] || !!labels(o)['helm.toolkit.fluxcd.io/name'] },
  { tool: 'Helm', test: (o) => labels(o)['app.kubernetes.io/managed-by'] === 'Helm' || !!annotations(o)['meta.helm.sh/release-name'] },
];

export function policyFindings(snapshot: ClusterSnapshot, net: NetworkPlan, state: StepState): Finding[] {
  const out: Finding[] = [];
  const name = (p: KubeObject) => `${p.metadata.namespace}/${p.metadata.name}`;
  const some = (items: string[]) => (items.length <= 4 ? items.join(', ') : `${items.slice(0, 4).join(', ')} and ${items.length - 4} more`);
  const add = (severity: Finding['severity'], code: string, list: string[], message: (s: string) => string, fix: string) => {
    if (list.length > 0) out.push({ severity, code, message: message(some(list)), fix, file: `${snapshot.dir}/networkpolicies` });
  };
  const policies = snapshot.networkPolicies;

  for (const { tool, test } of OWNERS) {
    add('warning', 'policy-owned-elsewhere', policies.filter(test).map(name), (s) => `${s}: applied by ${tool}, which would bring them back while they are suspended (and fight this migration over them)`,
      `suspend them at their source in ${tool} (remove them there, or pause that app) before policies-suspended; restore them there after policies-restored`);
  }

  const blocks = [
    { what: 'the Weave CIDR', cidr: net.weave, fix: 'the pods behind it move to the Calico CIDR: set spec.policies.rewriteIPBlocks: true (default rewrite: Weave CIDR → Calico CIDR) or edit these policies' },
    { what: 'the Calico CIDR', cidr: net.calico, fix: 'check that the rule means Calico pods' },
    { what: 'the service CIDR', cidr: net.service, fix: 'ipBlocks do not match Service IPs after kube-proxy DNAT; select the backing pods instead' },
  ];
  for (const b of blocks) {
    const hits = policies.filter((p) => cidrsOf(p).some((c) => c.overlaps(b.cidr))).map(name);
    add(b.what === 'the Weave CIDR' ? 'warning' : 'info', `policy-ipblock-${b.what === 'the Weave CIDR' ? 'weave' : b.what === 'the Calico CIDR' ? 'calico' : 'service'}`, hits, (s) => `${s}: an ipBlock overlaps ${b.what} ${b.cidr}`, b.fix);
  }

  add('warning', 'policy-named-port', policies.filter((p) => ports(p).some((x) => typeof x.port === 'string')).map(name),
    (s) => `${s}: named ports, which weave-npc rejects (the whole policy is ignored) and Calico enforces once restored`,
    'review these policies before policies-restored: traffic they block will start being blocked');
  add('warning', 'policy-end-port', policies.filter((p) => ports(p).some((x) => x.endPort !== undefined)).map(name),
    (s) => `${s}: port ranges (endPort), which Weave Net 2.8.1 predates (it enforces only the first port) and Calico enforces in full`,
    'review these policies before policies-restored');

  if (snapshot.namespaces) {
    const known = new Set(snapshot.namespaces);
    const missing = policies.filter((p) => !known.has(p.metadata.namespace ?? '')).map(name);
    add(state.policiesPresent ? 'error' : 'warning', 'policy-namespace-gone', missing,
      (s) => `${s}: their namespace no longer exists, so applying them fails the sync`,
      'delete their files under cluster/networkpolicies/ (nothing is left for them to protect), or recreate the namespace');
  }
  return out;
}

function labels(o: KubeObject): Record<string, string> {
  return ((o.metadata as { labels?: Record<string, string> }).labels ?? {}) as Record<string, string>;
}

function annotations(o: KubeObject): Record<string, string> {
  return ((o.metadata as { annotations?: Record<string, string> }).annotations ?? {}) as Record<string, string>;
}

function rules(p: KubeObject): Rule[] {
  const spec = (p.spec ?? {}) as PolicySpec;
  return [...(spec.ingress ?? []), ...(spec.egress ?? [])];
}

function ports(p: KubeObject): Port[] {
  return rules(p).flatMap((r) => r.ports ?? []);
}

/** Every parseable IPv4 CIDR in the policy's ipBlocks (cidr and except). */
function cidrsOf(p: KubeObject): Cidr[] {
  const out: Cidr[] = [];
  for (const r of rules(p)) {
    for (const peer of [...(r.from ?? []), ...(r.to ?? [])]) {
      for (const c of [peer.ipBlock?.cidr, ...(peer.ipBlock?.except ?? [])]) {
        if (!c) continue;
        try {
          out.push(Cidr.parse(c));
        } catch {
          // IPv6 or malformed blocks cannot touch the IPv4 pod networks.
        }
      }
    }
  }
  return out;
}
