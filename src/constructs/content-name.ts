/**
 * Content-addressed names for Jobs. A Job's pod template is immutable, so a Job whose desired
 * content changes must get a new name (GitOps then creates a new Job and prunes the old one)
 * rather than an in-place update that the API server refuses.
 */
import { createHash } from 'crypto';
import { stableJson } from '../util/stable-json';

/** First 8 hex digits of the SHA-256 of `content`'s stable JSON. */
export function contentHash(content: unknown): string {
  return createHash('sha256').update(stableJson(content)).digest('hex').slice(0, 8);
}

/**
 * `<prefix>-<part>-<hash>` as a DNS label of at most 63 characters (a Job's name becomes a label
 * value on its pods). `part` is lowercased, non [a-z0-9-] characters become "-", and it is cut to
 * fit; the hash keeps cut names unique.
 */
export function contentName(prefix: string, part: string, content: unknown): string {
  const hash = contentHash({ part, content });
  const room = 63 - prefix.length - hash.length - 2;
  const slug = part.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, room).replace(/^-+|-+$/g, '');
  return `${prefix}-${slug || 'x'}-${hash}`;
}
