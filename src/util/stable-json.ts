/**
 * JSON with object keys sorted: equal content gives equal text whatever the key order, for
 * content-addressed names and for comparing settings across revisions.
 */
export function stableJson(value: unknown): string {
  // Loops and string appends, not map/filter/join: this runs over every value of every pod spec a
  // step hashes (thousands of node names among them), mostly while the code is still cold.
  if (Array.isArray(value)) {
    let strings = true;
    for (let i = 0; i < value.length && strings; i++) strings = typeof value[i] === 'string';
    // A list of strings (node names) is the same text through JSON.stringify at once.
    if (strings) return JSON.stringify(value);
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      // As join() writes it: an element with no JSON text (undefined, a function) leaves nothing.
      const item = stableJson(value[i]) as string | undefined;
      out += (i > 0 ? ',' : '') + (item ?? '');
    }
    return `${out}]`;
  }
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    let out = '{';
    for (const key of Object.keys(record).sort()) {
      const v = record[key];
      if (v === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${stableJson(v)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}
