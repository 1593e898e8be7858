/**
 * File names made from Kubernetes names. A NetworkPolicy or a Node may be named with up to 253
 * characters (a DNS subdomain), and dist/ prefixes kind and namespace to it, but Linux file systems
 * (ext4, xfs, btrfs: NAME_MAX) and macOS's APFS take at most 255 bytes in one file name: past it,
 * open() fails with ENAMETOOLONG, in synth, in `snapshot`, or in the engine's own checkout.
 */
import { createHash } from 'crypto';

/** The longest file name, in bytes, every file system we write to or check out on accepts. */
export const MAX_FILE_NAME_BYTES = 255;

/** Hex digits of the hash that keeps a shortened name unique (64 bits). */
const HASH_DIGITS = 16;

/**
 * `stem + ext` when it fits in MAX_FILE_NAME_BYTES, else the stem cut to fit, then `-`, the first
 * HASH_DIGITS hex digits of the SHA-256 of the whole stem, and `ext`. Names that fit, which is
 * every name in most clusters, are left as they are; a shortened one still starts with what it
 * names, so a reviewer recognises it in a diff.
 */
export function fileNameWithin(stem: string, ext = '.yaml'): string {
  if (Buffer.byteLength(stem + ext) <= MAX_FILE_NAME_BYTES) return stem + ext;
  const room = MAX_FILE_NAME_BYTES - Buffer.byteLength(ext) - 1 - HASH_DIGITS;
  let cut = '';
  let bytes = 0;
  // By code point, so a multi-byte character is never split (Kubernetes names are ASCII; this
  // stays correct for any text).
  for (const ch of stem) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > room) break;
    cut += ch;
    bytes += b;
  }
  return `${cut}-${createHash('sha256').update(stem).digest('hex').slice(0, HASH_DIGITS)}${ext}`;
}
