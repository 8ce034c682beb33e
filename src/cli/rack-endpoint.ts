/**
 * Reaching a running rack's control endpoint, for `eop status` and `eop fault`: the target is a
 * URL (`http://127.0.0.1:8080`), a rack name, or nothing: the only rack running on this machine
 * (found in the rack registry: `eop serve` by its URL, `eop up` by its unix socket), else
 * http://127.0.0.1:8080. Several racks and no name: refused, naming them.
 */
import { request } from 'node:http';
import { runningRacks } from './rack-registry.js';

export interface Endpoint {
  url?: string;
  socketPath?: string;
}

/** The endpoint of `target`, or why there is none (a sentence without the command's name, and the exit code). */
export function findRackEndpoint(target: string | undefined, cmd: string): { where: Endpoint } | { error: string; exit: number } {
  if (target && /^https?:\/\//.test(target)) return { where: { url: target } };
  if (target && /^wss?:\/\//.test(target)) return { where: { url: target.replace(/^ws/, 'http') } };
  const racks = runningRacks().filter((r) => !target || r.rack === target);
  if (racks.length > 1) {
    return { error: `${racks.length} racks are running (${racks.map((r) => `"${r.rack}" pid ${r.pid}`).join(', ')}); name one: ${cmd}`, exit: 2 };
  }
  const r = racks[0];
  if (!r && target) return { error: `no running rack named "${target}" (give a URL for a rack on another machine)`, exit: 2 };
  if (r && !r.statusUrl && !r.statusSocket) return { error: `rack "${r.rack}" (pid ${r.pid}) has no control endpoint (an older eop?)`, exit: 1 };
  return { where: r ? (r.statusUrl ? { url: r.statusUrl } : { socketPath: r.statusSocket! }) : { url: 'http://127.0.0.1:8080' } };
}

/** One HTTP request over TCP (url) or a unix socket; resolves with status and body, rejects with a sentence. */
export function httpRequest(
  target: Endpoint,
  method: 'GET' | 'POST',
  path: string,
  token: string | null,
  timeoutMs: number,
  json?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = target.url ? new URL(path, target.url) : null;
    const payload = json === undefined ? null : Buffer.from(JSON.stringify(json));
    const req = request(
      {
        ...(u ? { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || 80, path: u.pathname + u.search } : { socketPath: target.socketPath, path }),
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e));
    req.end(payload ?? undefined);
  });
}
