/**
 * The seed procedure's third trap, with the real portmap plugin (Debian's containernetworking-
 * plugins) in network namespaces: a pod added as network "weave" with hostPort 8080 and deleted
 * as "k8s-pod-network" (what containerd does once the node loads Calico's config first) leaves
 * its DNAT entry ahead of the next pod's, so the port goes to a dead Weave IP. hostport-cleanup.sh
 * removes exactly those entries: the port then reaches the new Calico pod, Calico entries made
 * before keep working, and a live Weave pod's entry is kept.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { scriptPath } from '../src/scripts/read-script';
import { toolRoot } from './support/image-tools';
import { requirePeer } from './support/peers';

const PORTMAP = '/usr/lib/cni/portmap';
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
const NODE = `cm-node-${process.pid}`;
const canRun = process.getuid?.() === 0 && fs.existsSync(PORTMAP) && !!BUSYBOX && spawnSync('ip', ['netns', 'add', `${NODE}-probe`]).status === 0;
if (canRun) spawnSync('ip', ['netns', 'del', `${NODE}-probe`]);
requirePeer(canRun, 'root, ip netns, busybox and the CNI portmap plugin (containernetworking-plugins)', 'the hostPort cleanup tests');

const sh = (...args: string[]) => {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const inNode = (...args: string[]) => spawnSync('ip', ['netns', 'exec', NODE, ...args], { encoding: 'utf8' });

/** portmap ADD or DEL for one pod, as containerd calls it (CNI 0.4.0, prevResult with the pod IP). */
function portmap(cmd: 'ADD' | 'DEL', network: string, id: string, ip: string, hostPort: number): void {
  const conf = {
    cniVersion: '0.4.0', name: network, type: 'portmap', snat: true, capabilities: { portMappings: true },
    runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    prevResult: { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: `/var/run/netns/${id}` }], ips: [{ version: '4', address: `${ip}/24`, interface: 0 }] },
  };
  const r = spawnSync('ip', ['netns', 'exec', NODE, PORTMAP], {
    input: JSON.stringify(conf), encoding: 'utf8',
    env: { ...process.env, CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${NODE}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
  });
  if (r.status !== 0) throw new Error(`portmap ${cmd} ${network} ${id}: ${r.stdout}${r.stderr}`);
}

(canRun ? describe : describe.skip)('hostport-cleanup.sh with the real portmap plugin', () => {
  const pods: { ns: string; server?: ChildProcess }[] = [];
  /** A pod: its own namespace on a veth to the node, and (alive) a web server answering `name`. */
  function pod(name: string, ip: string, alive: boolean): void {
    const ns = `${NODE}-${name}`;
    sh('ip', 'netns', 'add', ns);
    sh('ip', 'link', 'add', `v${name}`, 'netns', NODE, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    const gw = ip.replace(/\.\d+$/, '.1');
    sh('ip', 'netns', 'exec', NODE, 'ip', 'addr', 'add', `${gw}/24`, 'dev', `v${name}`);
    sh('ip', 'netns', 'exec', NODE, 'ip', 'link', 'set', `v${name}`, 'up');
    sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up');
    sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    sh('ip', 'netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', gw);
    const www = fs.mkdtempSync(path.join(os.tmpdir(), 'www-'));
    fs.writeFileSync(path.join(www, 'index.html'), `${name}\n`);
    pods.push({ ns, server: alive ? spawn('ip', ['netns', 'exec', ns, BUSYBOX!, 'httpd', '-f', '-p', '80', '-h', www], { stdio: 'ignore' }) : undefined });
  }
  /** What answers on the node's own address at `port` (as a kubelet probe or a client on the node would reach it). */
  const answer = (port: number) => inNode('timeout', '3', BUSYBOX!, 'wget', '-q', '-O', '-', `http://192.0.2.1:${port}/`).stdout.trim() || 'no answer';
  const cleanup = (live: string[]) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'live-')), 'ips');
    fs.writeFileSync(file, live.map((ip) => `${ip}\n`).join(''));
    // calico/node's tools alone on PATH, as in the image the Jobs run it in.
    const tools = toolRoot('calico-node');
    return inNode('env', '-i', `PATH=${tools}/bin`, `LIVE_IPS_FILE=${file}`, 'NODE_NAME=n1', `${tools}/bin/sh`, scriptPath('hostport-cleanup.sh'));
  };

  beforeAll(() => {
    sh('ip', 'netns', 'add', NODE);
    inNode('ip', 'link', 'set', 'lo', 'up');
    // The node's own address (addrtype LOCAL, what CNI-HOSTPORT-DNAT matches).
    sh('ip', 'netns', 'exec', NODE, 'ip', 'addr', 'add', '192.0.2.1/32', 'dev', 'lo');
    sh('ip', 'netns', 'exec', NODE, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    pod('wdead', '10.32.0.5', false); // the Weave pod that was deleted under Calico's network
    pod('cnew', '10.48.0.7', true); // the pod that replaced it, on Calico
    pod('cold', '10.48.1.9', true); // a Calico pod with another hostPort, there before the cleanup
    pod('wlive', '10.32.2.3', true); // a Weave pod still running (not restarted yet)
  });
  afterAll(() => {
    for (const p of pods) {
      p.server?.kill();
      spawnSync('ip', ['netns', 'del', p.ns]);
    }
    spawnSync('ip', ['netns', 'del', NODE]);
  });

  it('sends the port to the new pod again, keeping Calico entries and live Weave pods', async () => {
    await new Promise((r) => setTimeout(r, 300)); // the web servers start
    portmap('ADD', 'k8s-pod-network', 'cold', '10.48.1.9', 9090);
    portmap('ADD', 'weave', 'wlive', '10.32.2.3', 7070);
    portmap('ADD', 'weave', 'wdead', '10.32.0.5', 8080);
    portmap('DEL', 'k8s-pod-network', 'wdead', '10.32.0.5', 8080); // torn down under Calico's name
    portmap('ADD', 'k8s-pod-network', 'cnew', '10.48.0.7', 8080);
    // The trap: 8080 still goes to the dead Weave IP.
    expect([answer(8080), answer(9090), answer(7070)]).toEqual(['no answer', 'cold', 'wlive']);
    const r = cleanup(['10.32.2.3', '10.48.0.7', '10.48.1.9']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/removed iptables-\w+ hostPort entry and chain CNI-DN-[0-9a-f]+ left by a pod of network weave/);
    expect(r.stdout).toMatch(/kept iptables-\w+ hostPort entry CNI-DN-[0-9a-f]+: a live pod still has its target/);
    expect([answer(8080), answer(9090), answer(7070)]).toEqual(['cnew', 'cold', 'wlive']);
    const nat = inNode('iptables', '-t', 'nat', '-S').stdout;
    expect(nat).toContain('dnat name: \\"weave\\" id: \\"wlive\\"');
    expect(nat).not.toContain('id: \\"wdead\\"');
    // Rerun: nothing left to remove, exit 0.
    const again = cleanup(['10.32.2.3']);
    expect([again.status, again.stdout.trim().split('\n').at(-1)]).toEqual([0, 'hostport-cleanup[n1]: done: 0 stale hostPort entries removed']);
  });
});
