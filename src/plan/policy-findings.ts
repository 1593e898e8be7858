/**
 * Preflight findings about the NetworkPolicies the migration suspends and restores.
 */
import type { ClusterSnapshot, KubeObject } from '../kube/objects';
import { Cidr } from '../network/cidr';
import type { NetworkPlan } from '../network/network-plan';
import type { PoliciesSpec } from '../config/types';
import { FREEZE_EXCEPTION_LABEL } from '../model/policy-restore';
import { weaveOnlyRules } from '../model/policy-rewrite';
import type { StepModel } from '../model/step-model';
import type { StepState } from '../steps/steps';
import { ARGO_CUSTOM_INSTANCE_LABEL, ARGO_INSTANCE_LABEL, ARGO_TRACKING_ID, FLUX_NAME_LABEL, argoTrackingIsOurs, fluxKustomizationIsOurs } from '../gitops/tracking-marks';
import type { Finding } from './findings';
import { someOf } from '../util/name-list';

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

/**
 * Labels and annotations by which another tool marks objects it applies; `base` names this
 * migration's own GitOps objects, whose marks (on what `adopt` took over) are not another owner's.
 */
const OWNERS: { tool: string; test: (o: KubeObject, base: string) => boolean }[] = [
  { tool: 'Argo CD', test: (o, base) => {
    const id = annotations(o)[ARGO_TRACKING_ID];
    const custom = labels(o)[ARGO_CUSTOM_INSTANCE_LABEL];
    return (!!id && !argoTrackingIsOurs(id, base)) || (!!custom && custom !== base);
  } },
  // Argo CD's default tracking before 3.0; Helm charts set the label too, and are named below.
  { tool: 'Argo CD (app.kubernetes.io/instance, its tracking label before 3.0) or another tool that sets that label', test: (o, base) => {
    const instance = labels(o)[ARGO_INSTANCE_LABEL];
    return !!instance && instance !== base && !annotations(o)[ARGO_TRACKING_ID] && !isHelm(o);
  } },
  { tool: 'Flux', test: (o, base) => {
    const ks = labels(o)[FLUX_NAME_LABEL];
    return (!!ks && !fluxKustomizationIsOurs(ks, base)) || !!labels(o)['helm.toolkit.fluxcd.io/name'];
  } },
  { tool: 'Helm', test: (o) => isHelm(o) },
  // An operator that creates policies for its custom resources re-creates them when they go.
  { tool: 'their owner (ownerReferences: an operator or controller)', test: (o) => Array.isArray((o.metadata as { ownerReferences?: unknown[] }).ownerReferences) && ((o.metadata as { ownerReferences?: unknown[] }).ownerReferences ?? []).length > 0 },
];

function isHelm(o: KubeObject): boolean {
  return labels(o)['app.kubernetes.io/managed-by'] === 'Helm' || !!annotations(o)['meta.helm.sh/release-name'];
}

export function policyFindings(snapshot: ClusterSnapshot, net: NetworkPlan, state: StepState, model: StepModel, spec: PoliciesSpec, gitopsBase: string): Finding[] {
  const out: Finding[] = [];
  const name = (p: KubeObject) => `${p.metadata.namespace}/${p.metadata.name}`;
  const add = (severity: Finding['severity'], code: string, list: string[], message: (s: string) => string, fix: string) => {
    if (list.length > 0) out.push({ severity, code, message: message(someOf(list, 4)), fix, file: `${snapshot.dir}/networkpolicies` });
  };
  const policies = snapshot.networkPolicies;

  // Every owner marks its objects with labels, annotations or ownerReferences: the tests run only
  // on the policies that carry any (in most clusters a few of tens of thousands).
  const marked = policies.filter((p) => p.metadata.labels || p.metadata.annotations || (p.metadata as { ownerReferences?: unknown }).ownerReferences);
  for (const { tool, test } of OWNERS) {
    add('warning', 'policy-owned-elsewhere', marked.filter((p) => test(p, gitopsBase)).map(name), (s) => `${s}: applied by ${tool}, which would bring them back while they are suspended (and fight this migration over them)`,
      `suspend them at their source in ${tool} (remove them there, or pause that app) before policies-suspended; restore them there after policies-restored`);
  }

  // Checked at every step, on the policies as policies-restored will apply them: better to decide
  // before the migration starts than to find out when they come back.
  const acknowledged = new Set(spec.acknowledge);
  const known = new Set(policies.map(name));
  for (const a of spec.acknowledge.filter((x) => !known.has(x))) {
    out.push({ severity: 'error', code: 'policy-acknowledge-unknown', field: 'spec.policies.acknowledge', message: `${a} is acknowledged, but no such NetworkPolicy is in ${snapshot.dir}/networkpolicies`, fix: 'remove it from spec.policies.acknowledge, or fix its namespace/name' });
  }
  for (const e of model.policies.asRestored.errors) {
    out.push({ severity: 'error', code: 'policy-rewrite-impossible', field: 'spec.policies.rewrite', message: e, fix: 'edit that policy (its file under cluster/networkpolicies/) so the block fits the Calico range, or acknowledge it in spec.policies.acknowledge' });
  }
  const weaveOnly = model.policies.asRestored.objects.map((p, i) => ({ p, rules: weaveOnlyRules(policies[i], p, net.weave, net.calico) })).filter((x) => x.rules.length > 0);
  add('error', 'policy-ipblock-weave', weaveOnly.filter((x) => !acknowledged.has(name(x.p))).map((x) => `${name(x.p)} (${x.rules.join(', ')})`),
    (s) => `${s}: an ipBlock lets pods in or out by their Weave addresses (${net.weave}) only; once every pod is on Calico (${net.calico}) this policy cuts that traffic when restored`,
    `either set spec.policies.rewriteIPBlocks: true (blocks inside ${net.weave} move into ${net.calico}, blocks holding it also hold ${net.calico}), or list the policy in spec.policies.acknowledge if cutting that traffic is intended`);
  add('info', 'policy-ipblock-weave-acknowledged', weaveOnly.filter((x) => acknowledged.has(name(x.p))).map((x) => name(x.p)),
    (s) => `${s}: restored as backed up although an ipBlock names Weave addresses only (spec.policies.acknowledge)`, 'nothing to do');
  add('info', 'policy-ipblock-rewritten', [...new Set(model.policies.asRestored.rewrites.map((r) => r.policy))],
    (s) => `${s}: ipBlocks rewritten for the Calico range on restore (PLAN.md of policies-restored lists each change)`, 'review the rewrites');
  if (!model.policies.freeze && !state.policiesPresent) {
    out.push({ severity: 'warning', code: 'policy-freeze-unsupported', message: 'the control plane is older than Kubernetes 1.30 (or its version is not in the snapshot), so NetworkPolicies are not frozen while suspended: one created now is enforced across the NAT and drops traffic', fix: `tell the teams not to create NetworkPolicies until policies-restored (or label them ${FREEZE_EXCEPTION_LABEL}=true once the cluster runs 1.30)` });
  }

  const blocks = [
    { what: 'the Calico CIDR', cidr: net.calico, fix: 'check that the rule means Calico pods' },
    { what: 'the service CIDR', cidr: net.service, fix: 'ipBlocks do not match Service IPs after kube-proxy DNAT; select the backing pods instead' },
  ];
  // Each policy's blocks and ports are gathered once (a cluster can hold tens of thousands).
  const cidrs = policies.map(cidrsOf);
  for (const b of blocks) {
    const hits = policies.filter((_, i) => cidrs[i].some((c) => c.overlaps(b.cidr))).map(name);
    add('info', `policy-ipblock-${b.what === 'the Calico CIDR' ? 'calico' : 'service'}`, hits, (s) => `${s}: an ipBlock overlaps ${b.what} ${b.cidr}`, b.fix);
  }

  const portsOf = policies.map(ports);
  add('warning', 'policy-named-port', policies.filter((_, i) => portsOf[i].some((x) => typeof x.port === 'string')).map(name),
    (s) => `${s}: named ports, which weave-npc rejects (the whole policy is ignored) and Calico enforces once restored`,
    'review these policies before policies-restored: traffic they block will start being blocked');
  add('warning', 'policy-end-port', policies.filter((_, i) => portsOf[i].some((x) => x.endPort !== undefined)).map(name),
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
  const out: Port[] = [];
  for (const r of rules(p)) for (const x of r.ports ?? []) out.push(x);
  return out;
}

/** Every parseable IPv4 CIDR in the policy's ipBlocks (cidr and except). */
function cidrsOf(p: KubeObject): Cidr[] {
  const out: Cidr[] = [];
  const add = (c: string | undefined) => {
    if (!c) return;
    try {
      out.push(Cidr.parseMasked(c));
    } catch {
      // IPv6 or malformed blocks cannot touch the IPv4 pod networks.
    }
  };
  for (const r of rules(p)) {
    for (const peers of [r.from, r.to]) {
      for (const peer of peers ?? []) {
        if (!peer.ipBlock) continue;
        add(peer.ipBlock.cidr);
        for (const c of peer.ipBlock.except ?? []) add(c);
      }
    }
  }
  return out;
}
