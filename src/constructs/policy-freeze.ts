/**
 * The NetworkPolicy freeze: while the migration has the policies suspended, a
 * ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30+) and its binding
 * deny creating or changing a NetworkPolicy: one created now by a person, a CI job or an
 * operator would be enforced across the NAT between the two networks, dropping traffic, which is
 * why the policies are suspended at all. It is part of the step's manifests, so the step that
 * restores the policies (or a revert to before the suspension) removes it. This tool's own
 * service accounts, and a policy labelled as an exception, pass.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { FREEZE_EXCEPTION_LABEL, FREEZE_EXEMPT_PREFIX, type PolicyFreeze as FreezeModel } from '../model/policy-restore';

export const FREEZE_NAME = 'cni-migrate-networkpolicy-freeze';
const LABELS = { 'app.kubernetes.io/name': 'cni-migrate', 'app.kubernetes.io/component': 'policy-freeze' } as const;

/** The CEL that admits a NetworkPolicy create or update while frozen. */
export const FREEZE_EXPRESSION = [
  `request.userInfo.username.startsWith('${FREEZE_EXEMPT_PREFIX}')`,
  `(has(object.metadata.labels) && '${FREEZE_EXCEPTION_LABEL}' in object.metadata.labels && object.metadata.labels['${FREEZE_EXCEPTION_LABEL}'] == 'true')`,
].join(' || ');

export interface PolicyFreezeProps {
  readonly freeze: FreezeModel;
}

export class PolicyFreeze extends Construct {
  constructor(scope: Construct, id: string, props: PolicyFreezeProps) {
    super(scope, id);
    const { migration } = props.freeze;
    new ApiObject(this, 'Policy', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: FREEZE_NAME, labels: { ...LABELS } },
      spec: {
        failurePolicy: 'Fail',
        // Deleting stays allowed: fewer policies cannot drop traffic.
        matchConstraints: { resourceRules: [{ apiGroups: ['networking.k8s.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['networkpolicies'] }] },
        validations: [{
          expression: FREEZE_EXPRESSION,
          // Names the steps of the freeze rather than the current one: the object stays the same
          // from step to step, so a wave commit changes no file of this layer.
          message: `NetworkPolicies are frozen by the cni-migrate migration ${migration} from step policies-suspended until step policies-restored: while pods run on both Weave and Calico, traffic between them is NATed and a policy would drop it. Apply it after policies-restored, or label it ${FREEZE_EXCEPTION_LABEL}=true to accept that.`,
          reason: 'Forbidden',
        }],
      },
    });
    new ApiObject(this, 'Binding', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: FREEZE_NAME, labels: { ...LABELS } },
      spec: { policyName: FREEZE_NAME, validationActions: ['Deny'] },
    });
  }
}
