/**
 * A private containerd for tests: its own root, state, socket and CNI conf_dir/bin_dir in a
 * temporary folder, started and stopped by PID. No image is pulled; only the CRI status is used.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CriClient, type NetworkStatus } from './cri-client';

/** Why containerd cannot run here, or undefined when it can. */
export function containerdUnavailable(): string | undefined {
  if (spawnSync('containerd', ['--version']).status !== 0) return 'containerd is not installed (apt-get install containerd containernetworking-plugins; .ci/run does this)';
  if (process.getuid?.() !== 0) return 'containerd needs root';
  return undefined;
}

export class PrivateContainerd {
  public readonly dir: string;
  public readonly confDir: string;
  public readonly socket: string;
  private proc?: ChildProcess;
  private client?: CriClient;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ctrd-'));
    this.confDir = path.join(this.dir, 'netd');
    this.socket = path.join(this.dir, 'containerd.sock');
    fs.mkdirSync(this.confDir);
    const binDir = ['/usr/lib/cni', '/opt/cni/bin'].find((d) => fs.existsSync(d)) ?? '/usr/lib/cni';
    fs.writeFileSync(path.join(this.dir, 'config.toml'), `version = 2
root = "${this.dir}/root"
state = "${this.dir}/state"
[grpc]
  address = "${this.socket}"
[ttrpc]
  address = "${this.socket}.ttrpc"
[debug]
  level = "debug"
[plugins."io.containerd.internal.v1.opt"]
  path = "${this.dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${binDir}"
    conf_dir = "${this.confDir}"
    max_conf_num = 1
`);
  }

  async start(): Promise<string> {
    const log = fs.openSync(path.join(this.dir, 'containerd.log'), 'a');
    this.proc = spawn('containerd', ['--config', path.join(this.dir, 'config.toml')], { stdio: ['ignore', log, log] });
    const until = Date.now() + 15000;
    while (!fs.existsSync(this.socket)) {
      if (Date.now() > until || this.proc.exitCode !== null) throw new Error(`containerd did not start:\n${this.log().slice(-2000)}`);
      await sleep(50);
    }
    this.client = new CriClient(this.socket);
    for (;;) {
      try {
        return await this.client.version();
      } catch (e) {
        if (Date.now() > until) throw e;
        await sleep(100);
      }
    }
  }

  status(): Promise<NetworkStatus> {
    return this.client!.status();
  }

  /** Poll Status until `want(status)`; returns the milliseconds it took, or throws at the timeout. */
  async waitFor(want: (s: NetworkStatus) => boolean, timeoutMs = 5000): Promise<{ ms: number; status: NetworkStatus }> {
    const t0 = Date.now();
    let last: NetworkStatus | undefined;
    while (Date.now() - t0 < timeoutMs) {
      last = await this.status();
      if (want(last)) return { ms: Date.now() - t0, status: last };
      await sleep(20);
    }
    throw new Error(`containerd status stayed ${JSON.stringify(last)} for ${timeoutMs} ms`);
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'containerd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    this.client?.close();
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc!.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    spawnSync('umount', ['-R', path.join(this.dir, 'state')], { stdio: 'ignore' });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
