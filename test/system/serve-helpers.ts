/**
 * Helpers for the `eop serve` / `eop attach` system tests: open WebSocket clients, read
 * /api/status, wait for a condition (spawning the CLI is live-helpers.ts's startCli).
 */
import { WebSocket } from 'ws';
export { startCli, stopCli, type Proc } from './live-helpers.js';

export interface Opened {
  ws: WebSocket;
  /** Close code and reason once closed. */
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a WebSocket; resolves when open, rejects with the HTTP status when refused. */
export function openWs(url: string, opts: { headers?: Record<string, string>; origin?: string; autoPong?: boolean } = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: opts.headers ?? {},
      ...(opts.origin ? { origin: opts.origin } : {}),
      ...(opts.autoPong === false ? { autoPong: false } : {}),
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', (e) => reject(e));
  });
}

export async function getStatus(base: string, token?: string): Promise<StatusLike> {
  const r = await fetch(`${base}/api/status`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (!r.ok) throw new Error(`status: HTTP ${r.status}`);
  return (await r.json()) as StatusLike;
}

export interface StatusLike {
  rack: string;
  mode: string;
  live: { behindNow: boolean; lateBatches: number; batches: number };
  server?: { refused: Record<string, number> };
  hosts: {
    name: string;
    attach: string;
    txFrames: number;
    rxFrames: number;
    drops: Record<string, number>;
    queuePairs: { peer: string; state: string; txFrames: number }[];
    ws: { held: boolean; clientMac: string | null; claims: number; refusedClaims: number; services: Record<string, number> | null } | null;
  }[];
}

export const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true (or throws after timeoutMs). */
export async function until(fn: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleepMs(50);
  }
}
