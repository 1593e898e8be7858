/**
 * Turns the first Ajv error into one InputError line: field path, bad value, what is allowed.
 */
import type { ErrorObject } from 'ajv';
import { InputError, pointerToPath, showValue } from './errors';

export function formatSchemaError(file: string, err: ErrorObject, root: unknown): InputError {
  const at = pointerToPath(err.instancePath);
  const join = (child: string) => (at ? `${at}.${child}` : child);
  const parent = (err.parentSchema ?? {}) as { description?: string; properties?: Record<string, { description?: string }> };
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = String((err.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(parent.properties ?? {}).join(', ');
      return new InputError(file, join(extra), 'unknown field (typo?)', allowed ? `the fields ${allowed}` : 'no other fields');
    }
    case 'required': {
      const missing = String((err.params as { missingProperty: string }).missingProperty);
      const d = parent.properties?.[missing]?.description;
      return new InputError(file, join(missing), 'missing', d ?? 'a value');
    }
    default: {
      const value = err.instancePath === '' ? root : err.data;
      return new InputError(file, at, `got ${showValue(value)}`, parent.description ?? err.message ?? 'a valid value');
    }
  }
}
