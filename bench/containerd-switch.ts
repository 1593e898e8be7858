/**
 * Time from the switch script's start until containerd reports the new network over CRI Status,
 * against a private containerd. Prints nothing but a note when containerd cannot run here.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { containerdUnavailable, PrivateContainerd } from '../test/support/cri/containerd';
import { readScript } from '../src/scripts/read-script';
import { middle } from './measure';

const WEAVE = '{"cniVersion":"0.3.0","name":"weave","plugins":[{"name":"weave","type":"weave-net","hairpinMode":true},{"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}\n';
const CALICO = '{"name":"k8s-pod-network","cniVersion":"0.3.1","plugins":[{"type":"calico","datastore_type":"kubernetes","mtu":1480,"ipam":{"type":"calico-ipam"},"policy":{"type":"k8s"}},{"type":"portmap","snat":true,"capabilities":{"portMappings":true}}]}\n';

export async function benchContainerdSwitch(runs: number): Promise<void> {
  const why = containerdUnavailable();
  if (why) {
    console.log(`containerd switch: not measured: ${why}`);
    return;
  }
  const shell = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
  const ctrd = new PrivateContainerd();
  try {
    fs.writeFileSync(path.join(ctrd.confDir, '10-weave.conflist'), WEAVE);
    fs.writeFileSync(path.join(ctrd.confDir, '20-calico.conflist'), CALICO);
    await ctrd.start();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (const [desired, network] of [['calico-first', 'k8s-pod-network'], ['weave-first', 'weave']] as const) {
        const t0 = process.hrtime.bigint();
        const child = spawn(shell ?? 'sh', [...(shell ? ['sh'] : []), '-c', readScript('node-switch.sh')], {
          env: { PATH: process.env.PATH, CNI_DIR: ctrd.confDir, DESIRED: desired, NODE_NAME: 'bench' },
          stdio: 'ignore',
        });
        await ctrd.waitFor((s) => s.network === network, 5000);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
        if (desired === 'calico-first') times.push(ms);
      }
    }
    console.log(`containerd switch (script start → CRI Status reports Calico), ${times.length} runs: median ${middle(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (goal < 1000 ms)`);
  } finally {
    await ctrd.stop();
  }
}
