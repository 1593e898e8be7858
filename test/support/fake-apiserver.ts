/**
 * A local HTTP server that answers like the Kubernetes API for the paths snapshot and status
 * read, from recorded objects: paged lists (continue tokens, a server-side page cap), 404s, and
 * injectable faults (403, 429 with Retry-After, 5xx, an expired continue token, slow answers).
 * Loopback only; every request is logged.
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';

type Obj = Record<string, any>;

export interface Faults {
  /** Paths (without query) answered 403. */
  forbidden?: string[];
  /** Path → how many first requests get 429 (with Retry-After: 1). */
  tooManyRequests?: Record<string, number>;
  /** Path → how many first requests get 500. */
  serverErrors?: Record<string, number>;
  /** Paths whose first continued page answers 410 Gone. */
  expireContinueOnce?: string[];
  /** Path → delay in ms of the first answer. */
  slowOnce?: Record<string, number>;
  /** Paths answered 200 with headers, then one byte a second, never finishing (for up to 60 s). */
  trickle?: string[];
  /** Paths that never answer at all (for up to 60 s). */
  silent?: string[];
  /** Paths whose every page carries the same continue token. */
  repeatContinue?: string[];
  /** Paths answered 200 with an HTML page, as a login proxy would. */
  html?: string[];
  /** Path → size in bytes of a 200 answer made of spaces and one JSON object at its end. */
  huge?: Record<string, number>;
}

export class FakeApiServer {
  public readonly requests: string[] = [];
  private readonly lists = new Map<string, Obj[]>();
  private readonly objects = new Map<string, Obj>();
  private readonly texts = new Map<string, string>();
  private server?: http.Server;
  private counts = new Map<string, number>();
  private expired = new Set<string>();
  /** No page holds more than this many items, whatever the client's limit. */
  public pageCap = 7;
  public faults: Faults = {};
  /** Answer 401 to requests without the kubeconfig's bearer token (kubectl sends none over plain http). */
  public requireToken = true;
  /** Answer to POST .../services?dryRun=All. */
  public serviceProbeMessage = 'Service "cni-migrate-service-cidr-probe" is invalid: spec.clusterIPs: Invalid value: []string{"0.0.0.1"}: failed to allocate IP 0.0.0.1: the provided IP (0.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12';

  /** Serve `items` as the list at `listPath` (query included, e.g. ?labelSelector=...). */
  /** The items served at `listPath` (what setList put there). */
  getList(listPath: string): Obj[] {
    return [...(this.lists.get(listPath) ?? [])];
  }

  setList(listPath: string, items: Obj[]): void {
    this.lists.set(listPath, items);
  }

  /** Serve `text` as text/plain at `textPath` (query included, e.g. a pod log's ?container=...). */
  setText(textPath: string, text: string): void {
    this.texts.set(textPath, text);
  }

  /** Serve `obj` at `objPath`; undefined removes it (404). */
  setObject(objPath: string, obj: Obj | undefined): void {
    if (obj) this.objects.set(objPath, obj);
    else this.objects.delete(objPath);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A kubeconfig file for this server with a bearer token. */
  writeKubeconfig(dir: string, url: string): string {
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(file, `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${url}
    insecure-skip-tls-verify: true
users:
- name: tester
  user:
    token: test-token
contexts:
- name: fake
  context:
    cluster: fake
    user: tester
current-context: fake
`);
    return file;
  }

  private count(key: string): number {
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const status = (code: number, reason: string, message: string) => send(code, { apiVersion: 'v1', kind: 'Status', status: 'Failure', reason, message, code });
    if (this.requireToken && req.headers.authorization !== 'Bearer test-token') return status(401, 'Unauthorized', 'Unauthorized');
    const p = url.pathname;
    const f = this.faults;
    const n = this.count(p);
    if (f.slowOnce?.[p] && n === 1) await new Promise((r) => setTimeout(r, f.slowOnce![p]));
    if (f.silent?.includes(p)) {
      const t = setTimeout(() => res.destroy(), 60000);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (f.trickle?.includes(p)) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let sent = 0;
      const t = setInterval(() => (++sent > 60 ? (clearInterval(t), res.destroy()) : res.write(' ')), 1000);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (f.html?.includes(p)) {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html><body>Please sign in</body></html>');
      return;
    }
    if (f.huge?.[p]) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1 << 20, ' ');
      let left = f.huge[p];
      const pump = () => {
        while (left > 0) {
          left -= chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('{}');
      };
      res.on('error', () => undefined);
      pump();
      return;
    }
    if (f.forbidden?.includes(p)) return status(403, 'Forbidden', `${p} is forbidden: User "tester" cannot do that`);
    if ((f.tooManyRequests?.[p] ?? 0) >= n) return send(429, { kind: 'Status', reason: 'TooManyRequests', message: 'too many requests, please try again later', code: 429 }, { 'Retry-After': '1' });
    if ((f.serverErrors?.[p] ?? 0) >= n) return status(500, 'InternalError', 'etcdserver: request timed out');

    if (req.method === 'POST' && /\/services$/.test(p) && url.searchParams.get('dryRun') === 'All') {
      return status(422, 'Invalid', this.serviceProbeMessage);
    }
    const listKey = `${p}${url.search.replace(/[?&](limit|continue)=[^&]*/g, '').replace(/^&/, '?')}`;
    const items = this.lists.get(listKey) ?? this.lists.get(p);
    if (req.method === 'GET' && items) {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? items.length) || items.length, this.pageCap);
      const token = url.searchParams.get('continue');
      if (token && f.expireContinueOnce?.includes(p) && !this.expired.has(p)) {
        this.expired.add(p);
        return status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
      }
      const start = token ? Number(Buffer.from(token, 'base64').toString()) : 0;
      const page = items.slice(start, start + limit);
      const next = f.repeatContinue?.includes(p) ? 'c2FtZQ==' : start + limit < items.length ? Buffer.from(String(start + limit)).toString('base64') : undefined;
      return send(200, { apiVersion: page[0]?.apiVersion ?? 'v1', kind: page[0]?.kind ? `${page[0].kind}List` : 'List', metadata: { resourceVersion: '1000', ...(next ? { continue: next } : {}) }, items: page });
    }
    const text = this.texts.get(`${p}${url.search}`);
    if (req.method === 'GET' && text !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(text);
      return;
    }
    const obj = this.objects.get(p);
    if (req.method === 'GET' && obj) return send(200, obj);
    return status(404, 'NotFound', `${p} not found`);
  }
}

let uid = 0;
/** `obj` as the API server returns it: with uid, resourceVersion, managedFields, status… */
export function withServerFields(obj: Obj): Obj {
  uid++;
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: `00000000-0000-0000-0000-${String(uid).padStart(12, '0')}`,
      resourceVersion: String(1000 + uid),
      generation: 1,
      creationTimestamp: '2024-05-01T10:00:00Z',
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: obj.apiVersion, time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
      annotations: { ...(obj.metadata.annotations ?? {}), 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(obj) },
    },
    status: {},
  };
}
