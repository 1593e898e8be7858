/**
 * Names in one line of a message. A wave, a list of nodes that joined or left, or the policies a
 * finding names can hold thousands of entries on a large cluster (a 5,000-node wave is some
 * 200 KB of names): a message, a commit message or a terminal line that listed them all would
 * bury what it says. Where every name matters, the full list has its own place (dist/waves.md,
 * `cni-migrate plan --json`, the inventory diff in git).
 */

/** `items` joined with ", " when there are at most `max`, else the first `max` and how many more. */
export function someOf(items: readonly string[], max = 3): string {
  if (!Number.isInteger(max) || max < 1) throw new Error(`someOf: max must be a whole number of at least 1, got ${max}`);
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
