/**
 * src/scripts/node-switch.sh run for real (busybox sh, as in the Job's image) against temporary
 * CNI config folders. The simulator and containerd tests build on this in later work.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readScript } from '../src/scripts/read-script';
import { runInImage } from './support/image-tools';


const WEAVE = '{"cniVersion":"0.3.0","name":"weave","plugins":[{"name":"weave","type":"weave-net","hairpinMode":true},{"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}\n';
const CALICO = `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {"type": "calico", "datastore_type": "kubernetes", "nodename": "n1", "mtu": 0, "ipam": {"type": "calico-ipam"},
     "policy": {"type": "k8s"}, "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}, "x": [-1.5e3, true, false, null, "\\u00e9\\"q\\""]},
    {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}},
    {"type": "bandwidth", "capabilities": {"bandwidth": true}}
  ]
}
`;

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netd-'));
  for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), t);
  return dir;
}
function run(dir: string, desired: string) {
  const r = runInImage('busybox', readScript('node-switch.sh'), { CNI_DIR: dir, DESIRED: desired, NODE_NAME: 'n1' });
  return { code: r.code, out: r.stdout, err: r.stderr };
}
const listing = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
/** What containerd would load: the first .conf/.conflist/.json in byte order. */
const first = (dir: string) => fs.readdirSync(dir).filter((f) => /\.(conf|conflist|json)$/.test(f)).sort()[0];

describe('node-switch.sh', () => {
  it('calico-first writes a copy that sorts before Weave, and reruns change nothing', () => {
    const dir = folder({ '10-weave.conflist': WEAVE, '20-calico.conflist': CALICO, 'calico-kubeconfig': 'k' });
    const r = run(dir, 'calico-first');
    expect(r.code).toBe(0);
    expect(first(dir)).toBe('05-calico.conflist');
    expect(fs.readFileSync(path.join(dir, '05-calico.conflist'), 'utf8')).toBe(CALICO);
    const after = listing(dir);
    expect(run(dir, 'calico-first')).toMatchObject({ code: 0 });
    expect(listing(dir)).toEqual(after);
    // Weave's and Calico's own files are untouched.
    expect(after['10-weave.conflist']).toBe(WEAVE);
    expect(after['20-calico.conflist']).toBe(CALICO);
  });

  it('calico-first refreshes a stale copy', () => {
    const dir = folder({ '10-weave.conflist': WEAVE, '20-calico.conflist': CALICO, '05-calico.conflist': '{"name":"old","plugins":[{"type":"calico"}]}' });
    expect(run(dir, 'calico-first').code).toBe(0);
    expect(fs.readFileSync(path.join(dir, '05-calico.conflist'), 'utf8')).toBe(CALICO);
  });

  it.each([
    ['missing', undefined, /is missing/],
    ['empty', '', /not a valid conflist/],
    ['truncated', CALICO.slice(0, 120), /not a valid conflist/],
    ['trailing garbage', `${CALICO}}`, /not a valid conflist/],
    ['no plugins', '{"name":"k8s-pod-network","plugins":[]}', /not a valid conflist/],
    ['no name', '{"plugins":[{"type":"calico"}]}', /not a valid conflist/],
    ['an array', '[{"name":"x","plugins":[{"type":"calico"}]}]', /not a valid conflist/],
    ['a bad escape', '{"name":"a\\qb","plugins":[{"type":"calico"}]}', /not a valid conflist/],
    ['a bare word', '{"name":"x","plugins":[{"type":calico}]}', /not a valid conflist/],
  ])('refuses when Calico\'s conflist is %s, changing nothing', (_n, content, msg) => {
    const files: Record<string, string> = { '10-weave.conflist': WEAVE };
    if (content !== undefined) files['20-calico.conflist'] = content;
    const dir = folder(files);
    const before = listing(dir);
    const r = run(dir, 'calico-first');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(msg);
    expect(listing(dir)).toEqual(before);
    expect(first(dir)).toBe('10-weave.conflist');
  });

  it('weave-first removes the copy, and is a no-op when there is none', () => {
    const dir = folder({ '05-calico.conflist': CALICO, '10-weave.conflist': WEAVE, '20-calico.conflist': CALICO });
    expect(run(dir, 'weave-first').code).toBe(0);
    expect(first(dir)).toBe('10-weave.conflist');
    expect(fs.existsSync(path.join(dir, '05-calico.conflist'))).toBe(false);
    expect(run(dir, 'weave-first')).toMatchObject({ code: 0 });
  });

  it('weave-first refuses to make a broken file first', () => {
    const dir = folder({ '05-calico.conflist': CALICO, '10-weave.conflist': '{"name":', '20-calico.conflist': CALICO });
    const r = run(dir, 'weave-first');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/would make the broken 10-weave.conflist first/);
    expect(first(dir)).toBe('05-calico.conflist');
  });

  it('weave-first refuses to leave the folder without any config', () => {
    const dir = folder({ '05-calico.conflist': CALICO });
    expect(run(dir, 'weave-first').err).toMatch(/would leave no CNI config/);
    expect(fs.existsSync(path.join(dir, '05-calico.conflist'))).toBe(true);
  });

  it('fails loudly when another file still sorts first', () => {
    const dir = folder({ '00-other.conf': '{"name":"o","type":"bridge"}', '10-weave.conflist': WEAVE, '20-calico.conflist': CALICO });
    const r = run(dir, 'calico-first');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/00-other.conf sorts before 05-calico.conflist/);
  });

  it('cleans up a temporary file left by an interrupted run, which the runtime ignores', () => {
    const dir = folder({ '10-weave.conflist': WEAVE, '20-calico.conflist': CALICO, '.05-calico.conflist.cni-migrate-tmp': CALICO.slice(0, 50) });
    expect(first(dir)).toBe('10-weave.conflist');
    expect(run(dir, 'calico-first').code).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['05-calico.conflist', '10-weave.conflist', '20-calico.conflist']);
  });

  it('calico-native drops the copy once Calico\'s own file under its final name is valid and first', () => {
    const dir = folder({ '05-calico.conflist': CALICO, '10-calico.conflist': CALICO, '10-weave.conflist': WEAVE });
    const r = { ...runInImage('busybox', readScript('node-switch.sh'), { CNI_DIR: dir, DESIRED: 'calico-native', CALICO_CONF: '10-calico.conflist', NODE_NAME: 'n1' }), status: 0 };
    r.status = r.code;
    expect(r.status).toBe(0);
    expect(first(dir)).toBe('10-calico.conflist');
  });

  it.each([
    ['missing', { '05-calico.conflist': CALICO, '10-weave.conflist': WEAVE }, /Calico's own 10-calico.conflist is missing/],
    ['broken', { '05-calico.conflist': CALICO, '10-calico.conflist': '{"name":"x"', '10-weave.conflist': WEAVE }, /is not a valid conflist/],
    ['not first', { '05-calico.conflist': CALICO, '07-other.conflist': WEAVE, '10-calico.conflist': CALICO }, /would make 07-other.conflist first, not Calico's own/],
  ])('calico-native keeps the copy when Calico\'s own file is %s', (_n, files, msg) => {
    const dir = folder(files);
    const r = { ...runInImage('busybox', readScript('node-switch.sh'), { CNI_DIR: dir, DESIRED: 'calico-native', CALICO_CONF: '10-calico.conflist', NODE_NAME: 'n1' }), status: 0 };
    r.status = r.code;
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(msg);
    expect(first(dir)).toBe('05-calico.conflist');
  });

  it('rejects an unknown desired state', () => {
    const dir = folder({ '10-weave.conflist': WEAVE });
    expect(run(dir, 'calico').err).toMatch(/DESIRED=calico; expected calico-first, weave-first or calico-native/);
  });
});
