/**
 * Which folders cni-migrate may replace. `synth --out/--gitops` and `snapshot --out` swap a whole
 * folder, so a wrong value must never cost the user a folder that is not ours: the repository,
 * an ancestor of it, a folder holding the inputs, or any folder whose content is not a previous
 * output of the same command is refused before anything is written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../config/errors';
import { LAYERS } from '../gitops/layers';
import { isWithin as within, realPath as real } from '../util/repo-paths';
import { someOf } from '../util/name-list';

export { repositoryRoot } from '../util/repo-paths';

export type OutputKind = 'dist' | 'gitops' | 'cluster';

/** What each kind of output folder may hold at its top (what this tool writes there). */
const OWN_ENTRIES: Record<OutputKind, (name: string) => boolean> = {
  dist: (n) => LAYERS.some((l) => l.id === n) || ['PLAN.md', 'step.json', 'waves.md'].includes(n),
  gitops: (n) => n === 'application.yaml' || n === 'gitrepository.yaml' || /^kustomization-[a-z0-9-]+\.yaml$/.test(n),
  cluster: (n) => ['nodes.yaml', 'namespaces.yaml', 'network.yaml', 'gitops.yaml', 'weave', 'networkpolicies', 'control-plane'].includes(n),
};

const WHAT: Record<OutputKind, string> = {
  dist: 'a dist/ folder written by `cni-migrate synth` (layer folders, PLAN.md, step.json, waves.md), an empty folder, or a new path',
  gitops: 'a gitops/ folder written by `cni-migrate synth` (application.yaml, or gitrepository.yaml and kustomization-*.yaml), an empty folder, or a new path',
  cluster: 'a cluster/ folder written by `cni-migrate snapshot`, an empty folder, or a new path',
};

export interface OutputTarget {
  /** The folder to replace. */
  readonly dir: string;
  readonly kind: OutputKind;
  /** The option that named it, for messages (--out, --gitops). */
  readonly option: string;
}

/**
 * Throws an InputError unless every target is safe to replace: not the repository or an ancestor
 * of it, not a folder holding (or inside) one of `inputs`, not inside .git, not another target,
 * not a symlink or a file, and either absent, empty or holding only what this tool writes there.
 */
export function assertReplaceable(targets: readonly OutputTarget[], repo: string, inputs: readonly string[]): void {
  const root = real(repo);
  const protectedPaths = inputs.map(real);
  const seen = new Map<string, string>();
  for (const t of targets) {
    const dir = real(t.dir);
    const refuse = (why: string) => {
      throw new InputError(t.option, '(option)', `${JSON.stringify(t.dir)} ${why}`, WHAT[t.kind]);
    };
    if (within(root, dir)) refuse(dir === root ? 'is the repository itself' : 'holds the repository');
    if (within(dir, path.join(root, '.git'))) refuse('is inside .git');
    for (const input of protectedPaths) {
      if (within(input, dir)) refuse(`holds an input of this command (${path.relative(root, input) || input})`);
      if (within(dir, input)) refuse(`is inside an input of this command (${path.relative(root, input) || input})`);
    }
    const other = seen.get(dir);
    if (other) refuse(`is also given as ${other}`);
    seen.set(dir, t.option);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(t.dir);
    } catch {
      continue; // A new folder.
    }
    if (st.isSymbolicLink()) refuse('is a symbolic link');
    if (!st.isDirectory()) refuse('is not a folder');
    const foreign = fs.readdirSync(t.dir).filter((n) => !OWN_ENTRIES[t.kind](n)).sort();
    if (foreign.length > 0) refuse(`holds ${someOf(foreign.map((n) => JSON.stringify(n)))}, which this tool does not write: it is not a previous output`);
  }
}
