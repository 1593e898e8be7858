/**
 * JSON with object keys sorted: equal content gives equal text whatever the key order, for
 * content-addressed names and for comparing settings across revisions.
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) {
    // A list of strings (thousands of node names) is the same text through JSON.stringify at once.
    if (value.every((v) => typeof v === 'string')) return JSON.stringify(value);
    return `[${value.map(stableJson).join(',')}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
