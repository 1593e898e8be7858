/**
 * Preflight findings about running Calico beside Weave: what in the cluster would break
 * coexistence or the per-node switch.
 */
import { kubeProxyLocalDetection, weaveMtu } from '../kube/control-plane-facts';
import type { ClusterSnapshot } from '../kube/objects';
import type { Migration } from '../config/types';
import { COEXISTENCE_CONF_NAME, PRIORITY_CONF_NAME, WEAVE_CONF_NAME } from '../model/conflist-names';
import type { StepModel } from '../model/step-model';
import { kubeProxyCidrSource } from '../model/cluster-cidr-targets';
import type { NetworkPlan } from '../network/network-plan';
import type { Finding } from './findings';
import { someOf } from '../util/name-list';

/** IP-in-IP's overhead, which calico-node subtracts from the node MTU when it detects its own (research/facts.md). */
const IPIP_OVERHEAD = 20;

export function calicoFindings(migration: Migration, snapshot: ClusterSnapshot, model: StepModel, network: NetworkPlan): Finding[] {
  const out: Finding[] = [];

  const crio = snapshot.nodes.filter((n) => n.containerRuntime.startsWith('cri-o://')).map((n) => n.name);
  if (crio.length > 0) {
    out.push({
      severity: 'warning', code: 'crio-default-network', file: `${snapshot.dir}/nodes.yaml`,
      message: `${crio.length} node(s) run CRI-O (${someOf(crio)}); with cni_default_network set in crio.conf, CRI-O picks the network by name and ignores file order, so the switch does nothing there`,
      fix: 'on those nodes make sure crio.conf (and /etc/crio/crio.conf.d) leaves cni_default_network unset, and remove CRI-O\'s own 10-crio-bridge / 11-crio-ipv4-bridge conflists',
    });
  }

  for (const n of snapshot.nodes) {
    if (n.cniConfigFiles === undefined || n.cniConfigFiles.length === 0) continue;
    const configs = n.cniConfigFiles.filter((f) => /\.(conf|conflist|json)$/.test(f) && f !== WEAVE_CONF_NAME && !/^(05|10|20)-calico\.conflist$/.test(f)).sort();
    const beforeSwitch = configs.filter((f) => f < PRIORITY_CONF_NAME);
    const beforeCalico = configs.filter((f) => f >= PRIORITY_CONF_NAME && f < COEXISTENCE_CONF_NAME);
    if (beforeSwitch.length > 0) {
      out.push({
        severity: 'error', code: 'cni-file-sorts-first', file: `${snapshot.dir}/nodes.yaml`, field: `nodes[name=${n.name}].cniConfigFiles`,
        message: `node ${n.name} has ${beforeSwitch.join(', ')} in /etc/cni/net.d, which sorts before ${PRIORITY_CONF_NAME}: the runtime uses it instead of Weave or Calico, and the switch cannot take effect`,
        fix: `remove ${beforeSwitch.join(', ')} from the node (after checking nothing uses it), then snapshot again`,
      });
    }
    if (beforeCalico.length > 0) {
      out.push({
        severity: 'warning', code: 'cni-file-sorts-before-calico', file: `${snapshot.dir}/nodes.yaml`, field: `nodes[name=${n.name}].cniConfigFiles`,
        message: `node ${n.name} has ${beforeCalico.join(', ')} in /etc/cni/net.d, which sorts before ${COEXISTENCE_CONF_NAME}: if Weave's file goes missing, the runtime falls to it rather than to Calico`,
        fix: `remove ${beforeCalico.join(', ')} from the node if nothing uses it`,
      });
    }
  }

  const azure = snapshot.nodes.filter((n) => n.providerID?.startsWith('azure://')).map((n) => n.name);
  if (azure.length > 0) {
    out.push({
      severity: 'error', code: 'azure-no-ipip', file: `${snapshot.dir}/nodes.yaml`,
      message: `${azure.length} node(s) run on Azure (${someOf(azure)}), whose network does not carry IP-in-IP (IP protocol 4)`,
      fix: 'this tool migrates to Calico IP-in-IP only; on Azure use Calico VXLAN, which it does not generate yet',
    });
  }

  if (migration.spec.controlPlane.mode === 'managed') {
    out.push({
      severity: 'warning', code: 'managed-control-plane', field: 'spec.controlPlane.mode',
      message: 'the control plane is managed: it is not on either pod network, so webhooks and aggregated APIs served from pods are unreachable from it unless they use hostNetwork, and the provider may revert changes to kube-proxy',
      fix: 'check that the provider allows a self-installed CNI, move admission webhooks to hostNetwork, and read PLAN.md for the manual control-plane steps',
    });
  }

  out.push(...localDetectionFindings(snapshot));

  // kube-proxy configured where the snapshot cannot see it (a static pod, as kops runs it; an
  // install outside kube-system) keeps its old cluster CIDR: Calico's pods fall outside it.
  const kubeProxy = migration.spec.controlPlane.mode === 'kubeadm' ? kubeProxyCidrSource(snapshot) : undefined;
  if (kubeProxy?.mode === 'none') {
    out.push({
      severity: 'warning', code: 'kube-proxy-not-captured', file: `${snapshot.dir}/control-plane`,
      message: `the cluster-CIDR steps cannot widen kube-proxy's cluster CIDR: ${kubeProxy.why}; where kube-proxy runs with one, Calico's pods fall outside it, and their Service traffic is masqueraded (a restored NetworkPolicy that admits pods by selector then refuses it)`,
      fix: `if kube-proxy runs as a static pod or is configured elsewhere, set its --cluster-cidr (or clusterCIDR) by hand on every node: to ${network.supernet} in step cluster-cidr, and to ${network.finalClusterCidr} at finalized; if the cluster runs no kube-proxy, nothing to do`,
    });
  }

  if (model.calico.coexistence.iptablesBackend === 'Auto') {
    out.push({
      severity: 'warning', code: 'iptables-backend-not-pinned', field: 'spec.calico.iptablesBackend',
      message: 'the iptables backend is not pinned and kube-proxy\'s mode in cluster/ does not tell it; Felix will follow the KUBE-* chains it finds, which goes wrong on a node where kube-proxy has not written any yet',
      fix: 'set spec.calico.iptablesBackend to Legacy or NFT, whichever `iptables --version` shows on the nodes (and pin Weave\'s IPTABLES_BACKEND to the same)',
    });
  }

  // With mtu 0 calico-node detects the node's MTU and takes IP-in-IP's 20 bytes off it (felix
  // dataplane/linux/int_dataplane.go; 1480 on a 1500 network): above Weave's 1376 by default.
  const { calico } = migration.spec;
  const calicoMtu = calico.mtu > 0 ? calico.mtu : calico.nodeMTU - IPIP_OVERHEAD;
  const weave = weaveMtu(snapshot);
  if (model.weave.present && calicoMtu > weave.mtu) {
    out.push({
      severity: 'info', code: 'mtu-above-weave', field: 'spec.calico.mtu',
      message: `Calico pods get MTU ${calicoMtu}${calico.mtu > 0 ? '' : ` (detected: the node MTU ${calico.nodeMTU} less IP-in-IP's ${IPIP_OVERHEAD} bytes)`}, above Weave's ${weave.mtu} (${weave.fromEnv ? 'WEAVE_MTU on its DaemonSet' : 'its default'}); TCP agrees on the smaller size, but large UDP, or traffic on paths that block ICMP, between the two networks can be lost while both run`,
      fix: `set spec.calico.mtu to ${weave.mtu} for the migration if such traffic matters (it only affects pods started after calico-node restarts with it), and unset it once Weave is gone`,
    });
  }

  return out;
}

/** The host side of every Calico pod's veth: cali and 11 hex digits (libcalico-go, VethNameForWorkload; FELIX_INTERFACEPREFIX, which we never set, would change it). */
const CALICO_VETH_PREFIX = 'cali';

/**
 * kube-proxy must count Calico's pods as pods. It marks Service traffic for masquerade unless the
 * source is local, and sends a pod's traffic to a LoadBalancer or external IP of an
 * externalTrafficPolicy: Local Service to every endpoint only when the source is local
 * (kubernetes pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go, the localDetector
 * rules "pod traffic for ... external destinations"; ipvs uses the same detector). Only
 * ClusterCIDR, which step cluster-cidr widens to the supernet, holds both networks.
 */
function localDetectionFindings(snapshot: ClusterSnapshot): Finding[] {
  const d = kubeProxyLocalDetection(snapshot);
  const at = { file: `${snapshot.dir}/${d.file}`, field: d.field };
  const fix = `set detectLocalMode: ClusterCIDR (kube-proxy's default) in kube-proxy's configuration, roll kube-proxy out and snapshot again, before step calico; step cluster-cidr then widens its clusterCIDR to the supernet, which holds both pod networks`;
  const outcome = 'so kube-proxy would take their traffic for traffic from outside the cluster: it masquerades their Service traffic to the node\'s address (a restored NetworkPolicy that admits pods by selector then refuses it), and sends their traffic for a LoadBalancer or external IP of an externalTrafficPolicy: Local Service only to endpoints on their own node (dropped where there is none)';
  if (d.mode === 'BridgeInterface' || (d.mode === 'InterfaceNamePrefix' && !(d.iface && CALICO_VETH_PREFIX.startsWith(d.iface)))) {
    const what = d.mode === 'BridgeInterface' ? `the bridge ${JSON.stringify(d.iface ?? '')}` : `interfaces whose names start with ${JSON.stringify(d.iface ?? '')}`;
    return [{ severity: 'error', code: 'kube-proxy-detect-local', ...at,
      message: `kube-proxy counts traffic as a pod's only when it comes from ${what} (detectLocalMode ${d.mode}); Calico's pods reach the host through their own ${CALICO_VETH_PREFIX}* veths, ${outcome}`, fix }];
  }
  if (d.mode === 'NodeCIDR') {
    return [{ severity: 'warning', code: 'kube-proxy-detect-local', ...at,
      message: `kube-proxy counts traffic as a pod's only when its source is in the node's podCIDR (detectLocalMode NodeCIDR); Calico's IPAM gives pods addresses from its IP pool, never from Node.spec.podCIDR (nor did Weave's), ${outcome}`, fix }];
  }
  return [];
}

