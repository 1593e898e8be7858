/**
 * The commands each image a Job runs in has, and folders that hold exactly those commands (real
 * binaries from Debian's packages, linked in), so a Job script is tested with its image's tools
 * and nothing else on PATH. A script runs with PATH set to one such folder alone and that image's
 * shell; a command it calls that the image lacks fails as it would in the cluster.
 *
 *  - busybox (spec.images.shell, docker.io/library/busybox): every applet of busybox. Its shell
 *    runs applets itself, whatever PATH says, as in the image.
 *  - kubectl (registry.k8s.io/kubectl): debian-base bookworm (/bin/sh is dash) plus bash, grep,
 *    sed, gawk, coreutils, jq and diffutils (kubernetes/kubernetes
 *    build/server-image/kubectl/Dockerfile), and kubectl (here the test stand-in).
 *  - calico-node (calico/node, the Weave cleanup's default image): what its build keeps
 *    (projectcalico/calico node/clean-up-filesystem.sh, bin_allow_list_patterns): bash, a few
 *    coreutils, grep, sed, find, ip, iptables, ipset, conntrack, kmod, which. No awk, head, wc,
 *    cut, tr, xargs, mv or sync.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type ImageName = 'busybox' | 'kubectl' | 'calico-node';

export const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
const FAKE_KUBECTL = path.join(__dirname, 'fake-kubectl', 'kubectl');
/** The real kubectl, for the tests that run a script against the recorded-response API server. */
export const REAL_KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => fs.existsSync(p));

/** Every file a Debian package installs into a bin folder, by command name. */
function packageCommands(pkg: string): string[] {
  try {
    return execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8' }).split('\n').filter((f) => /\/s?bin\/[^/]+$/.test(f)).map((f) => path.basename(f));
  } catch {
    throw new Error(`the Debian package ${pkg} is not installed: run scripts/install-test-deps.sh`);
  }
}

const COREUTILS_KEPT_BY_CALICO = ['[', 'basename', 'cat', 'cp', 'date', 'echo', 'env', 'false', 'join', 'ln', 'ls', 'mkdir', 'mknod', 'nice', 'printf', 'readlink', 'rm', 'sleep', 'sort', 'stat', 'tail', 'tee', 'test', 'timeout', 'touch', 'true', 'uniq', 'whoami', 'yes'];
const CALICO_NET = ['ip', 'arp', 'tc', 'conntrack', 'ipset', 'iptables', 'iptables-legacy', 'iptables-nft', 'iptables-restore', 'iptables-legacy-restore', 'iptables-nft-restore', 'iptables-save', 'iptables-legacy-save', 'iptables-nft-save', 'ip6tables', 'ip6tables-legacy', 'ip6tables-nft', 'ip6tables-restore', 'ip6tables-legacy-restore', 'ip6tables-nft-restore', 'xtables-legacy-multi', 'xtables-nft-multi', 'kmod', 'modprobe', 'insmod', 'rmmod', 'lsmod', 'depmod', 'modinfo'];

/** Command name → the host binary that provides it, for `image`. */
export function imageCommands(image: ImageName): Map<string, string> {
  const out = new Map<string, string>();
  const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
  const add = (names: string[]) => {
    for (const n of names) {
      const p = which(n);
      if (p && p.startsWith('/')) out.set(n, p);
    }
  };
  if (image === 'busybox') {
    if (!BUSYBOX) throw new Error('busybox is not installed: run scripts/install-test-deps.sh');
    for (const a of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).trim().split('\n')) out.set(a, BUSYBOX);
    return out;
  }
  if (image === 'kubectl') {
    add(['bash', 'jq', 'grep', 'egrep', 'fgrep', 'sed', 'diff', 'cmp', 'diff3', 'sdiff', ...packageCommands('coreutils')]);
    out.set('sh', which('dash'));
    out.set('gawk', which('gawk'));
    out.set('awk', which('gawk'));
    out.set('kubectl', FAKE_KUBECTL);
    return out;
  }
  add(['bash', 'grep', 'sed', 'find', 'which', 'hostname', 'getopt', 'kill', 'more', 'less', 'gzip', 'zcat', ...COREUTILS_KEPT_BY_CALICO, ...CALICO_NET]);
  out.set('sh', which('bash'));
  return out;
}

const roots = new Map<string, string>();

/**
 * A folder whose bin/ holds the commands of `image`, less `without`; `wrap` replaces a command
 * with a script that first appends `<name> <args>` to the file $TRACE, then runs the real one.
 */
export function toolRoot(image: ImageName, without: readonly string[] = [], wrap: readonly string[] = [], realKubectl = false): string {
  const key = `${image}:${[...without].sort().join(',')}:${[...wrap].sort().join(',')}:${realKubectl}`;
  const cached = roots.get(key);
  if (cached) return cached;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `tools-${image}-`));
  fs.mkdirSync(path.join(root, 'bin'));
  for (const [name, target] of imageCommands(image)) {
    if (without.includes(name)) continue;
    if (wrap.includes(name)) {
      const real = target === BUSYBOX ? `${JSON.stringify(target)} ${name}` : JSON.stringify(target);
      fs.writeFileSync(path.join(root, 'bin', name), `#!/bin/sh\necho "${name} $*" >> "$TRACE"\nexec ${real} "$@"\n`, { mode: 0o755 });
    } else if (target === FAKE_KUBECTL && realKubectl) {
      if (!REAL_KUBECTL) throw new Error('kubectl (Debian package kubernetes-client) is not installed: run scripts/install-test-deps.sh');
      fs.symlinkSync(REAL_KUBECTL, path.join(root, 'bin', name));
    } else if (target === FAKE_KUBECTL) {
      // The stand-in runs on node, which the image does not have on PATH: call it by its path.
      fs.writeFileSync(path.join(root, 'bin', name), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FAKE_KUBECTL)} "$@"\n`, { mode: 0o755 });
    } else {
      fs.symlinkSync(target, path.join(root, 'bin', name));
    }
  }
  roots.set(key, root);
  return root;
}

/** The command line that runs `script` (its text) with `image`'s shell, for spawn. */
export function imageShell(image: ImageName, root: string): string[] {
  return image === 'busybox' ? [BUSYBOX!, 'sh'] : [path.join(root, 'bin', 'sh')];
}

/** Run a script's text in `image`'s tool set: that image's shell, PATH = its commands alone. */
export function runInImage(
  image: ImageName,
  script: string,
  env: Record<string, string>,
  opts: { without?: readonly string[]; wrap?: readonly string[]; crashAt?: number; shell?: string } = {},
): { code: number; log: string; stdout: string; stderr: string } {
  const root = toolRoot(image, opts.without, opts.wrap);
  // A busybox shell runs its applets whatever PATH says; to take one away (a slimmer busybox
  // build) or to trace one, the script runs under another POSIX shell with the applets on PATH.
  const [sh, ...args] = opts.shell ? [opts.shell] : imageShell(image, root);
  const r = spawnSync(sh, [...args, '-c', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, PATH: path.join(root, 'bin'), ...(opts.crashAt !== undefined ? { CRASH_AT: String(opts.crashAt) } : {}) },
  });
  return { code: r.status ?? (r.signal ? 128 : 1), log: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Run a script's text in the kubectl image's tool set with the real kubectl, without blocking
 * (the API server it talks to may run in this process), inside `cgroupDir` when given (a cgroup
 * v1 memory folder: the script joins it before it starts, as a container's processes do).
 */
export function runInKubectlImageAsync(script: string, env: Record<string, string>, cgroupDir?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = toolRoot('kubectl', [], [], true);
  const sh = path.join(root, 'bin', 'sh');
  const args = cgroupDir ? ['-c', `echo $$ > ${JSON.stringify(path.join(cgroupDir, 'cgroup.procs'))} && exec ${JSON.stringify(sh)} -c "$0"`, script] : ['-c', script];
  return new Promise((resolve) => {
    const p = spawn(sh, args, { env: { ...env, PATH: path.join(root, 'bin') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code, signal) => resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 128), stdout, stderr }));
  });
}
