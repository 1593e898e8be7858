/**
 * Reading a container image reference (`registry/path:tag`, `…@sha256:…`, both, or neither).
 */

/** The version in an image reference's tag (`…:v1.5.1`, `…:v1.6.0-eks-a-1@sha256:…`), when it has one. */
export function imageVersion(image: string): [number, number, number] | undefined {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  // A colon before the last slash is a registry's port (registry:5000/calico/node), not a tag.
  if (colon <= slash) return undefined;
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(withoutDigest.slice(colon + 1));
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Whether version `a` comes before `b` (MAJOR.MINOR.PATCH). */
export function olderVersion(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
