/**
 * Security contexts and resources shared by the containers of our Jobs and DaemonSets: each names
 * what it runs as and why, so no step is granted more than it needs.
 */
import { Quantity, type Container, type EnvVar, type ResourceRequirements, type SecurityContext, type VolumeMount } from '../../imports/k8s';
import type { ScriptUse } from './job-scripts';

/** An unprivileged user with no capabilities: for the steps that only call the API. */
export const NON_ROOT: SecurityContext = { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };

/**
 * Root without capabilities: root owns the host files these steps change (/etc/cni/net.d, the
 * static pod manifests), and as their owner it needs no capability to write them.
 */
export const ROOT_NO_CAPABILITIES: SecurityContext = { runAsUser: 0, runAsNonRoot: false, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };

/** Requests and limits of a short script step. */
export function scriptResources(memoryLimit: '64Mi' | '128Mi'): ResourceRequirements {
  return { requests: { cpu: Quantity.fromString('10m'), memory: Quantity.fromString(memoryLimit === '64Mi' ? '16Mi' : '32Mi') }, limits: { memory: Quantity.fromString(memoryLimit) } };
}

/**
 * Root with NET_ADMIN and NET_RAW only, not privileged: NET_ADMIN changes the host's links and
 * iptables rules (with host network), and legacy iptables talks to the kernel over a raw socket.
 */
export const ROOT_NET_ADMIN: SecurityContext = { runAsUser: 0, runAsNonRoot: false, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] } };

/**
 * Root with NET_RAW only: ping opens a raw ICMP socket (on the host network, the host's
 * net.ipv4.ping_group_range, unprivileged ping's switch, is not ours to rely on).
 */
export const ROOT_NET_RAW: SecurityContext = { runAsUser: 0, runAsNonRoot: false, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_RAW'] } };

/** The host's xtables lock, shared with kube-proxy and Felix so iptables writes do not race. */
export const XTABLES_LOCK_VOLUME = { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } };
export const XTABLES_LOCK_MOUNT = { name: 'xtables-lock', mountPath: '/run/xtables.lock' };

/**
 * The container that removes the hostPort entries pods started on Weave left behind
 * (src/scripts/hostport-cleanup.sh), in an image with iptables (calico/node): root with NET_ADMIN
 * and NET_RAW on the host network, the xtables lock shared.
 */
export function hostportCleanupContainer(script: ScriptUse, image: string, env: EnvVar[], mounts: VolumeMount[] = []): Container {
  return {
    name: 'hostport-cleanup',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: script.command,
    env,
    securityContext: ROOT_NET_ADMIN,
    resources: scriptResources('64Mi'),
    volumeMounts: [...mounts, script.mount, XTABLES_LOCK_MOUNT],
  };
}

/**
 * NODE_NAME for a step: the node a Job is bound to, or (undefined) the node a DaemonSet's pod runs
 * on, from the downward API.
 */
export function nodeNameEnv(node: string | undefined): EnvVar {
  return node !== undefined ? { name: 'NODE_NAME', value: node } : { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } };
}
