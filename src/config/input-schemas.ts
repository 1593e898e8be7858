/**
 * Every JSON Schema our inputs are validated against, by name: what schema-validator.ts compiles
 * at run time and write-validators.ts compiles into code at build time.
 */
import { createHash } from 'crypto';
import { NODE_INVENTORY_SCHEMA } from '../cluster/inventory-schema';
import { NETWORK_POLICY_SCHEMA } from '../kube/network-policy-schema';
import { MIGRATION_SCHEMA } from './schema';

export const INPUT_SCHEMAS = {
  /** migration.yaml. */
  migration: MIGRATION_SCHEMA,
  /** cluster/nodes.yaml. */
  inventory: NODE_INVENTORY_SCHEMA,
  /** Each NetworkPolicy under cluster/networkpolicies/. */
  networkPolicy: NETWORK_POLICY_SCHEMA,
} as const;

export type InputSchemaName = keyof typeof INPUT_SCHEMAS;

/** A digest of the schema's content: validators built from another version of it are not used. */
export function schemaDigest(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}
