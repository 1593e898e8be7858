/**
 * Every JSON Schema our inputs are validated against, by name: what schema-validator.ts compiles
 * at run time and write-validators.ts compiles into code at build time.
 */
import { NODE_INVENTORY_SCHEMA } from '../cluster/inventory-schema';
import { NETWORK_FACTS_SCHEMA } from '../cluster/network-facts-schema';
import { CAPTURED_OBJECT_SCHEMA } from '../kube/captured-object-schema';
import { NETWORK_POLICY_SCHEMA } from '../kube/network-policy-schema';
import { MIGRATION_SCHEMA } from './schema';

export const INPUT_SCHEMAS = {
  /** migration.yaml. */
  migration: MIGRATION_SCHEMA,
  /** cluster/nodes.yaml. */
  inventory: NODE_INVENTORY_SCHEMA,
  /** Each NetworkPolicy under cluster/networkpolicies/. */
  networkPolicy: NETWORK_POLICY_SCHEMA,
  /** Each object under cluster/control-plane/ and cluster/weave/, and of a vendored Calico manifest. */
  capturedObject: CAPTURED_OBJECT_SCHEMA,
  /** cluster/network.yaml. */
  networkFacts: NETWORK_FACTS_SCHEMA,
} as const;

export type InputSchemaName = keyof typeof INPUT_SCHEMAS;
