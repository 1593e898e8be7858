/**
 * The connectivity probe, from `calico` to `policies-restored`: a small web server on each pod
 * network that exists at the step, and
 *  - from each network, a pod Job and a host-network Job (what the kubelet's probes and node
 *    agents do) that check DNS, pod → Service and pod → pod to every network once the step applied;
 *  - on each network, a loss prober that requests both networks' Services at a fixed rate for as
 *    long as the step runs, and turns unready (so the step unhealthy) once more than
 *    spec.probe.maxLossPercent of its requests failed.
 * It is the last layer, so a wave that breaks traffic fails the step's health.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeDeployment, KubeJob, KubeNamespace, KubeService, IntOrString, Quantity, type PodSpec } from '../../imports/k8s';
import { LOSS_PROBER_COMPONENT, PROBE_NAMESPACE } from '../kube/names';
import type { ProbeNetwork } from '../model/probe-targets';
import { contentName } from './content-name';
import { NON_ROOT, scriptResources } from './job-containers';
import { jobContent } from './job-content';
import { useScript } from './job-scripts';

export { LOSS_PROBER_COMPONENT, PROBE_NAMESPACE };
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'probe' } as const;
const PORT = 8080;

export interface ConnectivityProbeProps {
  /** The networks that carry pods at this step (one or two). */
  readonly networks: readonly ProbeNetwork[];
  /** The step, so that the servers restart (and take the node's current network) at every step. */
  readonly step: string;
  /** busybox: httpd, wget, nslookup. */
  readonly image: string;
  /**
   * The share of a loss prober's requests that may fail before its step is unhealthy.
   * @default 0
   */
  readonly maxLossPercent?: number;
}

/** The loss probers' request rate: one request per target every INTERVAL seconds. */
const LOSS_INTERVAL_SECONDS = 1;


export class ConnectivityProbe extends Construct {
  constructor(scope: Construct, id: string, props: ConnectivityProbeProps) {
    super(scope, id);
    if (props.networks.length === 0) throw new Error('a connectivity probe needs at least one network');
    new KubeNamespace(this, 'Namespace', { metadata: { name: PROBE_NAMESPACE, labels: { ...LABELS } } });
    const web = 'mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www';
    for (const n of props.networks) {
      const labels = { ...LABELS, 'cni-migrate.io/probe': n.name };
      new KubeDeployment(this, `server-${n.name}`, {
        metadata: { name: `probe-${n.name}`, namespace: PROBE_NAMESPACE, labels },
        spec: {
          replicas: 1,
          // The new server starts before the old one stops, and the old one keeps answering while
          // kube-proxy and DNS drop it: the loss probers count the network, not our own rollout.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: IntOrString.fromNumber(0), maxSurge: IntOrString.fromNumber(1) } },
          selector: { matchLabels: labels },
          template: {
            // A new pod at every step: it gets whatever network its node gives new pods now.
            metadata: { labels, annotations: { 'cni-migrate.io/step': props.step } },
            spec: {
              nodeSelector: { 'kubernetes.io/hostname': n.node },
              tolerations: [{ operator: 'Exists' }],
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              containers: [{
                name: 'web',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['/bin/sh', '-c', web],
                ports: [{ containerPort: PORT }],
                readinessProbe: { httpGet: { path: '/', port: IntOrString.fromNumber(PORT) }, periodSeconds: 2 },
                // Endpoints, kube-proxy's rules and DNS (5 s TTL) take a few seconds to drop a stopping pod.
                lifecycle: { preStop: { exec: { command: ['sleep', '10'] } } },
                securityContext: NON_ROOT,
                resources: scriptResources('64Mi'),
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              }],
              volumes: [{ name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('1Mi') } }],
            },
          },
        },
      });
      new KubeService(this, `service-${n.name}`, { metadata: { name: `probe-${n.name}`, namespace: PROBE_NAMESPACE, labels }, spec: { selector: labels, ports: [{ port: PORT, targetPort: IntOrString.fromNumber(PORT) }] } });
      // Headless: its DNS name resolves to the pods' own IPs, for the pod-to-pod check.
      new KubeService(this, `pods-${n.name}`, { metadata: { name: `probe-${n.name}-pods`, namespace: PROBE_NAMESPACE, labels }, spec: { clusterIp: 'None', selector: labels, ports: [{ port: PORT, targetPort: IntOrString.fromNumber(PORT) }] } });
    }
    const targets = props.networks.map((n) => `${n.name}=${n.cidr}`).join(' ');
    const probeScript = useScript(Chart.of(this), 'connectivity-probe.sh', PROBE_NAMESPACE);
    for (const n of props.networks) {
      for (const from of ['pod', 'host'] as const) {
        const host = from === 'host';
        const spec = {
          backoffLimit: 2,
          activeDeadlineSeconds: 900,
          template: {
            metadata: { labels: { ...LABELS }, annotations: { 'cni-migrate.io/step': props.step } },
            spec: {
              nodeName: n.node,
              restartPolicy: 'Never',
              // The host-network source is the path the kubelet's liveness and readiness probes and
              // node agents take to pods: from the node's own address, not a pod's. It needs the
              // node's network namespace for that, and nothing else (no capability, no host path).
              ...(host ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
              tolerations: [{ operator: 'Exists' }],
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              containers: [{
                name: 'probe',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                command: probeScript.command,
                volumeMounts: [probeScript.mount],
                env: [{ name: 'FROM', value: host ? `host of a ${n.name} node` : n.name }, { name: 'TARGETS', value: targets }, { name: 'NAMESPACE', value: PROBE_NAMESPACE }],
                securityContext: NON_ROOT,
                resources: scriptResources('64Mi'),
              }],
              volumes: [probeScript.volume],
            },
          },
        };
        const name = contentName(host ? 'probe-from-host' : 'probe-from', n.name, jobContent(spec));
        new KubeJob(this, host ? `from-host-${n.name}` : `from-${n.name}`, { metadata: { name, namespace: PROBE_NAMESPACE, labels: { ...LABELS } }, spec: spec as never });
      }
    }

    const lossScript = useScript(Chart.of(this), 'loss-prober.sh', PROBE_NAMESPACE);
    const lossTargets = props.networks.map((n) => `${n.name}=http://probe-${n.name}.${PROBE_NAMESPACE}:${PORT}/`).join(' ');
    for (const n of props.networks) {
      const labels = { ...LABELS, 'app.kubernetes.io/component': LOSS_PROBER_COMPONENT, 'cni-migrate.io/probe': n.name };
      const pod: PodSpec = {
        nodeSelector: { 'kubernetes.io/hostname': n.node },
        tolerations: [{ operator: 'Exists' }],
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        terminationGracePeriodSeconds: 10,
        containers: [{
          name: 'loss',
          image: props.image,
          imagePullPolicy: 'IfNotPresent',
          command: lossScript.command,
          env: [
            { name: 'FROM', value: n.name },
            { name: 'STEP', value: props.step },
            { name: 'TARGETS', value: lossTargets },
            { name: 'INTERVAL', value: String(LOSS_INTERVAL_SECONDS) },
            { name: 'COUNTS_FILE', value: '/tmp/loss' },
            { name: 'WORK', value: '/tmp' },
            { name: 'MAX_LOSS_PERCENT', value: String(props.maxLossPercent ?? 0) },
            // A summary line every 10 s: what `cni-migrate status` reads.
            { name: 'REPORT_EVERY', value: '10' },
          ],
          // Unready once a target never answered or too many requests failed: the Deployment is
          // then unavailable, which Argo CD and Flux both read as a step not healthy yet.
          readinessProbe: { exec: { command: [...lossScript.command, 'ready'] }, periodSeconds: 5 },
          volumeMounts: [lossScript.mount, { name: 'tmp', mountPath: '/tmp' }],
          securityContext: NON_ROOT,
          resources: scriptResources('64Mi'),
        }],
        volumes: [lossScript.volume, { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('1Mi') } }],
      };
      new KubeDeployment(this, `loss-${n.name}`, {
        metadata: { name: `probe-loss-from-${n.name}`, namespace: PROBE_NAMESPACE, labels },
        spec: {
          replicas: 1,
          // The counts are the step's: a new pod at every step, the old one gone before it starts.
          strategy: { type: 'Recreate' },
          selector: { matchLabels: labels },
          template: { metadata: { labels, annotations: { 'cni-migrate.io/step': props.step } }, spec: pod },
        },
      });
    }
  }
}
