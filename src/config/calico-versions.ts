/**
 * The Calico releases migration.yaml may name without a vendored manifest: the lines the built-in
 * objects reproduce (manifest install, Kubernetes datastore, BIRD for IP-in-IP). Other releases
 * come in through spec.calico.manifest, their own calico.yaml, patched the same way.
 */

/**
 * The oldest release migration.yaml accepts, as spec.calico.version (schema.ts's pattern) and as
 * the release a vendored manifest's calico-node image names.
 */
export const MIN_CALICO_RELEASE: readonly [number, number, number] = [3, 28, 0];

/** Release lines the built-in objects reproduce. */
export const BUILTIN_RELEASE_LINES = ['v3.28'] as const;

/** The release line (vMAJOR.MINOR) of a tag such as v3.28.5. */
export function releaseLine(version: string): string {
  const m = /^(v\d+\.\d+)\.\d+$/.exec(version);
  if (!m) throw new Error(`not a Calico release tag: ${JSON.stringify(version)}`);
  return m[1];
}
