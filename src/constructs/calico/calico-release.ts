/**
 * What the built-in Calico objects are written for: the release lines of
 * config/calico-versions.ts (the 3.28 line): its CRDs and default images.
 */

/** A Calico CRD, as calico-node and calico-kube-controllers use it in Kubernetes datastore mode. */
export interface CalicoCrd {
  readonly kind: string;
  readonly plural: string;
  readonly scope: 'Cluster' | 'Namespaced';
}

/** The crd.projectcalico.org/v1 resources of the 3.28 manifest install. */
export const CALICO_3_28_CRDS: readonly CalicoCrd[] = [
  { kind: 'BGPConfiguration', plural: 'bgpconfigurations', scope: 'Cluster' },
  { kind: 'BGPFilter', plural: 'bgpfilters', scope: 'Cluster' },
  { kind: 'BGPPeer', plural: 'bgppeers', scope: 'Cluster' },
  { kind: 'BlockAffinity', plural: 'blockaffinities', scope: 'Cluster' },
  { kind: 'CalicoNodeStatus', plural: 'caliconodestatuses', scope: 'Cluster' },
  { kind: 'ClusterInformation', plural: 'clusterinformations', scope: 'Cluster' },
  { kind: 'FelixConfiguration', plural: 'felixconfigurations', scope: 'Cluster' },
  { kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies', scope: 'Cluster' },
  { kind: 'GlobalNetworkSet', plural: 'globalnetworksets', scope: 'Cluster' },
  { kind: 'HostEndpoint', plural: 'hostendpoints', scope: 'Cluster' },
  { kind: 'IPAMBlock', plural: 'ipamblocks', scope: 'Cluster' },
  { kind: 'IPAMConfig', plural: 'ipamconfigs', scope: 'Cluster' },
  { kind: 'IPAMHandle', plural: 'ipamhandles', scope: 'Cluster' },
  { kind: 'IPPool', plural: 'ippools', scope: 'Cluster' },
  { kind: 'IPReservation', plural: 'ipreservations', scope: 'Cluster' },
  { kind: 'KubeControllersConfiguration', plural: 'kubecontrollersconfigurations', scope: 'Cluster' },
  { kind: 'NetworkPolicy', plural: 'networkpolicies', scope: 'Namespaced' },
  { kind: 'NetworkSet', plural: 'networksets', scope: 'Namespaced' },
];

/** Default image of a Calico component for the built-in objects. */
export function defaultCalicoImage(component: 'node' | 'cni' | 'kube-controllers' | 'typha', version: string): string {
  return `docker.io/calico/${component}:${version}`;
}
