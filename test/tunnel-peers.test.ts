/**
 * tunnel-peers.sh in the kubectl image's tool set, against the stand-in API's paged node list
 * (two nodes a page, so every run lists through several pages): which nodes each node of a wave
 * pings, from the tunnel addresses calico-node records on the Node objects.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { runInImage } from './support/image-tools';

const ANNOTATION = 'projectcalico.org/IPv4IPIPTunnelAddr';

function cluster(nodes: Record<string, string | undefined>): string {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnel-peers-'));
  // Not in name order: the API server lists by key, but the script must not rely on any order.
  const items = Object.entries(nodes).reverse().map(([name, tunnel]) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, annotations: tunnel === undefined ? {} : { [ANNOTATION]: tunnel } } }));
  fs.writeFileSync(path.join(store, 'NodeList.json'), JSON.stringify({ items }));
  return store;
}

function peersOf(store: string, node: string, peers?: number, without: string[] = []) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnel-peers-work-'));
  const file = path.join(work, 'peers');
  const r = runInImage('kubectl', readScript('tunnel-peers.sh'), { NODE_NAME: node, PEERS_FILE: file, WORK: work, FAKE_KUBE_STORE: store, HOME: work, ...(peers !== undefined ? { TUNNEL_PEERS: String(peers) } : {}) }, { without });
  return { ...r, peers: fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined };
}

const NODES = { 'worker-a': '10.48.0.1', 'worker-b': '10.48.1.1', 'worker-c': undefined, 'worker-d': '10.48.3.1', 'worker-e': '10.48.4.1', 'worker-f': '10.48.5.1' };

describe('tunnel-peers.sh', () => {
  it('picks the nodes after this one in name order, wrapping around, among those with a tunnel address', () => {
    const store = cluster(NODES);
    const r = peersOf(store, 'worker-e');
    expect(r.code).toBe(0);
    // worker-c has no tunnel address yet (calico-node not Ready there): it is skipped, not pinged.
    expect(r.peers).toBe('worker-f 10.48.5.1\nworker-a 10.48.0.1\nworker-b 10.48.1.1\n');
    expect(r.stdout).toContain('tunnel-peers[worker-e]: peers: worker-f (10.48.5.1), worker-a (10.48.0.1), worker-b (10.48.1.1)');
    expect(peersOf(store, 'worker-a', 1).peers).toBe('worker-b 10.48.1.1\n');
  });

  it('never itself, even when asked for more peers than there are other nodes', () => {
    const r = peersOf(cluster(NODES), 'worker-b', 50);
    expect(r.peers).toBe('worker-d 10.48.3.1\nworker-e 10.48.4.1\nworker-f 10.48.5.1\nworker-a 10.48.0.1\n');
    const alone = peersOf(cluster({ 'only-node': '10.48.0.1' }), 'only-node');
    expect([alone.code, alone.peers]).toEqual([0, '']);
    expect(alone.stdout).toContain('no other node has a tunnel address: nothing to check');
  });

  it('fails, saying why, when this node has no tunnel address, or TUNNEL_PEERS is not a count, or jq is missing', () => {
    const store = cluster(NODES);
    const none = peersOf(store, 'worker-c');
    expect([none.code, none.stderr.trim()]).toEqual([1, 'tunnel-peers[worker-c]: ERROR: calico-node has not given worker-c an IP-in-IP tunnel address yet (no Node annotation projectcalico.org/IPv4IPIPTunnelAddr): is calico-node Ready on it?']);
    const bad = peersOf(store, 'worker-a', 0);
    expect([bad.code, bad.stderr.trim()]).toEqual([1, "tunnel-peers[worker-a]: ERROR: TUNNEL_PEERS='0': expected a whole number of at least 1"]);
    const noJq = peersOf(store, 'worker-a', 3, ['jq']);
    expect([noJq.code, noJq.stderr.trim(), noJq.peers]).toEqual([1, 'tunnel-peers[worker-a]: ERROR: jq not found in the image; nothing was checked', undefined]);
  });

  it('ignores an annotation that is not an IPv4 address', () => {
    const r = peersOf(cluster({ 'worker-a': '10.48.0.1', 'worker-b': 'fd00::1', 'worker-c': '10.48.2.1; rm -rf /' , 'worker-d': '10.48.3.1' }), 'worker-a');
    expect(r.peers).toBe('worker-d 10.48.3.1\n');
  });
});
