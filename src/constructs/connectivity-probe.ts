/**
 * The optional connectivity probe: a small web server on each pod network that exists at the
 * step, and from each network a Job that checks DNS, pod → Service and pod → pod to every network.
 * It is the last layer, so a wave that breaks traffic fails the step's health.
 */
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeDeployment, KubeJob, KubeNamespace, KubeService, IntOrString, Quantity } from '../../imports/k8s';
import type { ProbeNetwork } from '../model/probe-targets';
import { contentName } from './content-name';
import { NON_ROOT, scriptResources } from './job-containers';
import { jobContent } from './job-content';
import { useScript } from './job-scripts';

export const PROBE_NAMESPACE = 'cni-migrate-probe';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'probe' } as const;
const PORT = 8080;

export interface ConnectivityProbeProps {
  /** The networks that carry pods at this step (one or two). */
  readonly networks: readonly ProbeNetwork[];
  /** The step, so that the servers restart (and take the node's current network) at every step. */
  readonly step: string;
  /** busybox: httpd, wget, nslookup. */
  readonly image: string;
}

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
          selector: { matchLabels: labels },
          template: {
            // A new pod at every step: it gets whatever network its node gives new pods now.
            metadata: { labels, annotations: { 'cni-migrate.io/step': props.step } },
            spec: {
              nodeSelector: { 'kubernetes.io/hostname': n.node },
              tolerations: [{ operator: 'Exists' }],
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              containers: [{ name: 'web', image: props.image, imagePullPolicy: 'IfNotPresent', command: ['/bin/sh', '-c', web], ports: [{ containerPort: PORT }], securityContext: NON_ROOT, resources: scriptResources('64Mi'), volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] }],
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
      const spec = {
        backoffLimit: 2,
        activeDeadlineSeconds: 900,
        template: {
          metadata: { labels: { ...LABELS }, annotations: { 'cni-migrate.io/step': props.step } },
          spec: {
            nodeName: n.node,
            restartPolicy: 'Never',
            tolerations: [{ operator: 'Exists' }],
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            containers: [{
              name: 'probe',
              image: props.image,
              imagePullPolicy: 'IfNotPresent',
              command: probeScript.command,
              volumeMounts: [probeScript.mount],
              env: [{ name: 'FROM', value: n.name }, { name: 'TARGETS', value: targets }, { name: 'NAMESPACE', value: PROBE_NAMESPACE }],
              securityContext: NON_ROOT,
              resources: scriptResources('64Mi'),
            }],
            volumes: [probeScript.volume],
          },
        },
      };
      const name = contentName('probe-from', n.name, jobContent(spec));
      new KubeJob(this, `from-${n.name}`, { metadata: { name, namespace: PROBE_NAMESPACE, labels: { ...LABELS } }, spec: spec as never });
    }
  }
}
