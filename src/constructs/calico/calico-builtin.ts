/**
 * Calico's manifest install for the 3.28 line, written as typed Kubernetes objects: the same
 * objects, RBAC rules and environment as upstream's calico.yaml, before our coexistence patches
 * (which calico-patch.ts applies to these and to a vendored manifest alike).
 *
 * The privileges here are Calico's own: calico-node programs routes, iptables and BPF on the host,
 * so it needs the host network, privileged containers and the host paths below.
 */
import {
  KubeClusterRole,
  KubeClusterRoleBinding,
  KubeConfigMap,
  KubeCustomResourceDefinition,
  KubeDaemonSet,
  KubeDeployment,
  KubePodDisruptionBudget,
  KubeService,
  KubeServiceAccount,
  IntOrString,
  Quantity,
  type EnvVar,
  type PolicyRule,
} from '../../../imports/k8s';
import type { KubeObject } from '../../kube/objects';
import { CALICO_3_28_CRDS, defaultCalicoImage, type CalicoCrd } from './calico-release';

const NS = 'kube-system';

export interface BuiltinCalicoOptions {
  readonly version: string;
  /**
   * Image overrides.
   * @default docker.io/calico/<component>:<version>
   */
  readonly images?: { readonly node?: string; readonly cni?: string; readonly kubeControllers?: string; readonly typha?: string };
  /**
   * Typha replicas; above 0 the objects of upstream's calico-typha.yaml are added (PodDisruptionBudget,
   * Service, Deployment, typha_service_name, and calico-node's FELIX_TYPHAK8SSERVICENAME).
   * @default 0 (upstream's calico.yaml, without Typha)
   */
  readonly typhaReplicas?: number;
}

/** The CNI network config template that install-cni fills in (placeholders are install-cni's). */
export const CNI_NETWORK_CONFIG_TEMPLATE = `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info",
      "log_file_path": "/var/log/calico/cni/cni.log",
      "datastore_type": "kubernetes",
      "nodename": "__KUBERNETES_NODE_NAME__",
      "mtu": __CNI_MTU__,
      "ipam": {
          "type": "calico-ipam"
      },
      "policy": {
          "type": "k8s"
      },
      "kubernetes": {
          "kubeconfig": "__KUBECONFIG_FILEPATH__"
      }
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {"portMappings": true}
    },
    {
      "type": "bandwidth",
      "capabilities": {"bandwidth": true}
    }
  ]
}`;

/** Every object of the built-in install, as plain Kubernetes JSON, in upstream's order. */
export function builtinCalicoObjects(opts: BuiltinCalicoOptions): KubeObject[] {
  const image = {
    node: opts.images?.node ?? defaultCalicoImage('node', opts.version),
    cni: opts.images?.cni ?? defaultCalicoImage('cni', opts.version),
    kubeControllers: opts.images?.kubeControllers ?? defaultCalicoImage('kube-controllers', opts.version),
  };
  const typhaReplicas = opts.typhaReplicas ?? 0;
  const typha = typhaReplicas > 0;
  return [
    KubePodDisruptionBudget.manifest({
      metadata: { name: 'calico-kube-controllers', namespace: NS, labels: { 'k8s-app': 'calico-kube-controllers' } },
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: { 'k8s-app': 'calico-kube-controllers' } } },
    }),
    // calico-typha.yaml's objects sit where upstream's file has them: the PodDisruptionBudget
    // after the controllers' one, the Service before calico-node, the Deployment last.
    ...(typha ? [KubePodDisruptionBudget.manifest({
      metadata: { name: TYPHA, namespace: NS, labels: { 'k8s-app': TYPHA } },
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: { 'k8s-app': TYPHA } } },
    })] : []),
    ...['calico-kube-controllers', 'calico-node', 'calico-cni-plugin'].map((name) => KubeServiceAccount.manifest({ metadata: { name, namespace: NS } })),
    KubeConfigMap.manifest({
      metadata: { name: 'calico-config', namespace: NS },
      data: {
        // calico-node finds Typha through this Service name; "none": no Typha (up to 50 nodes).
        typha_service_name: typha ? TYPHA : 'none',
        // BIRD carries the routes IP-in-IP needs.
        calico_backend: 'bird',
        // 0: Calico detects the MTU; our patch sets it when the operator does.
        veth_mtu: '0',
        cni_network_config: CNI_NETWORK_CONFIG_TEMPLATE,
      },
    }),
    ...CALICO_3_28_CRDS.map(crd),
    ...rbac(),
    ...(typha ? [typhaService()] : []),
    calicoNode(image, typha),
    kubeControllers(image.kubeControllers),
    ...(typha ? [typhaDeployment(opts.images?.typha ?? defaultCalicoImage('typha', opts.version), typhaReplicas)] : []),
  ].map((o) => o as KubeObject);
}

/**
 * A CRD with a minimal structural schema that keeps every field: the same storage and API as
 * upstream's, without upstream's validation schema (crd.projectcalico.org/v1 is Calico's internal,
 * unvalidated API; vendor calico.yaml through spec.calico.manifest to get the full schemas).
 */
function crd(c: CalicoCrd): unknown {
  const singular = c.kind.toLowerCase();
  return KubeCustomResourceDefinition.manifest({
    metadata: { name: `${c.plural}.crd.projectcalico.org` },
    spec: {
      group: 'crd.projectcalico.org',
      names: { kind: c.kind, listKind: `${c.kind}List`, plural: c.plural, singular },
      scope: c.scope,
      versions: [{ name: 'v1', served: true, storage: true, schema: { openApiv3Schema: { type: 'object', xKubernetesPreserveUnknownFields: true } } }],
    },
  });
}

const CALICO_GROUP = 'crd.projectcalico.org';
const TYPHA = 'calico-typha';
/** Typha's port, where calico-node (Felix) connects. */
const TYPHA_PORT = 5473;
/** Seconds Typha takes to hand its clients over on shutdown; the grace period matches it. */
const TYPHA_SHUTDOWN_SECONDS = 300;

/** calico-typha.yaml's Service, in front of the Typha pods. */
function typhaService(): unknown {
  return KubeService.manifest({
    metadata: { name: TYPHA, namespace: NS, labels: { 'k8s-app': TYPHA } },
    spec: { ports: [{ port: TYPHA_PORT, protocol: 'TCP', targetPort: IntOrString.fromString(TYPHA), name: TYPHA }], selector: { 'k8s-app': TYPHA } },
  });
}

/**
 * calico-typha.yaml's Deployment. Host network, as upstream: Calico cannot network a pod until
 * Typha is up, so Typha must not need the pod network.
 */
function typhaDeployment(image: string, replicas: number): unknown {
  return KubeDeployment.manifest({
    metadata: { name: TYPHA, namespace: NS, labels: { 'k8s-app': TYPHA } },
    spec: {
      replicas,
      revisionHistoryLimit: 2,
      selector: { matchLabels: { 'k8s-app': TYPHA } },
      // Upstream's: a full up-level set starts before the old one stops, so clients move once.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: IntOrString.fromString('100%'), maxUnavailable: IntOrString.fromNumber(1) } },
      template: {
        metadata: { labels: { 'k8s-app': TYPHA }, annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' } },
        spec: {
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          hostNetwork: true,
          terminationGracePeriodSeconds: TYPHA_SHUTDOWN_SECONDS,
          tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { effect: 'NoSchedule', operator: 'Exists' }, { effect: 'NoExecute', operator: 'Exists' }],
          serviceAccountName: 'calico-node',
          priorityClassName: 'system-cluster-critical',
          securityContext: { fsGroup: 65534 },
          containers: [
            {
              name: TYPHA,
              image,
              imagePullPolicy: 'IfNotPresent',
              ports: [{ containerPort: TYPHA_PORT, name: TYPHA, protocol: 'TCP' }],
              envFrom: servicesEndpoint,
              env: [
                { name: 'TYPHA_LOGSEVERITYSCREEN', value: 'info' },
                { name: 'TYPHA_LOGFILEPATH', value: 'none' },
                { name: 'TYPHA_LOGSEVERITYSYS', value: 'none' },
                { name: 'TYPHA_CONNECTIONREBALANCINGMODE', value: 'kubernetes' },
                { name: 'TYPHA_DATASTORETYPE', value: 'kubernetes' },
                { name: 'TYPHA_HEALTHENABLED', value: 'true' },
                { name: 'TYPHA_SHUTDOWNTIMEOUTSECS', value: String(TYPHA_SHUTDOWN_SECONDS) },
              ],
              livenessProbe: { httpGet: { path: '/liveness', port: IntOrString.fromNumber(9098), host: 'localhost' }, periodSeconds: 30, initialDelaySeconds: 30, timeoutSeconds: 10 },
              securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
              readinessProbe: { httpGet: { path: '/readiness', port: IntOrString.fromNumber(9098), host: 'localhost' }, periodSeconds: 10, timeoutSeconds: 10 },
            },
          ],
        },
      },
    },
  });
}

function rbac(): unknown[] {
  const kubeControllersRules: PolicyRule[] = [
    { apiGroups: [''], resources: ['nodes'], verbs: ['watch', 'list', 'get'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [CALICO_GROUP], resources: ['ipreservations'], verbs: ['list'] },
    { apiGroups: [CALICO_GROUP], resources: ['blockaffinities', 'ipamblocks', 'ipamhandles'], verbs: ['get', 'list', 'create', 'update', 'delete', 'watch'] },
    { apiGroups: [CALICO_GROUP], resources: ['ippools'], verbs: ['list', 'watch'] },
    { apiGroups: [CALICO_GROUP], resources: ['hostendpoints'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
    { apiGroups: [CALICO_GROUP], resources: ['clusterinformations'], verbs: ['get', 'list', 'create', 'update', 'watch'] },
    { apiGroups: [CALICO_GROUP], resources: ['kubecontrollersconfigurations'], verbs: ['get', 'list', 'create', 'update', 'watch'] },
  ];
  const nodeRules: PolicyRule[] = [
    // calico-node mints tokens for the CNI plugin's own ServiceAccount only.
    { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['calico-cni-plugin'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods', 'nodes', 'namespaces'], verbs: ['get'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['watch', 'list'] },
    { apiGroups: [''], resources: ['endpoints', 'services'], verbs: ['watch', 'list', 'get'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
    { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch', 'update'] },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['watch', 'list'] },
    { apiGroups: [''], resources: ['pods', 'namespaces', 'serviceaccounts'], verbs: ['list', 'watch'] },
    { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
    {
      apiGroups: [CALICO_GROUP],
      resources: ['globalfelixconfigs', 'felixconfigurations', 'bgppeers', 'bgpfilters', 'globalbgpconfigs', 'bgpconfigurations', 'ippools', 'ipreservations', 'ipamblocks', 'globalnetworkpolicies', 'globalnetworksets', 'networkpolicies', 'networksets', 'clusterinformations', 'hostendpoints', 'blockaffinities', 'caliconodestatuses'],
      verbs: ['get', 'list', 'watch'],
    },
    { apiGroups: [CALICO_GROUP], resources: ['ippools', 'felixconfigurations', 'clusterinformations'], verbs: ['create', 'update'] },
    { apiGroups: [CALICO_GROUP], resources: ['caliconodestatuses'], verbs: ['update'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [CALICO_GROUP], resources: ['bgpconfigurations', 'bgppeers'], verbs: ['create', 'update'] },
    { apiGroups: [CALICO_GROUP], resources: ['blockaffinities', 'ipamblocks', 'ipamhandles'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
    { apiGroups: [CALICO_GROUP], resources: ['ipamconfigs'], verbs: ['get', 'create'] },
    { apiGroups: [CALICO_GROUP], resources: ['blockaffinities'], verbs: ['watch'] },
    { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
  ];
  const cniRules: PolicyRule[] = [
    { apiGroups: [''], resources: ['pods', 'nodes', 'namespaces'], verbs: ['get'] },
    { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
    { apiGroups: [CALICO_GROUP], resources: ['blockaffinities', 'ipamblocks', 'ipamhandles', 'clusterinformations', 'ippools', 'ipreservations', 'ipamconfigs'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
  ];
  const roles: [string, PolicyRule[]][] = [['calico-kube-controllers', kubeControllersRules], ['calico-node', nodeRules], ['calico-cni-plugin', cniRules]];
  return [
    ...roles.map(([name, rules]) => KubeClusterRole.manifest({ metadata: { name }, rules })),
    ...roles.map(([name]) =>
      KubeClusterRoleBinding.manifest({
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: NS }],
      }),
    ),
  ];
}

const fromConfig = (name: string, key: string): EnvVar => ({ name, valueFrom: { configMapKeyRef: { name: 'calico-config', key } } });
const fromNodeName = (name: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
const servicesEndpoint = [{ configMapRef: { name: 'kubernetes-services-endpoint', optional: true } }];
const privileged = { privileged: true };

function calicoNode(image: { node: string; cni: string }, typha: boolean): unknown {
  const hostPath = (name: string, path: string, type?: string) => ({ name, hostPath: { path, ...(type ? { type } : {}) } });
  return KubeDaemonSet.manifest({
    metadata: { name: 'calico-node', namespace: NS, labels: { 'k8s-app': 'calico-node' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'calico-node' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: IntOrString.fromNumber(1) } },
      template: {
        metadata: { labels: { 'k8s-app': 'calico-node' } },
        spec: {
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          hostNetwork: true,
          tolerations: [{ effect: 'NoSchedule', operator: 'Exists' }, { key: 'CriticalAddonsOnly', operator: 'Exists' }, { effect: 'NoExecute', operator: 'Exists' }],
          serviceAccountName: 'calico-node',
          terminationGracePeriodSeconds: 0,
          priorityClassName: 'system-node-critical',
          initContainers: [
            {
              name: 'upgrade-ipam',
              image: image.cni,
              imagePullPolicy: 'IfNotPresent',
              command: ['/opt/cni/bin/calico-ipam', '-upgrade'],
              envFrom: servicesEndpoint,
              env: [fromNodeName('KUBERNETES_NODE_NAME'), fromConfig('CALICO_NETWORKING_BACKEND', 'calico_backend')],
              volumeMounts: [{ mountPath: '/var/lib/cni/networks', name: 'host-local-net-dir' }, { mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir' }],
              securityContext: privileged,
            },
            {
              name: 'install-cni',
              image: image.cni,
              imagePullPolicy: 'IfNotPresent',
              command: ['/opt/cni/bin/install'],
              envFrom: servicesEndpoint,
              env: [
                { name: 'CNI_CONF_NAME', value: '10-calico.conflist' },
                fromConfig('CNI_NETWORK_CONFIG', 'cni_network_config'),
                fromNodeName('KUBERNETES_NODE_NAME'),
                fromConfig('CNI_MTU', 'veth_mtu'),
                { name: 'SLEEP', value: 'false' },
              ],
              volumeMounts: [{ mountPath: '/host/opt/cni/bin', name: 'cni-bin-dir' }, { mountPath: '/host/etc/cni/net.d', name: 'cni-net-dir' }],
              securityContext: privileged,
            },
            {
              name: 'mount-bpffs',
              image: image.node,
              imagePullPolicy: 'IfNotPresent',
              command: ['calico-node', '-init', '-best-effort'],
              volumeMounts: [
                { mountPath: '/sys/fs', name: 'sys-fs', mountPropagation: 'Bidirectional' },
                { mountPath: '/var/run/calico', name: 'var-run-calico', mountPropagation: 'Bidirectional' },
                { mountPath: '/nodeproc', name: 'nodeproc', readOnly: true },
              ],
              securityContext: privileged,
            },
          ],
          containers: [
            {
              name: 'calico-node',
              image: image.node,
              imagePullPolicy: 'IfNotPresent',
              envFrom: servicesEndpoint,
              env: [
                { name: 'DATASTORE_TYPE', value: 'kubernetes' },
                // Typha support: controlled by the ConfigMap.
                ...(typha ? [fromConfig('FELIX_TYPHAK8SSERVICENAME', 'typha_service_name')] : []),
                { name: 'WAIT_FOR_DATASTORE', value: 'true' },
                fromNodeName('NODENAME'),
                fromConfig('CALICO_NETWORKING_BACKEND', 'calico_backend'),
                { name: 'CLUSTER_TYPE', value: 'k8s,bgp' },
                { name: 'IP', value: 'autodetect' },
                { name: 'CALICO_IPV4POOL_IPIP', value: 'Always' },
                { name: 'CALICO_IPV4POOL_VXLAN', value: 'Never' },
                { name: 'CALICO_IPV6POOL_VXLAN', value: 'Never' },
                fromConfig('FELIX_IPINIPMTU', 'veth_mtu'),
                fromConfig('FELIX_VXLANMTU', 'veth_mtu'),
                fromConfig('FELIX_WIREGUARDMTU', 'veth_mtu'),
                { name: 'CALICO_DISABLE_FILE_LOGGING', value: 'true' },
                { name: 'FELIX_DEFAULTENDPOINTTOHOSTACTION', value: 'ACCEPT' },
                { name: 'FELIX_IPV6SUPPORT', value: 'false' },
                { name: 'FELIX_HEALTHENABLED', value: 'true' },
              ],
              securityContext: privileged,
              resources: { requests: { cpu: Quantity.fromString('250m') } },
              lifecycle: { preStop: { exec: { command: ['/bin/calico-node', '-shutdown'] } } },
              livenessProbe: { exec: { command: ['/bin/calico-node', '-felix-live', '-bird-live'] }, periodSeconds: 10, initialDelaySeconds: 10, failureThreshold: 6, timeoutSeconds: 10 },
              readinessProbe: { exec: { command: ['/bin/calico-node', '-felix-ready', '-bird-ready'] }, periodSeconds: 10, timeoutSeconds: 10 },
              volumeMounts: [
                { mountPath: '/host/etc/cni/net.d', name: 'cni-net-dir', readOnly: false },
                { mountPath: '/lib/modules', name: 'lib-modules', readOnly: true },
                { mountPath: '/run/xtables.lock', name: 'xtables-lock', readOnly: false },
                { mountPath: '/var/run/calico', name: 'var-run-calico', readOnly: false },
                { mountPath: '/var/lib/calico', name: 'var-lib-calico', readOnly: false },
                { mountPath: '/var/run/nodeagent', name: 'policysync' },
                { mountPath: '/sys/fs/bpf', name: 'bpffs' },
                { mountPath: '/var/log/calico/cni', name: 'cni-log-dir', readOnly: true },
              ],
            },
          ],
          volumes: [
            hostPath('lib-modules', '/lib/modules'),
            hostPath('var-run-calico', '/var/run/calico', 'DirectoryOrCreate'),
            hostPath('var-lib-calico', '/var/lib/calico', 'DirectoryOrCreate'),
            hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            hostPath('sys-fs', '/sys/fs/', 'DirectoryOrCreate'),
            hostPath('bpffs', '/sys/fs/bpf', 'Directory'),
            hostPath('nodeproc', '/proc'),
            hostPath('cni-bin-dir', '/opt/cni/bin', 'DirectoryOrCreate'),
            hostPath('cni-net-dir', '/etc/cni/net.d'),
            hostPath('cni-log-dir', '/var/log/calico/cni'),
            hostPath('host-local-net-dir', '/var/lib/cni/networks'),
            hostPath('policysync', '/var/run/nodeagent', 'DirectoryOrCreate'),
          ],
        },
      },
    },
  });
}

function kubeControllers(image: string): unknown {
  return KubeDeployment.manifest({
    metadata: { name: 'calico-kube-controllers', namespace: NS, labels: { 'k8s-app': 'calico-kube-controllers' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'k8s-app': 'calico-kube-controllers' } },
      strategy: { type: 'Recreate' },
      template: {
        metadata: { name: 'calico-kube-controllers', namespace: NS, labels: { 'k8s-app': 'calico-kube-controllers' } },
        spec: {
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/master', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          serviceAccountName: 'calico-kube-controllers',
          priorityClassName: 'system-cluster-critical',
          containers: [
            {
              name: 'calico-kube-controllers',
              image,
              imagePullPolicy: 'IfNotPresent',
              env: [{ name: 'ENABLED_CONTROLLERS', value: 'node' }, { name: 'DATASTORE_TYPE', value: 'kubernetes' }],
              livenessProbe: { exec: { command: ['/usr/bin/check-status', '-l'] }, periodSeconds: 10, initialDelaySeconds: 10, failureThreshold: 6, timeoutSeconds: 10 },
              readinessProbe: { exec: { command: ['/usr/bin/check-status', '-r'] }, periodSeconds: 10 },
            },
          ],
        },
      },
    },
  });
}
