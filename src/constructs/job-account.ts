/**
 * A Job's identity: a ServiceAccount bound to a namespaced Role holding exactly `rules`.
 */
import type { Construct } from 'constructs';
import { KubeRole, KubeRoleBinding, KubeServiceAccount, type PolicyRule } from '../../imports/k8s';

export function roleBoundAccount(scope: Construct, idPrefix: string, name: string, namespace: string, rules: PolicyRule[], labels: Record<string, string>): void {
  new KubeServiceAccount(scope, `${idPrefix}ServiceAccount`, { metadata: { name, namespace, labels } });
  new KubeRole(scope, `${idPrefix}Role`, { metadata: { name, namespace, labels }, rules });
  new KubeRoleBinding(scope, `${idPrefix}Binding`, {
    metadata: { name, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
}
