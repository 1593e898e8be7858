/**
 * Which pods still have an IP in the Weave CIDR: the same rule as the weave-removed gate Job
 * (src/scripts/gate-no-pods-in-cidr.sh), for `cni-migrate status`.
 */
import { Cidr } from '../network/cidr';

export interface PodOnWeave {
  readonly pod: string;
  readonly node: string;
  readonly ip: string;
}

/** Pods other than Weave's own, not on the host network and not finished, with an IP in `weave`. */
export function podsOnWeave(pods: readonly any[], weave: Cidr): PodOnWeave[] {
  const out: PodOnWeave[] = [];
  for (const p of pods) {
    if (p.spec?.hostNetwork === true) continue;
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    if (p.metadata?.namespace === 'kube-system' && p.metadata?.labels?.name === 'weave-net') continue;
    const ips = new Set<string>([...(p.status?.podIPs ?? []).map((x: { ip: string }) => x.ip), ...(p.status?.podIP ? [p.status.podIP] : [])]);
    for (const ip of [...ips].sort()) {
      if (/^\d+\.\d+\.\d+\.\d+$/.test(ip) && weave.containsAddress(ip)) out.push({ pod: `${p.metadata.namespace}/${p.metadata.name}`, node: p.spec?.nodeName ?? '-', ip });
    }
  }
  return out.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}
