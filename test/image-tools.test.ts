/**
 * Each Job script with exactly its image's tools (issue 15): it declares and checks every command
 * it runs before changing anything, so a missing one fails loudly, naming it, with nothing
 * changed; every declared command is one its image has; and every file it renames into place is
 * flushed first, and its folder after, so a power cut leaves the old or the new file, whole.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { imageCommands, runInImage, type ImageName } from './support/image-tools';
import { treeDigest } from './support/workspace';

/** Each Job script and the image its container uses (src/constructs). */
const SCRIPTS: Record<string, ImageName> = {
  'node-switch.sh': 'busybox',
  'restart-runtime.sh': 'busybox',
  'connectivity-probe.sh': 'busybox',
  'kcm-cluster-cidr.sh': 'kubectl',
  'cluster-cidr-api.sh': 'kubectl',
  'gate-calico-ready.sh': 'kubectl',
  'gate-no-pods-in-cidr.sh': 'kubectl',
  'node-drain.sh': 'kubectl',
  'weave-cleanup.sh': 'calico-node',
  'hostport-cleanup.sh': 'calico-node',
};
const DASH = '/usr/bin/dash';

const IPTABLES = ['iptables-legacy', 'iptables-nft', 'iptables'];

/**
 * The commands a script declares it needs (its up-front check). `iptables` and `iptables-restore`
 * stand for the backends: any one will do, so taking one away means taking away all of them.
 */
function declared(script: string): string[] {
  const text = readScript(script);
  const list = /^need="([^"]+)"$/m.exec(text)?.[1] ?? /^for tool in ([^;$]+); do$/m.exec(text)?.[1];
  const out = list ? list.split(/\s+/) : [];
  if (/need="\$need ip"/.test(text)) out.push('ip');
  if (/"\$\{HOST%% \*\}"/.test(text)) out.push('nsenter');
  if (/for ipt in iptables-legacy iptables-nft iptables; do/.test(text)) out.push('iptables', 'iptables-restore');
  return out;
}

/** What to take away for a declared tool, and what the script must then say. */
function removal(tool: string): { without: string[]; says: RegExp } {
  if (tool === 'iptables') return { without: [...IPTABLES, ...IPTABLES.map((i) => `${i}-restore`)], says: /ERROR: no iptables binary in the image; nothing was changed/ };
  if (tool === 'iptables-restore') return { without: IPTABLES.map((i) => `${i}-restore`), says: /ERROR: iptables-legacy is in the image but iptables-legacy-restore is not; nothing was changed/ };
  return { without: [tool], says: new RegExp(`ERROR: ${tool.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} not found in the image; nothing was changed`) };
}

/** A scratch environment in which the script would change something on disk, if it got that far. */
function scratch(script: string): { env: Record<string, string>; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tools-'));
  const conflist = '{"cniVersion":"0.3.1","name":"k8s-pod-network","plugins":[{"type":"calico"}]}\n';
  fs.writeFileSync(path.join(dir, '20-calico.conflist'), conflist);
  fs.writeFileSync(path.join(dir, '10-weave.conflist'), conflist.replace('k8s-pod-network', 'weave'));
  fs.writeFileSync(path.join(dir, 'kube-controller-manager.yaml'), 'spec:\n  containers:\n  - command:\n    - kube-controller-manager\n    - --cluster-cidr=10.32.0.0/12\n');
  const env: Record<string, string> = {
    NODE_NAME: 'n1', CNI_DIR: dir, DESIRED: 'calico-first', MANIFEST_DIR: dir, WORK_DIR: path.join(dir, 'work'), CLUSTER_CIDR: '10.32.0.0/11', WAIT_SECONDS: '0',
    TARGETS: dir, FAKE_KUBE_STORE: dir, POD_CIDR: '10.32.0.0/12', TARGETS_NET: '', BIN_DIR: dir, DATA_DIR: dir, NETWORK: script === 'weave-cleanup.sh' ? '1' : script === 'gate-no-pods-in-cidr.sh' ? 'weave' : '0', HOST_NSENTER: 'nsenter -t 1 --', FROM: 'weave',
  };
  if (script === 'connectivity-probe.sh') env.TARGETS = 'weave=10.32.0.0/12';
  return { env, dir };
}

describe('every Job script in its image', () => {
  it.each(Object.entries(SCRIPTS))('%s declares only commands its image (%s) has', (script, image) => {
    const tools = declared(script);
    expect(tools.length).toBeGreaterThan(0);
    const has = imageCommands(image);
    expect([script, tools.flatMap((t) => (t.startsWith('iptables') ? [`${t.replace('iptables', 'iptables-legacy')}`] : [t])).filter((t) => !has.has(t))]).toEqual([script, []]);
  });

  const removals = Object.entries(SCRIPTS).flatMap(([script, image]) => declared(script).map((tool) => [script, image, tool] as const));
  it.each(removals)('%s (%s) without %s fails naming it and changes nothing', (script, image, tool) => {
    const { env, dir } = scratch(script);
    const before = treeDigest(dir);
    // busybox's shell finds its applets whatever PATH says: a busybox built without the applet
    // is run under dash with the other applets on PATH.
    const { without, says } = removal(tool);
    const r = runInImage(image, readScript(script), env, { without, shell: image === 'busybox' ? DASH : undefined });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(says);
    expect(treeDigest(dir)).toEqual(before);
  });

  it('the calico/node tool set has no awk, head, wc, cut, tr, xargs, mv or sync', () => {
    const has = imageCommands('calico-node');
    expect(['awk', 'head', 'wc', 'cut', 'tr', 'xargs', 'mv', 'sync'].filter((c) => has.has(c))).toEqual([]);
    expect(['bash', 'grep', 'sed', 'ip', 'iptables-legacy-restore', 'iptables-nft-restore', 'rm'].filter((c) => !has.has(c))).toEqual([]);
  });
});

describe('crash-safe writes', () => {
  /** Every `mv SRC DST` in the trace comes after a `sync SRC` and is followed by a sync of DST's folder. */
  const checkOrder = (trace: string[]) => {
    const moves = trace.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('mv '));
    expect(moves.length).toBeGreaterThan(0);
    for (const [line, i] of moves) {
      const [src, dst] = line.split(' ').slice(-2);
      expect([line, trace.slice(0, i).includes(`sync ${src}`)]).toEqual([line, true]);
      expect([line, trace.slice(i + 1).includes(`sync ${path.dirname(dst)}`)]).toEqual([line, true]);
    }
  };

  it('node-switch.sh flushes the copy before renaming it and the folder after (and after a removal)', () => {
    const { env, dir } = scratch('node-switch.sh');
    const trace = path.join(dir, '..', `${path.basename(dir)}.trace`);
    const r = runInImage('busybox', readScript('node-switch.sh'), { ...env, TRACE: trace }, { wrap: ['sync', 'mv'], shell: DASH });
    expect([r.code, r.stderr]).toEqual([0, '']);
    checkOrder(fs.readFileSync(trace, 'utf8').trim().split('\n'));
    fs.writeFileSync(trace, '');
    expect(runInImage('busybox', readScript('node-switch.sh'), { ...env, DESIRED: 'weave-first', TRACE: trace }, { wrap: ['sync', 'mv'], shell: DASH }).code).toBe(0);
    expect(fs.readFileSync(trace, 'utf8').trim()).toBe(`sync ${dir}`);
  });

  it('kcm-cluster-cidr.sh flushes the staged manifest before renaming it over the manifest, and the folder after', () => {
    const { env, dir } = scratch('kcm-cluster-cidr.sh');
    const trace = path.join(dir, '..', `${path.basename(dir)}.trace`);
    const r = runInImage('kubectl', readScript('kcm-cluster-cidr.sh'), { ...env, TRACE: trace }, { wrap: ['sync', 'mv'] });
    expect([r.code, r.stderr]).toEqual([0, '']);
    checkOrder(fs.readFileSync(trace, 'utf8').trim().split('\n'));
  });
});
