/**
 * Raw reads of the Kubernetes API for snapshot and status. @kubernetes/client-node loads the
 * kubeconfig and applies its credentials (certificates, tokens, exec plugins); requests go out as
 * plain JSON so that every field is kept, including fields newer than the client's models.
 *
 * Lists are paged; 429, 5xx and timeouts are retried with backoff; an expired continue token
 * restarts the list; a 403 becomes an error that names the permission that is missing.
 */
import * as http from 'http';
import * as https from 'https';
import { KubeConfig } from '@kubernetes/client-node';

export interface ApiClientOptions {
  /**
   * Per-request timeout in milliseconds.
   * @default 30000
   */
  readonly timeoutMs?: number;
  /**
   * Attempts per request (the first included) on 429, 5xx and timeouts.
   * @default 6
   */
  readonly attempts?: number;
  /**
   * First backoff delay in milliseconds; it doubles per retry, up to 10 s.
   * @default 250
   */
  readonly backoffMs?: number;
  /**
   * Items per page of a list.
   * @default 500
   */
  readonly pageSize?: number;
  /**
   * Overall deadline in milliseconds for everything this client does, retries and backoff
   * included; past it every call fails with an ApiError that says so.
   * @default - none (each request still has its own timeout)
   */
  readonly deadlineMs?: number;
  /**
   * The largest response body accepted, in bytes; a larger one is cut off and fails the request
   * (a page of 500 pods is a few MiB).
   * @default 64 MiB
   */
  readonly maxResponseBytes?: number;
  /**
   * How often to say, while waiting for an answer, that we still wait.
   * @default 5000
   */
  readonly heartbeatMs?: number;
  /** Progress lines (to stderr in the CLI). */
  readonly progress?: (line: string) => void;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The API refused, or kept failing; `status` is the HTTP status (0: no response). */
export class ApiError extends Error {
  constructor(message: string, public readonly status: number, public readonly path: string, public readonly body?: unknown) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export class ApiClient {
  /** Load a kubeconfig (file, or the default chain: $KUBECONFIG, ~/.kube/config, in-cluster) and pick a context. */
  public static fromKubeconfig(file?: string, context?: string, opts: ApiClientOptions = {}): ApiClient {
    const kc = new KubeConfig();
    try {
      if (file) kc.loadFromFile(file);
      else kc.loadFromDefault();
    } catch (e) {
      throw new ApiError(`cannot load the kubeconfig${file ? ` ${file}` : ''}: ${(e as Error).message.split('\n')[0]}`, 0, '');
    }
    if (context) {
      if (!kc.getContexts().some((c) => c.name === context)) {
        throw new ApiError(`context ${JSON.stringify(context)} is not in the kubeconfig (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`, 0, '');
      }
      kc.setCurrentContext(context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new ApiError('the kubeconfig has no current cluster', 0, '');
    return new ApiClient(kc, cluster.server.replace(/\/+$/, ''), opts);
  }

  /** When the overall deadline passes (ms since the epoch); Infinity without one. */
  private readonly deadline: number;

  private constructor(private readonly kc: KubeConfig, private readonly server: string, private readonly opts: ApiClientOptions) {
    this.deadline = opts.deadlineMs ? Date.now() + opts.deadlineMs : Infinity;
  }

  /** GET a single object; undefined on 404. */
  public async get<T = any>(path: string): Promise<T | undefined> {
    const r = await this.request('GET', path);
    if (r.status === 404) return undefined;
    return parseBody(r, 'GET', path) as T;
  }

  /** GET a text answer (a pod's log); undefined on 404. */
  public async getText(path: string): Promise<string | undefined> {
    const r = await this.request('GET', path);
    return r.status === 404 ? undefined : String(r.body);
  }

  /** Every item of a list, across pages. `what` names it in progress lines. */
  public async list<T = any>(path: string, what: string): Promise<T[]> {
    let items: T[] = [];
    await this.eachPage<T>(path, what, (page) => items.push(...page), () => (items = []));
    return items;
  }

  /**
   * Feed each page of a list to `onPage` as it arrives (so a big list is never held whole);
   * `onRestart` is called when an expired continue token makes the list start over.
   */
  public async eachPage<T = any>(path: string, what: string, onPage: (items: T[]) => void, onRestart: () => void, pageSize = this.opts.pageSize ?? 500): Promise<number> {
    for (let restart = 0; ; restart++) {
      let count = 0;
      let token: string | undefined;
      let expired = false;
      // A server that hands out a continue token it gave before would page forever.
      const seen = new Set<string>();
      do {
        const sep = path.includes('?') ? '&' : '?';
        const r = await this.request('GET', `${path}${sep}limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`, undefined, token ? [410] : []);
        if (r.status === 410) {
          // The continue token expired (the list took longer than etcd keeps its revision): start over.
          expired = true;
          break;
        }
        const page = parseBody(r, 'GET', path) as { items?: T[]; metadata?: { continue?: string } };
        if (!page || typeof page !== 'object' || (page.items !== undefined && !Array.isArray(page.items))) {
          throw new ApiError(`GET ${path}: the answer is not a list (no items array)`, r.status, path);
        }
        onPage(page.items ?? []);
        count += page.items?.length ?? 0;
        token = page.metadata?.continue || undefined;
        if (token) {
          if (seen.has(token)) throw new ApiError(`listing ${what}: the API server returned a continue token it had returned before, after ${count} items; it would page forever`, r.status, path);
          seen.add(token);
        }
        if (token) this.opts.progress?.(`${what}: ${count} so far`);
      } while (token);
      if (!expired) {
        this.opts.progress?.(`${what}: ${count}`);
        return count;
      }
      onRestart();
      if (restart >= 2) throw new ApiError(`listing ${what} kept outliving its continue token (410 Gone); the API server compacts faster than the list pages: retry, or raise its --etcd-compaction-interval`, 410, path);
      this.opts.progress?.(`${what}: continue token expired; listing again from the start`);
    }
  }

  /** POST with `?dryRun=All`: nothing is created; returns the status and parsed body. */
  public async dryRunCreate(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const r = await this.request('POST', `${path}${path.includes('?') ? '&' : '?'}dryRun=All`, JSON.stringify(body), [400, 409, 422]);
    return { status: r.status, body: safeJson(r.body) };
  }

  private async request(method: string, path: string, body?: string, accept: number[] = []): Promise<Response> {
    const attempts = this.opts.attempts ?? 6;
    let delay = this.opts.backoffMs ?? 250;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.checkDeadline(method, path, last);
      let r: Response | undefined;
      try {
        r = await this.once(method, path, body);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        last = (e as Error).message;
      }
      if (r) {
        if ((r.status >= 200 && r.status < 300) || r.status === 404 || accept.includes(r.status)) return r;
        if (r.status === 403 || r.status === 401) throw forbidden(method, path, r);
        if (r.status !== 429 && r.status < 500) {
          throw new ApiError(`${method} ${path}: HTTP ${r.status}: ${statusMessage(r.body)}`, r.status, path, safeJson(r.body));
        }
        last = `HTTP ${r.status}: ${statusMessage(r.body)}`;
        const retryAfter = Number(r.headers['retry-after']);
        if (r.status === 429 && Number.isFinite(retryAfter) && retryAfter > 0) delay = Math.max(delay, Math.min(retryAfter * 1000, 30000));
      }
      if (attempt < attempts) {
        this.checkDeadline(method, path, last);
        delay = Math.max(0, Math.min(delay, this.deadline - Date.now()));
        this.opts.progress?.(`${method} ${path}: ${last}; retrying in ${delay} ms (attempt ${attempt + 1} of ${attempts})`);
        await new Promise((res) => setTimeout(res, delay));
        delay = Math.min(delay * 2, 10000);
      }
    }
    throw new ApiError(`${method} ${path}: gave up after ${attempts} attempts: ${last}`, 0, path);
  }

  private checkDeadline(method: string, path: string, last: string): void {
    if (Date.now() >= this.deadline) {
      throw new ApiError(`${method} ${path}: the deadline of ${Math.round(this.opts.deadlineMs! / 1000)} s passed${last ? ` (last: ${last})` : ''}`, 0, path);
    }
  }

  /**
   * One request, cut off at the request timeout or the overall deadline, whichever is first, however
   * slowly the answer trickles in (a socket timeout alone only measures idleness).
   */
  private async once(method: string, path: string, body?: string): Promise<Response> {
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) } };
    await this.kc.applyToHTTPSOptions(options);
    const url = new URL(this.server + path);
    const timeout = Math.max(1, Math.min(this.opts.timeoutMs ?? 30000, this.deadline - Date.now()));
    const max = this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const lib = url.protocol === 'http:' ? http : https;
    if (url.protocol === 'http:') delete options.agent;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let beat: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        clearInterval(beat);
      };
      const fail = (e: Error) => {
        done();
        reject(e);
      };
      const req = lib.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) {
            req.destroy();
            fail(new ApiError(`${method} ${path}: the answer is larger than ${max} bytes; refusing to hold it in memory`, res.statusCode ?? 0, path));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          done();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${timeout} ms`)), timeout);
      const every = this.opts.heartbeatMs ?? 5000;
      beat = setInterval(() => this.opts.progress?.(`${method} ${path}: still waiting for the answer (${Math.round((Date.now() - started) / 1000)} s)`), every);
      req.on('error', fail);
      if (body) req.write(body);
      req.end();
    });
  }
}

/** A 403 as an error naming the verb and resource that RBAC must allow. */
function forbidden(method: string, path: string, r: Response): ApiError {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/?]+))?\/([^/?]+)(?:\/([^/?]+))?/.exec(path);
  const verb = method === 'POST' ? 'create' : m?.[4] ? 'get' : 'list';
  const group = m?.[1] ? `.${m[1]}` : '';
  const where = m?.[2] ? `in namespace ${m[2]}` : 'at the cluster scope';
  const resource = m ? `${m[3]}${group}` : path;
  return new ApiError(`forbidden: the snapshot needs "${verb}" on ${resource} ${where} (HTTP ${r.status}: ${statusMessage(r.body)}); grant it, or run with a kubeconfig that has it`, r.status, path, safeJson(r.body));
}

function statusMessage(body: string): string {
  const j = safeJson(body) as { message?: string } | undefined;
  return (j?.message ?? body).slice(0, 300);
}

/** The JSON of a 2xx answer; anything else (an HTML error page from a proxy) is one ApiError. */
function parseBody(r: Response, method: string, path: string): unknown {
  try {
    return JSON.parse(r.body);
  } catch {
    const type = String(r.headers['content-type'] ?? 'no content type');
    throw new ApiError(`${method} ${path}: the answer is not JSON (HTTP ${r.status}, ${type}, ${r.body.length} bytes): is the kubeconfig pointing at an API server, or at a proxy or login page?`, r.status, path);
  }
}

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
