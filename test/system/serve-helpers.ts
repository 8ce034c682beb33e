/**
 * Helpers for the `eop serve` / `eop attach` system tests: spawn the built CLI, wait for its
 * "ready" line, read the URL it printed, open WebSocket clients, read /api/status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { WebSocket } from 'ws';
import { CLI } from './live-helpers.js';

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** The http:// URL from the ready line (serve), or ''. */
  url: string;
}

/** Starts `eop <args>` and resolves once it printed a line starting with "ready:". */
export async function startCli(args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<Proc> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`eop ${args.join(' ')} not ready after ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    const check = (): void => {
      if (/^ready: /m.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`eop ${args.join(' ')} exited (${code}) before ready:\n${out}\n${err}`));
    });
  });
  const url = /^ready: (http:\/\/\S+)/m.exec(out)?.[1] ?? '';
  return { child, stdout: () => out, stderr: () => err, exited, url };
}

/** SIGTERM and wait (SIGKILL after 10 s). */
export async function stopCli(p: Proc | undefined): Promise<number | null> {
  if (!p) return null;
  if (p.child.exitCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  const code = await p.exited;
  clearTimeout(t);
  return code;
}

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
