/**
 * The ServiceAccount and ClusterRole of the node switch pods, with only the verbs the
 * steps they run need.
 */
import { Construct } from 'constructs';
import { KubeClusterRole, KubeClusterRoleBinding, KubeRole, KubeRoleBinding, KubeServiceAccount, type PolicyRule } from '../../imports/k8s';
import { roleBoundAccount } from './job-account';
import { NODE_SWITCH_LABELS, NODE_SWITCH_SERVICE_ACCOUNT } from './node-switch';

export interface NodeSwitchRbacProps {
  /** The switches drain nodes (cordon, evict, uncordon). */
  readonly drain: boolean;
  /**
   * The switches uncordon a node this tool cordoned (and remove its mark).
   * @default - as drain
   */
  readonly uncordon?: boolean;
  /**
   * Lanes of the disruption budget whose Leases the switches take and give back.
   * @default 0
   */
  readonly drainLanes?: number;
  /** The switches delete the node's DaemonSet pods after the switch. */
  readonly restartDaemonSetPods: boolean;
  /**
   * Namespace of the ServiceAccount.
   * @default kube-system
   */
  readonly namespace?: string;
}

export class NodeSwitchRbac extends Construct {
  constructor(scope: Construct, id: string, props: NodeSwitchRbacProps) {
    super(scope, id);
    const namespace = props.namespace ?? 'kube-system';
    const rules: PolicyRule[] = [
      // kubectl wait for calico-node on the node; a drain lists the node's pods in every namespace.
      { apiGroups: [''], resources: ['pods'], verbs: props.restartDaemonSetPods ? ['delete', 'get', 'list', 'watch'] : ['get', 'list', 'watch'] },
    ];
    const nodeAccess = props.drain || props.uncordon;
    if (nodeAccess) {
      // cordon and uncordon patch spec.unschedulable, and the cordon mark is an annotation.
      rules.push({ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] });
    }
    if (props.drain) {
      rules.push(
        // Evictions, not deletes: they honour PodDisruptionBudgets.
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        // --ignore-daemonsets checks that a pod's DaemonSet exists.
        { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
      );
    }
    if (!nodeAccess) {
      // Only `kubectl wait` on calico-node, in kube-system: a namespaced Role is enough.
      roleBoundAccount(this, '', NODE_SWITCH_SERVICE_ACCOUNT, namespace, rules, { ...NODE_SWITCH_LABELS });
      return;
    }
    new KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: NODE_SWITCH_SERVICE_ACCOUNT, namespace, labels: { ...NODE_SWITCH_LABELS } } });
    const lanes = props.drainLanes ?? 0;
    if (lanes > 0) {
      // The lanes' Leases only: create cannot be narrowed to names (RBAC authorizes a create before
      // the object has one), get and update can. No delete: a lane is given back by clearing its holder.
      const leaseNames = Array.from({ length: lanes }, (_, i) => `cni-migrate-drain-lane-${i}`);
      new KubeRole(this, 'LaneRole', {
        metadata: { name: `${NODE_SWITCH_SERVICE_ACCOUNT}-lanes`, namespace, labels: { ...NODE_SWITCH_LABELS } },
        rules: [
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: leaseNames, verbs: ['get', 'update'] },
        ],
      });
      new KubeRoleBinding(this, 'LaneBinding', {
        metadata: { name: `${NODE_SWITCH_SERVICE_ACCOUNT}-lanes`, namespace, labels: { ...NODE_SWITCH_LABELS } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NODE_SWITCH_SERVICE_ACCOUNT}-lanes` },
        subjects: [{ kind: 'ServiceAccount', name: NODE_SWITCH_SERVICE_ACCOUNT, namespace }],
      });
    }
    new KubeClusterRole(this, 'ClusterRole', { metadata: { name: NODE_SWITCH_SERVICE_ACCOUNT, labels: { ...NODE_SWITCH_LABELS } }, rules });
    new KubeClusterRoleBinding(this, 'Binding', {
      metadata: { name: NODE_SWITCH_SERVICE_ACCOUNT, labels: { ...NODE_SWITCH_LABELS } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NODE_SWITCH_SERVICE_ACCOUNT },
      subjects: [{ kind: 'ServiceAccount', name: NODE_SWITCH_SERVICE_ACCOUNT, namespace }],
    });
  }
}
