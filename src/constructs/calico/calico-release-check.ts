/**
 * Every Calico image that will run names one release: the one spec.calico.version gives, or, with
 * a vendored manifest and no version, the manifest's own. A calico-node of one release beside the
 * CNI plugin, kube-controllers or Typha of another is a combination upstream never ships, and a
 * PLAN.md that names a release the nodes do not run misleads the reviewer.
 */
import type { KubeObject } from '../../kube/objects';
import { InputError } from '../../config/errors';
import { MIN_CALICO_RELEASE } from '../../config/calico-versions';
import type { CalicoCoexistence } from '../../model/calico-settings';
import { imageVersion, olderVersion } from '../../util/image-ref';
import { isCalicoImage } from './calico-patch';

/** Calico's images, by their repository name (calico/<name>) and the spec.calico.images key that replaces them. */
const COMPONENTS = [
  { repo: 'node', key: 'node' },
  { repo: 'cni', key: 'cni' },
  { repo: 'kube-controllers', key: 'kubeControllers' },
  { repo: 'typha', key: 'typha' },
] as const;

export interface CalicoReleaseCheckProps {
  /** Calico's objects after patching: the images as they will run. */
  readonly objects: readonly KubeObject[];
  /** migration.yaml as shown in messages. */
  readonly configFile: string;
  /** spec.calico.version, when the operator gave one (always, for the built-in objects). */
  readonly version?: string;
  /** spec.calico.manifest, when Calico comes from a vendored manifest. */
  readonly manifest?: string;
  /** spec.calico.images. */
  readonly images?: CalicoCoexistence['images'];
}

/** One Calico container's image, where it came from and the release its tag names. */
interface CalicoImage {
  readonly image: string;
  readonly release: string;
  readonly key: (typeof COMPONENTS)[number]['key'];
  /** Set by spec.calico.images (else the manifest's own, or the built-in default). */
  readonly overridden: boolean;
}

/** Throws an InputError on the field to change when the images name a release older than the oldest accepted, or more than one. */
export function assertOneCalicoRelease(props: CalicoReleaseCheckProps): void {
  const found = calicoImages(props);
  const oldest = `v${MIN_CALICO_RELEASE.join('.')}`;
  const tooOld = (f: CalicoImage) => olderVersion(imageVersion(f.image)!, MIN_CALICO_RELEASE);
  const old = found.find((f) => f.key === 'node' && tooOld(f)) ?? found.find(tooOld);
  if (old) throw new InputError(props.configFile, fieldOf(old, props), `${problemOf(old, props)}, older than ${oldest}`, `an image of Calico ${oldest} or newer`);
  // Without a version, the manifest's calico-node says which release the rest must match.
  const anchor = props.version === undefined ? (found.find((f) => f.key === 'node' && !f.overridden) ?? found.find((f) => !f.overridden) ?? found[0]) : undefined;
  const expected = props.version ?? anchor?.release;
  const reason = props.version !== undefined ? `spec.calico.version is ${props.version}` : anchor && problemOf(anchor, props);
  for (const f of found) {
    if (f.release === expected) continue;
    if (!f.overridden && props.version !== undefined) {
      throw new InputError(props.configFile, 'spec.calico.version', `got ${JSON.stringify(props.version)}, but ${problemOf(f, props)}`,
        `${f.release}, the release of the manifest's images, or leave spec.calico.version unset to take the manifest's release`);
    }
    throw new InputError(props.configFile, fieldOf(f, props), `${problemOf(f, props)}, but ${reason}`,
      `an image of ${expected} (or one pinned by digest alone): every Calico component runs one release`);
  }
}

/** The field to change for `f`: its override, the manifest that names it, or the version the built-in image is made from. */
function fieldOf(f: CalicoImage, props: CalicoReleaseCheckProps): string {
  if (f.overridden) return `spec.calico.images.${f.key}`;
  return props.manifest ? 'spec.calico.manifest' : 'spec.calico.version';
}

/** What `f` is, as a message says it: `got "<image>" (<release>)` for an override, else whose image it is. */
function problemOf(f: CalicoImage, props: CalicoReleaseCheckProps): string {
  if (f.overridden) return `got ${JSON.stringify(f.image)} (${f.release})`;
  const repo = COMPONENTS.find((c) => c.key === f.key)!.repo;
  return `${props.manifest ? `${props.manifest}'s` : 'the built-in'} calico/${repo} image is ${f.image}`;
}

/** The Calico images of every pod template, in object order, with a release in their tag (a digest alone or `master` names none). */
function calicoImages(props: CalicoReleaseCheckProps): CalicoImage[] {
  const out: CalicoImage[] = [];
  for (const o of props.objects) {
    const pod = (o as { spec?: { template?: { spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } } } }).spec?.template?.spec;
    if (!pod) continue;
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const component = COMPONENTS.find((k) => isCalicoImage(c.image, k.repo));
      const version = c.image ? imageVersion(c.image) : undefined;
      if (!component || !version) continue;
      out.push({ image: c.image!, release: `v${version.join('.')}`, key: component.key, overridden: props.images?.[component.key] === c.image });
    }
  }
  return out;
}
