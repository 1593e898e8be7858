/**
 * The synthesized switch Job's script against a real containerd (Debian's package): containerd's
 * CRI Status must report Weave before, Calico after, Weave again after the revert, without a
 * restart; and a broken Calico file must make the script refuse while containerd stays on Weave.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { containerdUnavailable, PrivateContainerd } from './support/cri/containerd';
import { runScript, WEAVE_CONFLIST } from './support/gitops-simulator';
import { switchStepOf, type SwitchStep } from './support/jobs';
import { requirePeer } from './support/peers';
import { cli, demoWorkspace, setStep } from './support/workspace';

const why = containerdUnavailable();
const haveContainerd = requirePeer(!why, `a private containerd (${why ?? ''})`, 'the real-containerd tests');

(haveContainerd ? describe : describe.skip)('switch Job against a real containerd', () => {
  let ctrd: PrivateContainerd;
  let toCalico: SwitchStep;
  let toWeave: SwitchStep;
  let calicoConflist: string;

  beforeAll(async () => {
    const ws = demoWorkspace();
    setStep(ws, 'nodes-1');
    expect((await cli(ws, 'synth')).code).toBe(0);
    toCalico = switchStepOf(ws.dist, 'worker-1', 'calico-first');
    // What install-cni writes from the synthesized calico-config.
    const cm = YAML.parse(fs.readFileSync(path.join(ws.dist, '10-calico', 'configmap-kube-system-calico-config.yaml'), 'utf8'));
    calicoConflist = cm.data.cni_network_config.replace('__KUBERNETES_NODE_NAME__', 'worker-1').replace('__CNI_MTU__', '1480').replace('__KUBECONFIG_FILEPATH__', '/etc/cni/net.d/calico-kubeconfig');
    setStep(ws, 'policies-suspended');
    expect((await cli(ws, 'synth')).code).toBe(0);
    toWeave = switchStepOf(ws.dist, 'worker-1', 'weave-first');
  });

  beforeEach(async () => {
    ctrd = new PrivateContainerd();
    fs.writeFileSync(path.join(ctrd.confDir, '10-weave.conflist'), WEAVE_CONFLIST);
    fs.writeFileSync(path.join(ctrd.confDir, '20-calico.conflist'), calicoConflist);
    await ctrd.start();
  }, 30000);

  afterEach(async () => {
    await ctrd.stop();
  });

  const run = (step: SwitchStep) => runScript(step.script, { ...step.env, CNI_DIR: ctrd.confDir });

  it('loads Weave, then Calico after the switch, then Weave after the revert, without a restart', async () => {
    expect((await ctrd.waitFor((s) => s.network !== undefined)).status).toMatchObject({ ready: true, network: 'weave' });

    const sw = run(toCalico);
    expect(sw.code).toBe(0);
    const calico = await ctrd.waitFor((s) => s.network === 'k8s-pod-network');
    expect(calico.status.ready).toBe(true);

    const back = run(toWeave);
    expect(back.code).toBe(0);
    expect((await ctrd.waitFor((s) => s.network === 'weave')).status.ready).toBe(true);
    // The same containerd process answered throughout, and it saw the rename (not a create).
    expect(ctrd.log()).toMatch(/RENAME|REMOVE/);
  }, 30000);

  it('refuses a broken Calico file, and containerd stays on Weave', async () => {
    await ctrd.waitFor((s) => s.network === 'weave');
    fs.writeFileSync(path.join(ctrd.confDir, '20-calico.conflist'), calicoConflist.slice(0, 100));
    const r = run(toCalico);
    expect(r.code).not.toBe(0);
    expect(r.log).toMatch(/not a valid conflist.*Refusing to switch/);
    // Give containerd time to react to anything the script might have done.
    await new Promise((res) => setTimeout(res, 300));
    expect(await ctrd.status()).toMatchObject({ ready: true, network: 'weave' });
    expect(fs.readdirSync(ctrd.confDir).sort()).toEqual(['10-weave.conflist', '20-calico.conflist']);
  }, 30000);
});
