/**
 * CIDR planning: the Calico pool, the supernet that kube-controller-manager and kube-proxy use
 * while both networks carry pods, the final cluster CIDR, and every check that keeps those values
 * from breaking Weave, Services, nodes or the controller-manager.
 */
import { capturedClusterCidrs, controllerManagerFacts, weaveAllocRange } from '../kube/control-plane-facts';
import type { ClusterSnapshot } from '../kube/objects';
import { InputError } from '../config/errors';
import type { NetworkSpec } from '../config/types';
import type { Finding } from '../plan/findings';
import * as ipaddr from 'ipaddr.js';
import { canonicalIPv4, Cidr, minimalSupernet } from './cidr';
import { someOf } from '../util/name-list';

export interface NetworkPlan {
  readonly weave: Cidr;
  readonly calico: Cidr;
  readonly service: Cidr;
  /** Minimal block holding both pod CIDRs: the cluster CIDR while they coexist. */
  readonly supernet: Cidr;
  /** The cluster CIDR at `finalized`: the Calico CIDR when that is safe, else the supernet. */
  readonly finalClusterCidr: Cidr;
  /** Why the final value is what it is. */
  readonly finalReason: string;
  /** The controller-manager allocates Node.spec.podCIDR (so every value it gets must hold them all). */
  readonly allocatesNodeCidrs: boolean;
  /** finalized turns --allocate-node-cidrs off (and may then narrow past the nodes' podCIDRs). */
  readonly disableAllocationAtFinal: boolean;
  /**
   * cluster-cidr already turns --allocate-node-cidrs off: nodes hold podCIDRs outside the supernet
   * (kubeadm's podSubnet was not Weave's range), and spec.controlPlane.disableNodeCidrAllocation
   * allows it. Implies disableAllocationAtFinal.
   */
  readonly disableAllocationAtSupernet: boolean;
  readonly findings: readonly Finding[];
}

/**
 * Plan the CIDRs for `network` against the nodes in `snapshot`. Malformed addresses in the snapshot
 * are InputErrors; unsafe combinations are error findings (synth refuses, plan exits 1).
 */
export function planNetwork(network: NetworkSpec, snapshot: ClusterSnapshot, controlPlaneMode: 'kubeadm' | 'managed', disableNodeCidrAllocation = false): NetworkPlan {
  const weave = Cidr.parse(network.weaveCIDR);
  const calico = Cidr.parse(network.calicoCIDR);
  const service = Cidr.parse(network.serviceCIDR);
  const supernet = minimalSupernet(weave, calico);
  const findings: Finding[] = [];
  const error = (code: string, message: string, fix: string, field?: string, file?: string) => findings.push({ severity: 'error', code, message, fix, field, file });

  const weaveRange = weaveAllocRange(snapshot);
  if (weaveRange.value !== undefined && weaveRange.value !== weave.toString()) {
    error('weave-cidr-mismatch', `Weave's DaemonSet sets IPALLOC_RANGE=${weaveRange.value} but spec.network.weaveCIDR is ${weave}`, `set spec.network.weaveCIDR: ${weaveRange.value}`, 'spec.network.weaveCIDR');
  } else if (weaveRange.fromReference) {
    findings.push({ severity: 'warning', code: 'weave-cidr-unverified', message: `Weave's DaemonSet takes IPALLOC_RANGE from a ConfigMap or Secret, so the snapshot cannot confirm spec.network.weaveCIDR ${weave}`, fix: 'check it by hand: `kubectl exec -n kube-system <weave-net pod> -c weave -- /home/weave/weave --local status ipam`', field: 'spec.network.weaveCIDR' });
  } else if (weaveRange.daemonSetFound && weaveRange.value === undefined && weave.toString() !== '10.32.0.0/12') {
    error('weave-cidr-mismatch', `Weave's DaemonSet leaves IPALLOC_RANGE unset (Weave uses 10.32.0.0/12) but spec.network.weaveCIDR is ${weave}`, 'set spec.network.weaveCIDR: 10.32.0.0/12', 'spec.network.weaveCIDR');
  }

  const facts = snapshot.networkFacts;
  if (facts?.serviceCIDR && facts.serviceCIDR !== service.toString()) {
    error('service-cidr-mismatch', `the snapshot found service CIDR ${facts.serviceCIDR} (${facts.serviceCIDRSource ?? 'network.yaml'}) but spec.network.serviceCIDR is ${service}`, `set spec.network.serviceCIDR: ${facts.serviceCIDR}`, 'spec.network.serviceCIDR');
  }
  // kube-controller-manager is given the API server's service range too (kubeadm writes the same
  // --service-cluster-ip-range into both manifests): a snapshot without the API server's own
  // answer (made by hand, or where its flag could not be read) still says which range is right.
  const kcm = controllerManagerFacts(snapshot);
  for (const [range, nodes] of facts?.serviceCIDR ? [] : kcmServiceRanges(kcm.byNode)) {
    if (range === service.toString()) continue;
    error('service-cidr-mismatch', `kube-controller-manager on ${nodes.join(', ')} runs with --service-cluster-ip-range=${range} but spec.network.serviceCIDR is ${service}`,
      `set spec.network.serviceCIDR: ${range}, the cluster's service range, so that the Calico CIDR is checked against it`, 'spec.network.serviceCIDR');
  }
  if (calico.overlaps(weave)) {
    error('calico-overlaps-weave', `the Calico CIDR ${calico} overlaps the Weave CIDR ${weave}`,
      'choose a disjoint spec.network.calicoCIDR (the default, the sibling block of weaveCIDR, is disjoint); BIRD would export routes into Weave\'s range and weave netcheck fails on restart', 'spec.network.calicoCIDR');
  }
  if (calico.overlaps(service)) {
    error('calico-overlaps-service', `the Calico CIDR ${calico} overlaps the service CIDR ${service}`, 'choose a spec.network.calicoCIDR outside the service CIDR', 'spec.network.calicoCIDR');
  }
  if (weave.overlaps(service)) {
    error('weave-overlaps-service', `the Weave CIDR ${weave} overlaps the service CIDR ${service}`, 'check spec.network.weaveCIDR (IPALLOC_RANGE) and spec.network.serviceCIDR (--service-cluster-ip-range)', 'spec.network.serviceCIDR');
  }
  if (supernet.overlaps(service)) {
    error('supernet-holds-service', `the supernet ${supernet} of ${weave} and ${calico} overlaps the service CIDR ${service}`,
      'choose a spec.network.calicoCIDR next to the Weave CIDR (its sibling block) so that the supernet holds nothing but the two pod networks', 'spec.network.calicoCIDR');
  }

  const allocates = controlPlaneMode === 'kubeadm' && kcm.allocatesNodeCidrs;
  const inCalico: string[] = [];
  const inSupernet: string[] = [];
  // One pass over the nodes (5,000 and more), each address and podCIDR parsed once; only the
  // podCIDRs outside the supernet or the Calico CIDR are kept (they are what the findings name).
  const outside: { node: string; cidr: Cidr }[] = [];
  const outsideCalico: { node: string; cidr: Cidr }[] = [];
  for (const node of snapshot.nodes) {
    const addr = canonicalIPv4(node.internalIP);
    if (!addr) {
      const v6 = ipaddr.IPv6.isValid(node.internalIP) ? ': IPv6 is not supported yet' : '';
      throw new InputError(`${snapshot.dir}/nodes.yaml`, `nodes[name=${node.name}].internalIP`, `got ${JSON.stringify(node.internalIP)}${v6}`, 'an IPv4 address such as 10.0.0.5 (four decimal octets)');
    }
    if (calico.containsIPv4(addr)) inCalico.push(`${node.name} ${node.internalIP}`);
    else if (supernet.containsIPv4(addr)) inSupernet.push(`${node.name} ${node.internalIP}`);
    for (let j = 0; j < node.podCIDRs.length; j++) {
      const cidr = nodePodCidr(node.podCIDRs[j], node.name, j, snapshot.dir);
      if (!allocates) continue;
      if (!supernet.contains(cidr)) outside.push({ node: node.name, cidr });
      if (!calico.contains(cidr)) outsideCalico.push({ node: node.name, cidr });
    }
  }
  if (inCalico.length > 0) {
    error('calico-holds-node-ip', `${inCalico.length} node InternalIP(s) lie inside the Calico CIDR ${calico}: ${someOf(inCalico)}`, 'choose a spec.network.calicoCIDR that holds no node address', 'spec.network.calicoCIDR');
  }
  if (inSupernet.length > 0) {
    error('supernet-holds-node-ip', `${inSupernet.length} node InternalIP(s) lie inside the supernet ${supernet}: ${someOf(inSupernet)}`,
      'kube-proxy would treat node traffic as pod traffic; choose a spec.network.calicoCIDR whose supernet with the Weave CIDR holds no node address', 'spec.network.calicoCIDR');
  }

  const outsideText = `${outside.length} node podCIDR(s) lie outside the supernet ${supernet} that step cluster-cidr gives kube-controller-manager: ${someOf(outside.map((p) => `${p.node} ${p.cidr}`))}`;
  if (outside.length > 0 && disableNodeCidrAllocation) {
    // Without --allocate-node-cidrs, kube-controller-manager does not start its node IPAM
    // controller, so nothing reads the old podCIDRs against the new --cluster-cidr (kubernetes
    // cmd/kube-controller-manager/app/core.go, startNodeIpamController: it returns early unless
    // AllocateNodeCIDRs is set). Weave and Calico IPAM never read Node.spec.podCIDR.
    findings.push({ severity: 'info', code: 'cidr-allocation-off-at-cluster-cidr', message: `${outsideText}, so step cluster-cidr turns node CIDR allocation off (spec.controlPlane.disableNodeCidrAllocation) in the same edit that widens --cluster-cidr`,
      fix: 'nothing to do, unless something else reads Node.spec.podCIDR (kube-proxy in NodeCIDR mode, a cloud route controller): a node that joins from then on gets none' });
  } else if (outside.length > 0) {
    error('podcidr-outside-supernet', outsideText,
      'kube-controller-manager occupies every existing Node.spec.podCIDR at start-up and crash-loops on one outside --cluster-cidr ("CIDR out of range"), and podCIDR cannot be changed on a Node; set spec.controlPlane.disableNodeCidrAllocation: true (step cluster-cidr then turns --allocate-node-cidrs off as it widens the CIDR), or choose a Weave/Calico pair whose supernet holds every node podCIDR', `nodes[name=${outside[0].node}].podCIDRs`, `${snapshot.dir}/nodes.yaml`);
  }
  let finalClusterCidr = calico;
  let finalReason = `every pod is on Calico by then, so the cluster CIDR narrows to the Calico CIDR ${calico}`;
  // Both lists stay empty unless the controller-manager allocates node CIDRs.
  if (outsideCalico.length > 0 && disableNodeCidrAllocation) {
    finalReason = `${outsideCalico.length} node podCIDR(s) (e.g. ${outsideCalico[0].node}: ${outsideCalico[0].cidr}) lie outside the Calico CIDR, so node CIDR allocation is turned off (spec.controlPlane.disableNodeCidrAllocation) before --cluster-cidr narrows to ${calico}`;
    findings.push({ severity: 'info', code: 'final-cidr-allocation-off', message: finalReason, fix: 'nothing to do, unless something else reads Node.spec.podCIDR (kube-proxy in NodeCIDR mode, a cloud route controller): then keep allocation on' });
  } else if (outsideCalico.length > 0) {
    finalClusterCidr = supernet;
    finalReason = `kube-controller-manager allocates node CIDRs and ${outsideCalico.length} node podCIDR(s) (e.g. ${outsideCalico[0].node}: ${outsideCalico[0].cidr}) lie outside the Calico CIDR; narrowing --cluster-cidr would crash-loop it, so the supernet ${supernet} stays`;
    // Only where the supernet holds them: otherwise podcidr-outside-supernet already refuses the plan.
    if (outside.length === 0) findings.push({ severity: 'info', code: 'final-cidr-keeps-supernet', message: finalReason, fix: 'nothing to do: Calico IPAM ignores Node.spec.podCIDR, so the wider value is harmless' });
  }
  // Each of these is replaced by one IPv4 CIDR from cluster-cidr on: a dual-stack value would lose
  // its IPv6 half (kube-proxy would then treat IPv6 pod traffic as external).
  for (const c of capturedClusterCidrs(snapshot)) {
    if (!c.value.includes(',') && !c.value.includes(':')) continue;
    error('dual-stack-cluster-cidr', `${c.what} is ${JSON.stringify(c.value)}: a dual-stack (IPv6) cluster CIDR, which the cluster-CIDR steps would replace with one IPv4 CIDR`,
      'dual-stack clusters are not supported yet: the steps would drop the IPv6 half, and Weave Net gives pods IPv4 addresses only, so something else relies on it; migrate this cluster by hand', c.field, `${snapshot.dir}/${c.file}`);
  }
  if (kcm.clusterCidrs.length > 1) {
    findings.push({ severity: 'warning', code: 'kcm-cluster-cidr-differs', message: `the controller-managers disagree on --cluster-cidr: ${kcm.clusterCidrs.join(', ')}`, fix: 'make them agree before migrating; leader election hides the difference until a failover' });
  }
  return {
    weave, calico, service, supernet, finalClusterCidr, finalReason, allocatesNodeCidrs: allocates,
    disableAllocationAtFinal: allocates && disableNodeCidrAllocation,
    disableAllocationAtSupernet: allocates && disableNodeCidrAllocation && outside.length > 0,
    findings,
  };
}

/** A node's podCIDR, parsed (each is the node's own: not cached); the error names the node and the entry. */
function nodePodCidr(text: string, node: string, index: number, dir: string): Cidr {
  try {
    return Cidr.parse(text, false);
  } catch (e) {
    throw new InputError(`${dir}/nodes.yaml`, `nodes[name=${node}].podCIDRs[${index}]`, `got ${JSON.stringify(text)}: ${(e as Error).message}`, 'an IPv4 CIDR');
  }
}

/**
 * The IPv4 --service-cluster-ip-range of each controller-manager that sets one, canonical, with the
 * nodes that run it (sorted). A value that is no IPv4 CIDR is left to kube-controller-manager.
 */
function kcmServiceRanges(byNode: ReadonlyMap<string, ReadonlyMap<string, string>>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [node, flags] of [...byNode].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // Dual-stack lists both families ("10.96.0.0/12,fd00::/108"); the IPv4 one is what this tool plans against.
    const v4 = flags.get('service-cluster-ip-range')?.split(',').find((r) => !r.includes(':'));
    if (v4 === undefined) continue;
    let range: string;
    try {
      range = Cidr.parse(v4.trim()).toString();
    } catch {
      continue;
    }
    out.set(range, [...(out.get(range) ?? []), node]);
  }
  return out;
}
