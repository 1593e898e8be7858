/**
 * What Kubernetes accepts as object names (apimachinery's IsDNS1123Label and IsDNS1123Subdomain),
 * for the schemas of cluster/ and for names from the API that become file paths.
 */

/** A namespace (and other DNS-label names): at most 63 characters. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
/** Most object names, node names among them: at most 253 characters. */
export const DNS_SUBDOMAIN = '^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** The label that tells the sets' pods apart (and selects them: selectors must not overlap). */
export const NODE_SET_LABEL = 'cni-migrate.io/nodes';
/**
 * A digest of the pod's spec, on the pods only: `status` tells a pod of this step from one the
 * rolling update has not replaced yet (the controller's own revision hash is not known at synth).
 */
export const POD_SPEC_LABEL = 'cni-migrate.io/pod-spec';

/** The name prefix of the ConfigMap that lists a wave's nodes for its step's gate: `<prefix>-<wave>-<hash>`. */
export const GATE_WAVE_CONFIGMAP_PREFIX = 'cni-migrate-gate-wave';

/** The connectivity probe's namespace (its servers, Jobs and loss probers). */
export const PROBE_NAMESPACE = 'cni-migrate-probe';

/** The component label of the loss probers, whose logs `cni-migrate status` reads. */
export const LOSS_PROBER_COMPONENT = 'probe-loss';
