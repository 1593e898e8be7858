/**
 * The probe's scripts against real listeners in network namespaces: two "nodes" joined by a veth
 * pair, a "pod" namespace behind one of them with busybox httpd in it, a Service address that the
 * node DNATs to the pod as kube-proxy does, and the host network of a node as a source.
 *
 * IP-in-IP: where the kernel has the ipip module, the nodes are joined by real tunl0 devices and
 * the firewall drops IP protocol 4; where it has not (this machine's kernel: `ip tunnel add`
 * answers "No such device"), the tunnel addresses are routed in the clear between the node
 * addresses and the firewall drops what comes from the other node. The test says which it ran.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { BUSYBOX, toolRoot } from './support/image-tools';
import { requirePeer } from './support/peers';

/** The host's ip, by path: the scripts' PATH holds busybox's applets, which have an `ip` of their own. */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].find((p) => fs.existsSync(p)) ?? 'ip';
const ID = process.pid % 100000;
const A = `cm-a-${ID}`;
const B = `cm-b-${ID}`;
const POD = `cm-pod-${ID}`;
const canRun = process.getuid?.() === 0 && !!BUSYBOX && spawnSync('ip', ['netns', 'add', `${A}-x`]).status === 0 && spawnSync('iptables', ['--version']).status === 0;
if (canRun) spawnSync('ip', ['netns', 'del', `${A}-x`]);
requirePeer(canRun, 'root, ip netns, iptables and busybox', 'the probe network tests');

const sh = (...args: string[]) => {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const ns = (name: string, ...args: string[]) => sh('ip', 'netns', 'exec', name, ...args);
const TUNNEL = { [A]: '10.48.1.1', [B]: '10.48.2.1' };
const NODE_IP = { [A]: '192.0.2.1', [B]: '192.0.2.2' };
const POD_IP = '10.48.5.2';
const SERVICE_IP = '10.96.0.50';
const PORT = 8080;
let ipip = false;
let httpd: ChildProcess | undefined;
let work: string;

/** Runs a script's text in `netns` in the busybox image's tool set (busybox's own shell). */
function runIn(netns: string, script: string, env: Record<string, string>, extraBin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = path.join(toolRoot('busybox'), 'bin');
  // Under dash when a stub must win over a busybox applet (busybox sh runs its applets first).
  const shell = extraBin ? ['/bin/dash'] : [BUSYBOX!, 'sh'];
  const child = spawn(IP, ['netns', 'exec', netns, ...shell, '-c', script], { env: { ...env, PATH: extraBin ? `${extraBin}:${bin}` : bin } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

(canRun ? beforeAll : (_: () => void) => undefined)(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-net-'));
  for (const n of [A, B, POD]) sh('ip', 'netns', 'add', n);
  sh('ip', 'link', 'add', 'eth0', 'netns', A, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', B);
  for (const n of [A, B]) {
    ns(n, 'ip', 'addr', 'add', `${NODE_IP[n]}/24`, 'dev', 'eth0');
    ns(n, 'ip', 'link', 'set', 'eth0', 'up');
    ns(n, 'ip', 'link', 'set', 'lo', 'up');
  }
  // Each node's default route through the other: a node has one, and Calico's proxy ARP for a
  // pod's gateway (169.254.1.1) answers only for an address the node has a route to.
  ns(A, 'ip', 'route', 'add', 'default', 'via', NODE_IP[B]);
  ns(B, 'ip', 'route', 'add', 'default', 'via', NODE_IP[A]);
  ipip = spawnSync('ip', ['netns', 'exec', A, 'ip', 'link', 'add', 'cmtun', 'type', 'ipip']).status === 0;
  for (const [self, peer] of [[A, B], [B, A]]) {
    if (ipip) {
      // As calico-node sets a node up: its tunnel address on tunl0, and a route to each other
      // node's pod block out tunl0, onlink, via that node's address (Calico docs, "Overlay
      // networking": IP-in-IP encapsulates with the node addresses as outer source and destination).
      ns(self, 'ip', 'link', 'del', 'cmtun');
      ns(self, 'ip', 'link', 'set', 'tunl0', 'up');
      ns(self, 'ip', 'addr', 'add', `${TUNNEL[self]}/32`, 'dev', 'tunl0');
      ns(self, 'ip', 'route', 'add', `${TUNNEL[peer]}/32`, 'via', NODE_IP[peer], 'dev', 'tunl0', 'onlink', 'src', TUNNEL[self]);
    } else {
      ns(self, 'ip', 'addr', 'add', `${TUNNEL[self]}/32`, 'dev', 'lo');
      ns(self, 'ip', 'route', 'add', `${TUNNEL[peer]}/32`, 'via', NODE_IP[peer], 'src', TUNNEL[self]);
    }
  }
  // A pod on node B: a veth into its namespace, its address routed from the node.
  sh('ip', 'link', 'add', 'cali0', 'netns', B, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', POD);
  ns(B, 'ip', 'link', 'set', 'cali0', 'up');
  ns(B, 'ip', 'route', 'add', `${POD_IP}/32`, 'dev', 'cali0');
  ns(B, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  ns(B, 'sysctl', '-qw', 'net.ipv4.conf.cali0.proxy_arp=1');
  ns(POD, 'ip', 'addr', 'add', `${POD_IP}/32`, 'dev', 'eth0');
  ns(POD, 'ip', 'link', 'set', 'eth0', 'up');
  ns(POD, 'ip', 'link', 'set', 'lo', 'up');
  ns(POD, 'ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0');
  ns(POD, 'ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
  // The Service address, DNATed to the pod for traffic the node itself sends (kube-proxy's nat OUTPUT).
  ns(B, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', SERVICE_IP, '-p', 'tcp', '--dport', String(PORT), '-j', 'DNAT', '--to-destination', `${POD_IP}:${PORT}`);
  fs.mkdirSync(path.join(work, 'www'));
  fs.writeFileSync(path.join(work, 'www', 'index.html'), 'ok\n');
  httpd = spawn('ip', ['netns', 'exec', POD, BUSYBOX!, 'httpd', '-f', '-p', String(PORT), '-h', path.join(work, 'www')], { stdio: 'ignore' });
  spawnSync('sleep', ['0.3']);
});

(canRun ? afterAll : (_: () => void) => undefined)(() => {
  httpd?.kill();
  for (const n of [A, B, POD]) spawnSync('ip', ['netns', 'del', n]);
});

const describeNet = canRun ? describe : describe.skip;

describeNet('tunnel-check.sh between two nodes', () => {
  const peersFile = () => {
    const f = path.join(work, 'peers');
    fs.writeFileSync(f, `${B} ${TUNNEL[B]}\n`);
    return f;
  };

  it('passes when the peer answers over the tunnel, and fails naming the pair once the firewall drops the tunnel', async () => {
    process.stderr.write(`probe-network: ${ipip ? 'real IP-in-IP (tunl0)' : 'no ipip module in this kernel: tunnel addresses routed in the clear'}\n`);
    const env = { NODE_NAME: A, PEERS_FILE: peersFile(), PINGS: '1' };
    const ok = await runIn(A, readScript('tunnel-check.sh'), env);
    expect(ok.stdout).toContain(`tunnel-check[${A}]: ${A} → ${B} (tunnel ${TUNNEL[B]}): answers`);
    expect(ok.code).toBe(0);

    // The firewall between the nodes: protocol 4 where there is a tunnel, else what A sends.
    const rule = ipip ? ['-p', '4', '-s', NODE_IP[A], '-j', 'DROP'] : ['-s', TUNNEL[A], '-j', 'DROP'];
    ns(B, 'iptables', '-I', 'INPUT', ...rule);
    try {
      const blocked = await runIn(A, readScript('tunnel-check.sh'), env);
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toContain(`${A} → ${B} (tunnel ${TUNNEL[B]}): no answer to 1 echo requests`);
      expect(blocked.stderr).toMatch(new RegExp(`IP-in-IP does not get through from ${A} to: ${B}\\. .*IP protocol 4`));
    } finally {
      ns(B, 'iptables', '-D', 'INPUT', ...rule);
    }
  });

  it('fails closed without ping in the image, and without a peer list', async () => {
    // A busybox build without ping (busybox sh would run its own applet whatever PATH says, so
    // under dash with the other applets on PATH).
    const dash = spawnSync('/bin/dash', ['-c', readScript('tunnel-check.sh')], { encoding: 'utf8', env: { NODE_NAME: A, PEERS_FILE: peersFile(), PATH: path.join(toolRoot('busybox', ['ping']), 'bin') } });
    expect([dash.status, dash.stderr.trim()]).toEqual([1, `tunnel-check[${A}]: ERROR: ping not found in the image; nothing was checked`]);
    const none = await runIn(A, readScript('tunnel-check.sh'), { NODE_NAME: A, PEERS_FILE: path.join(work, 'nowhere') });
    expect([none.code, none.stderr.trim()]).toEqual([1, `tunnel-check[${A}]: ERROR: no peer list at ${path.join(work, 'nowhere')} (the tunnel-peers step writes it)`]);
  });
});

describeNet('connectivity-probe.sh from the host network of a node', () => {
  // nslookup answers as busybox's does: the Service name with the Service address, the headless
  // name with the pod's (no cluster DNS runs here).
  const stubDns = () => {
    const bin = path.join(work, 'dns-bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'nslookup'), `#!/bin/sh
case "$1" in
  probe-calico-pods.*) a=${POD_IP} ;;
  probe-calico.*) a=${SERVICE_IP} ;;
  kubernetes.default) a=10.96.0.1 ;;
  *) exit 1 ;;
esac
printf 'Server:\\t\\t10.96.0.10\\nAddress:\\t10.96.0.10:53\\n\\nName:\\t%s\\nAddress: %s\\n' "$1" "$a"
`, { mode: 0o755 });
    // The script's own `sh -c nslookup …` too: busybox sh would run its nslookup applet.
    if (!fs.existsSync(path.join(bin, 'sh'))) fs.symlinkSync('/bin/dash', path.join(bin, 'sh'));
    return bin;
  };
  const env = { FROM: 'host of a calico node', TARGETS: 'calico=10.48.0.0/12', PORT: String(PORT), ATTEMPTS: '1' };

  it('reaches the pod through the Service and directly from the node\'s own address; without the route to the pod it fails', async () => {
    const ok = await runIn(B, readScript('connectivity-probe.sh'), env, stubDns());
    expect(ok.stdout).toContain(`pod → Service probe-calico (${SERVICE_IP}): ok`);
    expect(ok.stdout).toContain(`pod → pod on calico (${POD_IP}): ok`);
    expect(ok.code).toBe(0);

    ns(B, 'ip', 'route', 'del', `${POD_IP}/32`, 'dev', 'cali0');
    try {
      const broken = await runIn(B, readScript('connectivity-probe.sh'), env, stubDns());
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain('probe[host of a calico node]: FAILED: pod → Service: probe-calico.cni-migrate-probe does not resolve or its ClusterIP does not answer on port 8080');
    } finally {
      ns(B, 'ip', 'route', 'add', `${POD_IP}/32`, 'dev', 'cali0');
    }
  });
});

describeNet('loss-prober.sh', () => {
  const counts = () => {
    const line = fs.readFileSync(path.join(work, 'loss'), 'utf8');
    const v = Object.fromEntries(line.trim().split(' ').map((f) => f.split('=')));
    return { sent: Number(v.sent), failed: Number(v.failed), calico: v.calico as string };
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('counts exactly the requests lost while a rule drops the traffic, and the step turns unhealthy', async () => {
    const env = { FROM: 'weave', STEP: 'nodes-3', TARGETS: `calico=http://${POD_IP}:${PORT}/`, INTERVAL: '0.2', TIMEOUT: '1', REPORT_EVERY: '1000', COUNTS_FILE: path.join(work, 'loss'), WORK: work };
    const bin = path.join(toolRoot('busybox'), 'bin');
    // From node A's host network to the pod on node B, across the two nodes.
    ns(A, 'ip', 'route', 'add', `${POD_IP}/32`, 'via', NODE_IP[B]);
    const child = spawn(IP, ['netns', 'exec', A, BUSYBOX!, 'sh', '-c', readScript('loss-prober.sh')], { env: { ...env, PATH: bin } });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const closed = new Promise((r) => child.on('close', r));
    try {
      while (!fs.existsSync(env.COUNTS_FILE) || counts().sent < 5) await sleep(100);
      const before = counts();
      expect(before.failed).toBe(0);
      const rule = ['-p', 'tcp', '--dport', String(PORT), '-j', 'DROP'];
      ns(POD, 'iptables', '-I', 'INPUT', ...rule);
      const blockedAt = counts();
      await sleep(3000);
      ns(POD, 'iptables', '-D', 'INPUT', ...rule);
      const unblockedAt = counts();
      await sleep(1500);
      const after = counts();
      // Every request sent while the rule was in was lost (a round in flight at either edge may
      // fall on either side of it), and none before or after it.
      const sentWhileBlocked = unblockedAt.sent - blockedAt.sent;
      expect(sentWhileBlocked).toBeGreaterThanOrEqual(2);
      expect(after.failed).toBeGreaterThanOrEqual(sentWhileBlocked - 1);
      expect(after.failed).toBeLessThanOrEqual(sentWhileBlocked + 1);
      expect(after.sent - unblockedAt.sent).toBeGreaterThan(2);
      expect(after.failed - unblockedAt.failed).toBeLessThanOrEqual(1);
      // Each lost request is in the log once, with its time.
      expect((log.match(/loss\[weave\]: request to calico failed at \d\d:\d\d:\d\d\n/g) ?? []).length).toBe(after.failed);
      // The readiness check: unhealthy at 0% allowed, healthy when as much loss is allowed.
      const ready = (max: string) => spawnSync(BUSYBOX!, ['sh', '-c', readScript('loss-prober.sh'), 'loss-prober.sh', 'ready'], { encoding: 'utf8', env: { COUNTS_FILE: env.COUNTS_FILE, MAX_LOSS_PERCENT: max, PATH: bin } });
      const strict = ready('0');
      expect([strict.status, strict.stdout.trim()]).toEqual([1, expect.stringMatching(/^\d+ of \d+ requests failed, more than 0%$/)]);
      expect(ready('100').status).toBe(0);
    } finally {
      child.kill('SIGTERM');
      await closed;
      spawnSync('ip', ['netns', 'exec', A, 'ip', 'route', 'del', `${POD_IP}/32`]);
    }
    // Stopped, it reports its totals once more.
    const last = log.trim().split('\n').pop()!;
    expect(last).toMatch(new RegExp(`^loss: step=nodes-3 from=weave sent=\\d+ failed=${counts().failed} calico=${counts().failed}/\\d+$`));
  });

  it('does not count a target before its first answer, and is not ready until every target answered', async () => {
    const env = { FROM: 'weave', STEP: 'nodes-1', TARGETS: `calico=http://${POD_IP}:${PORT}/ weave=http://10.32.9.9:${PORT}/`, INTERVAL: '0.2', TIMEOUT: '1', REPORT_EVERY: '1000', COUNTS_FILE: path.join(work, 'loss2'), WORK: work };
    const bin = path.join(toolRoot('busybox'), 'bin');
    const child = spawn(IP, ['netns', 'exec', B, BUSYBOX!, 'sh', '-c', readScript('loss-prober.sh')], { env: { ...env, PATH: bin } });
    const closed = new Promise((r) => child.on('close', r));
    try {
      await sleep(2500);
      const line = fs.readFileSync(env.COUNTS_FILE, 'utf8');
      // 10.32.9.9 is routed nowhere: never answered, so never counted as lost.
      expect(line).toMatch(/^step=nodes-1 from=weave sent=\d+ failed=0 calico=0\/\d+ weave=waiting\n$/);
      const r = spawnSync(BUSYBOX!, ['sh', '-c', readScript('loss-prober.sh'), 'loss-prober.sh', 'ready'], { encoding: 'utf8', env: { COUNTS_FILE: env.COUNTS_FILE, PATH: bin } });
      expect([r.status, r.stdout.trim()]).toEqual([1, 'not counting yet: weave has not answered']);
      // A busybox build without awk (dash, so that PATH alone decides): unready, saying why.
      const noAwk = spawnSync('/bin/dash', ['-c', readScript('loss-prober.sh'), 'loss-prober.sh', 'ready'], { encoding: 'utf8', env: { COUNTS_FILE: env.COUNTS_FILE, PATH: path.join(toolRoot('busybox', ['awk']), 'bin') } });
      expect([noAwk.status, noAwk.stdout.trim()]).toEqual([1, 'not ready: awk not found in the image']);
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
  });
});
