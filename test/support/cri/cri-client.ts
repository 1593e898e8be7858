/**
 * A small CRI client over containerd's unix socket: which CNI network the runtime loaded.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface NetworkStatus {
  /** NetworkReady condition. */
  readonly ready: boolean;
  /** `name` of the loaded conflist (cni-loopback excluded), or undefined when none loaded. */
  readonly network?: string;
  /** lastCNILoadStatus: "OK" or the load error. */
  readonly loadStatus?: string;
}

type Unary<Req, Res> = (req: Req, opts: { deadline: number }, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

export class CriClient {
  private readonly client: grpc.Client & {
    Version: Unary<object, { runtimeName: string; runtimeVersion: string }>;
    Status: Unary<{ verbose: boolean }, { status?: { conditions?: { type: string; status: boolean }[] }; info?: Record<string, string> }>;
  };

  constructor(socket: string) {
    const def = protoLoader.loadSync(protoPath(), { keepCase: false, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    this.client = new pkg.runtime.v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  close(): void {
    this.client.close();
  }

  version(): Promise<string> {
    return new Promise((resolve, reject) =>
      this.client.Version({}, { deadline: Date.now() + 3000 }, (err, res) => (err ? reject(err) : resolve(`${res.runtimeName} ${res.runtimeVersion}`))),
    );
  }

  status(): Promise<NetworkStatus> {
    return new Promise((resolve, reject) =>
      this.client.Status({ verbose: true }, { deadline: Date.now() + 3000 }, (err, res) => {
        if (err) return reject(err);
        const ready = !!res.status?.conditions?.find((c) => c.type === 'NetworkReady')?.status;
        let network: string | undefined;
        try {
          const cni = JSON.parse(res.info?.cniconfig ?? '{}') as { Networks?: { Config?: { Name?: string } }[] };
          network = (cni.Networks ?? []).map((n) => n.Config?.Name).find((n) => n && n !== 'cni-loopback');
        } catch {
          network = undefined;
        }
        let loadStatus = res.info?.lastCNILoadStatus;
        try {
          if (loadStatus) loadStatus = JSON.parse(loadStatus);
        } catch {
          // Older containerd returns it as a plain string.
        }
        resolve({ ready, network, loadStatus });
      }),
    );
  }
}

/** The proto beside this file in the source tree (also when this file runs compiled from build/). */
function protoPath(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'test', 'support', 'cri', 'runtime-min.proto');
    if (fs.existsSync(path.join(__dirname, 'runtime-min.proto'))) return path.join(__dirname, 'runtime-min.proto');
    if (fs.existsSync(p)) return p;
    if (path.dirname(dir) === dir) throw new Error('runtime-min.proto not found');
  }
}
