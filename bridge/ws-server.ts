/**
 * The HTTP + WebSocket server of `eop serve` (and the status endpoint of `eop up`):
 *
 *   GET  /                    the dashboard page (www/index.html, app.js, guest.js, style.css)
 *   GET  /api/status          the rack's status as JSON (rack-status.ts)
 *   GET/POST /api/faults      the fault log; inject a fault (fault-endpoint.ts)
 *   WS   /hosts/<name>        attach as that host's interface (attach: websocket hosts; ws-port.ts)
 *   WS   /uplink[/<name>]     another rack's uplink (attach: uplink hosts; the first if no name)
 *
 * Security, in the order a request meets it:
 * 1. Binding anywhere but loopback needs a token (`listen` refuses without one, ERR_USAGE).
 * 2. With a token, every request (page, status, WebSocket) must present it: `Authorization: Bearer
 *    <token>` or `?token=<token>`; otherwise 401. Compared in constant time.
 * 3. A request carrying an `Origin` header (a browser) must come from this server's own origin or
 *    one on the allow-list; otherwise 403. Scripts (no Origin) rely on the token.
 * 4. Unknown host 404; a host that is not `attach: websocket` (or not an uplink) 409.
 * 5. A host another client holds: the holder is pinged first (ws-holder-probe.ts). If it answers
 *    within `reclaimWaitMs` (default 2 s), the newcomer's WebSocket opens and is closed at once with
 *    4409 and the reason (who holds it, since when). If it does not (a client reconnecting while
 *    its old connection lingers half-open), the old connection is evicted (closed with 4408 and
 *    "evicted: ...", then terminated) and the newcomer gets the host, and the learned MAC.
 *    Liveness decides, not identity (a MAC or any other claim a client makes can be forged): a
 *    holder that answers is never displaced, and a dead one never blocks its host for longer than
 *    the probe. Claims arriving while a probe runs wait for the same probe.
 * Per connection: maxPayload = MTU + 18 (a larger message closes the connection with 1009 and is
 * counted as ERR_FRAME_TOO_LONG); the limits and drops of ws-port.ts.
 * Keepalive: every `keepaliveMs` (default 10 s) each connection is pinged; one that has not answered
 * the previous ping is terminated and its host released, so a dead client (machine gone, network
 * cut) holds its host at most 2 × keepaliveMs (20 s by default). A clean close releases at once.
 * A client that reconnects gets its host back: at once after a clean close, within `reclaimWaitMs`
 * if its old connection lingers (5. above), keeping the learned MAC.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { EopError, ErrorCode } from '../src/errors.js';
import { answersPing, MIN_PROBE_WAIT_MS } from './ws-holder-probe.js';
import { serveFaults, type FaultEndpoint } from './fault-endpoint.js';
import { WsClose, WsDrop, type WsPort } from './ws-port.js';

export interface RackServerOptions {
  /** Address to bind (default 127.0.0.1). A unix socket path binds there instead (status only). */
  host?: string;
  port?: number;
  socketPath?: string;
  token?: string | null;
  /** Origins allowed besides the server's own, e.g. "http://localhost:3000". */
  allowOrigins?: string[];
  keepaliveMs?: number;
  /** How long a held host's holder has to answer a ping when another client claims it (default 2000). */
  reclaimWaitMs?: number;
  /** The JSON for /api/status. */
  status: () => unknown;
  /** Faults on request at /api/faults (none: 404). */
  faults?: FaultEndpoint;
  /** WebSocket ports by host name (none for a status-only server). */
  ports?: Map<string, WsPort>;
  /** Serve the page from here (null: no page). */
  staticDir?: string | null;
}

/** Why requests were refused, counted (shown in the status). */
export class ServerCounters {
  unauthorized = 0;
  badOrigin = 0;
  notFound = 0;
  notWebSocket = 0;
  heldRefused = 0;
  deadClients = 0;
  /** Holders closed because they did not answer a ping while another client claimed their host. */
  evicted = 0;
  connections = 0;
}

const STATIC_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/guest.js': 'guest.js',
  '/style.css': 'style.css',
};
const MIME: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A close reason is at most 123 bytes (RFC 6455 5.5: control frames carry ≤ 125, 2 are the code). */
function closeReason(s: string): string {
  const b = Buffer.from(s);
  return b.length <= 123 ? s : b.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '') + '...';
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

interface Alive {
  alive: boolean;
}

export const DEFAULT_RECLAIM_WAIT_MS = 2_000;
/** An evicted connection gets this long to complete the close handshake before it is cut. */
const EVICT_GRACE_MS = 1_000;

export class RackServer {
  readonly c = new ServerCounters();
  private readonly http: Server;
  private readonly wss = new Map<string, WebSocketServer>();
  private readonly live = new Map<WebSocket, Alive>();
  private readonly holders = new Map<WsPort, WebSocket>();
  private readonly probes = new Map<WsPort, Promise<boolean>>();
  private readonly reclaimWaitMs: number;
  private keepalive: NodeJS.Timeout | undefined;
  private readonly tokenDigest: Buffer | null;
  private readonly files = new Map<string, Buffer>();
  /** The address bound (after listen). */
  url = '';

  constructor(private readonly o: RackServerOptions) {
    this.tokenDigest = o.token ? digest(o.token) : null;
    this.reclaimWaitMs = Math.max(MIN_PROBE_WAIT_MS, o.reclaimWaitMs ?? DEFAULT_RECLAIM_WAIT_MS);
    for (const [name, port] of o.ports ?? []) {
      // One server per port: its maxPayload is that host's largest frame.
      this.wss.set(name, new WebSocketServer({ noServer: true, maxPayload: port.nic.mtu + 18, perMessageDeflate: false, clientTracking: false }));
    }
    if (o.staticDir) {
      for (const f of new Set(Object.values(STATIC_FILES))) this.files.set(f, readFileSync(join(o.staticDir, f)));
    }
    this.http = createServer(this.onRequest);
    this.http.on('upgrade', this.onUpgrade);
  }

  /** Starts listening; refuses a non-loopback bind without a token. */
  async listen(): Promise<string> {
    const host = this.o.host ?? '127.0.0.1';
    if (!this.o.socketPath && !isLoopbackHost(host) && !this.o.token) {
      throw new EopError(
        ErrorCode.USAGE,
        `binding to ${host} (not loopback) needs a token: give --token <secret> or set EOP_TOKEN; every client must then present it`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      if (this.o.socketPath) this.http.listen(this.o.socketPath, resolve);
      else this.http.listen(this.o.port ?? 8080, host, resolve);
    });
    const a = this.http.address();
    this.url = typeof a === 'string' ? `unix:${a}` : `http://${a!.family === 'IPv6' ? `[${a!.address}]` : a!.address}:${a!.port}`;
    const every = this.o.keepaliveMs ?? 10_000;
    this.keepalive = setInterval(this.onKeepalive, every);
    this.keepalive.unref();
    return this.url;
  }

  async close(): Promise<void> {
    if (this.keepalive) clearInterval(this.keepalive);
    for (const ws of this.live.keys()) ws.close(WsClose.GOING_AWAY, 'the rack is stopping');
    for (const ws of this.live.keys()) ws.terminate();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections?.();
    });
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    if (!this.tokenDigest) return true;
    const h = req.headers.authorization;
    const given = h?.startsWith('Bearer ') ? h.slice(7) : url.searchParams.get('token');
    return given !== null && given !== undefined && timingSafeEqual(digest(given), this.tokenDigest);
  }

  private originOk(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.o.allowOrigins?.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  /** Common checks; returns [status, reason] to refuse with, or null. */
  private check(req: IncomingMessage, url: URL): [number, string] | null {
    if (!this.authorized(req, url)) {
      this.c.unauthorized++;
      return [401, 'a token is required (Authorization: Bearer <token> or ?token=)'];
    }
    if (!this.originOk(req)) {
      this.c.badOrigin++;
      return [403, `origin ${req.headers.origin} is not allowed (add it with --allow-origin)`];
    }
    return null;
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refuse = this.check(req, url);
    const send = (code: number, type: string, body: string | Buffer): void => {
      res.writeHead(code, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:",
      });
      res.end(body);
    };
    if (refuse) return send(refuse[0], 'text/plain; charset=utf-8', refuse[1] + '\n');
    if (url.pathname === '/api/faults' && this.o.faults) return serveFaults(this.o.faults, req, send);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'only GET\n');
    if (url.pathname === '/api/status') {
      return send(200, 'application/json', JSON.stringify({ ...(this.o.status() as object), server: this.serverStatus() }));
    }
    const file = STATIC_FILES[url.pathname];
    const body = file ? this.files.get(file) : undefined;
    if (file && body) return send(200, MIME[file.split('.').pop()!]!, body);
    this.c.notFound++;
    send(404, 'text/plain; charset=utf-8', `nothing at ${url.pathname}\n`);
  };

  serverStatus(): { url: string; keepaliveMs: number; reclaimWaitMs: number; tokenRequired: boolean; refused: ServerCounters; connectionsOpen: number } {
    return { url: this.url, keepaliveMs: this.o.keepaliveMs ?? 10_000, reclaimWaitMs: this.reclaimWaitMs, tokenRequired: this.tokenDigest !== null, refused: this.c, connectionsOpen: this.live.size };
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const reject = (code: number, text: string, reason: string): void => {
      socket.end(`HTTP/1.1 ${code} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n\r\n${reason}\n`);
      socket.destroy();
    };
    const refuse = this.check(req, url);
    if (refuse) return reject(refuse[0], refuse[0] === 401 ? 'Unauthorized' : 'Forbidden', refuse[1]);
    const m = /^\/(hosts|uplink)(?:\/([^/]+))?\/?$/.exec(url.pathname);
    const ports = this.o.ports ?? new Map<string, WsPort>();
    let name = m?.[2] ? decodeURIComponent(m[2]) : undefined;
    if (m?.[1] === 'uplink' && name === undefined) name = [...ports.values()].find((p) => p.kind === 'uplink')?.host;
    const port = name !== undefined ? ports.get(name) : undefined;
    if (!m || !port) {
      this.c.notFound++;
      const known = (kind: 'host' | 'uplink'): string => [...ports.values()].filter((p) => p.kind === kind).map((p) => p.host).join(', ');
      const why = !m
        ? 'WebSocket endpoints are /hosts/<name> and /uplink[/<name>]'
        : m[1] === 'uplink'
          ? `no uplink${name ? ` "${name}"` : ''} in this rack; its uplinks (hosts with attach: uplink): ${known('uplink') || 'none (serve it with --uplink)'}`
          : `no WebSocket host${name ? ` "${name}"` : ''} in this rack; its WebSocket hosts (attach: websocket): ${known('host') || 'none'}`;
      return reject(404, 'Not Found', why);
    }
    if ((m[1] === 'hosts') !== (port.kind === 'host')) {
      this.c.notWebSocket++;
      return reject(409, 'Conflict', `${name} is ${port.kind === 'uplink' ? 'an uplink (connect to /uplink)' : 'a WebSocket host (connect to /hosts/' + name + ')'}`);
    }
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const open = (probed: boolean): void => this.wss.get(name!)!.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, port, remote, probed, socket));
    const holder = this.holders.get(port);
    if (!holder) return open(false);
    void this.probeHolder(port, holder, remote).then(() => open(true));
  };

  /** Pings the holder of `port` (one probe per port at a time); evicts it if it does not answer. */
  private probeHolder(port: WsPort, holder: WebSocket, claimant: string): Promise<boolean> {
    let probe = this.probes.get(port);
    if (!probe) {
      probe = answersPing(holder, this.reclaimWaitMs).then((alive) => {
        this.probes.delete(port);
        if (!alive && this.holders.get(port) === holder) this.evict(port, holder, claimant);
        return alive;
      });
      this.probes.set(port, probe);
    }
    return probe;
  }

  private evict(port: WsPort, holder: WebSocket, claimant: string): void {
    this.c.evicted++;
    this.holders.delete(port);
    this.live.delete(holder);
    port.release(holder);
    holder.close(WsClose.DEAD, closeReason(`evicted: no answer to a ping within ${this.reclaimWaitMs} ms while ${claimant} claimed ${port.host}`));
    setTimeout(() => holder.terminate(), EVICT_GRACE_MS).unref();
  }

  private onConnection(ws: WebSocket, port: WsPort, remote: string, probed: boolean, socket: Duplex): void {
    const why = port.claim(ws, remote, socket);
    if (why) {
      this.c.heldRefused++;
      ws.close(WsClose.HELD, closeReason(probed ? `${why}; it answered a ping` : why));
      return;
    }
    this.c.connections++;
    const state: Alive = { alive: true };
    this.live.set(ws, state);
    this.holders.set(port, ws);
    ws.on('pong', () => (state.alive = true));
    ws.on('message', (data: Buffer, isBinary: boolean) => port.fromClient(ws, data, isBinary));
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') port.drops.add(ErrorCode.FRAME_TOO_LONG);
      else port.drops.add(WsDrop.PROTOCOL);
    });
    ws.on('close', () => {
      this.live.delete(ws);
      if (this.holders.get(port) === ws) this.holders.delete(port);
      port.release(ws);
    });
  }

  private readonly onKeepalive = (): void => {
    for (const [ws, st] of this.live) {
      if (!st.alive) {
        this.c.deadClients++;
        ws.terminate(); // 'close' follows and releases the host
        continue;
      }
      st.alive = false;
      ws.ping();
    }
  };
}

/** The page's directory (bridge/www), from the source tree or next to dist/; null if missing. */
export function findStaticDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    for (const c of [join(dir, 'www'), join(dir, 'bridge', 'www')]) if (existsSync(join(c, 'index.html'))) return c;
    dir = dirname(dir);
  }
  return null;
}
