/**
 * `eop attach`: the client side of a rack's WebSocket endpoints.
 *
 * - `UplinkSplice` joins two racks: it connects to both racks' `/uplink` and relays every binary
 *   message (one Ethernet frame) from each to the other, unmodified: an Ethernet cable between the
 *   racks' uplink ports. Each rack's uplink port learns the MACs behind it (ws-port.ts). Back-
 *   pressure: when one side has more than `maxBufferedBytes` unsent, reading from the other pauses
 *   until it drains (checked every few ms), so the relay never queues without bound.
 * - `TapAttachment` puts a local network namespace on a remote rack's WebSocket host: a TAP in
 *   its own namespace configured with the host's MAC, addresses and MTU (read from the rack's
 *   /api/status), its frames relayed to ws://…/hosts/<name> and back. The remote rack does all the
 *   modeling; this is the remote-machine form of `eop up`. Needs root.
 *
 * Both send the frames of one event-loop turn in one socket write (ws-cork.ts), one message each.
 *
 * Either ends when a connection closes, with the close code and reason in `closed`.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { TurnCork } from './ws-cork.js';
import { ip, linkSetNetns, netnsAdd, netnsExists, removeQuietly } from './netns.js';
import { TapDevice } from './tap-device.js';

export interface ConnectOptions {
  token?: string | null;
  /** Give up connecting after this long (default 10 s). */
  timeoutMs?: number;
}

/** The socket under each WebSocket opened by connectWs (from its upgrade response). */
const sockets = new WeakMap<WebSocket, Socket>();

/** Batches `ws`'s sends of one event-loop turn into one write (ws-cork.ts); null if unknown. */
export function turnCorkFor(ws: WebSocket): TurnCork | null {
  const s = sockets.get(ws);
  return s ? new TurnCork(s) : null;
}

/** Opens a binary WebSocket; rejects with a sentence (HTTP status and body when refused). */
export function connectWs(url: string, o: ConnectOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
      handshakeTimeout: o.timeoutMs ?? 10_000,
      perMessageDeflate: false,
    });
    ws.binaryType = 'nodebuffer';
    ws.once('upgrade', (res) => sockets.set(ws, res.socket));
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(new Error(`${url} refused: HTTP ${res.statusCode} ${body.trim()}`)));
    });
    ws.once('close', (code, reason) => reject(new Error(`${url} closed at once: ${code} ${reason.toString()}`)));
    ws.once('error', (e) => reject(new Error(`${url}: ${e.message}`)));
  });
}

export class SpliceCounters {
  aToB = 0;
  bToA = 0;
  bytesAToB = 0;
  bytesBToA = 0;
  pauses = 0;
}

export class UplinkSplice {
  readonly c = new SpliceCounters();
  readonly closed: Promise<string>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly a: WebSocket,
    readonly b: WebSocket,
    private readonly maxBufferedBytes = 4 << 20,
  ) {
    const pipe = (from: WebSocket, to: WebSocket, dir: 'a' | 'b'): void => {
      // The messages of one read from `from` leave `to` in one write (each still its own message).
      const cork = turnCorkFor(to);
      from.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        cork?.enter();
        to.send(data, { binary: true });
        if (dir === 'a') {
          this.c.aToB++;
          this.c.bytesAToB += data.length;
        } else {
          this.c.bToA++;
          this.c.bytesBToA += data.length;
        }
        if (to.bufferedAmount > this.maxBufferedBytes) this.hold(from, to);
      });
    };
    pipe(a, b, 'a');
    pipe(b, a, 'b');
    this.closed = new Promise((resolve) => {
      const end = (side: string) => (code: number, reason: Buffer) => {
        this.close();
        resolve(`${side} closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`);
      };
      a.once('close', end('rack A'));
      b.once('close', end('rack B'));
    });
  }

  private hold(from: WebSocket, to: WebSocket): void {
    this.c.pauses++;
    from.pause();
    const check = (): void => {
      if (to.bufferedAmount <= this.maxBufferedBytes / 2 || to.readyState !== WebSocket.OPEN) from.resume();
      else this.timer = setTimeout(check, 2);
    };
    this.timer = setTimeout(check, 2);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const ws of [this.a, this.b]) if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, 'uplink relay stopped');
  }
}

export interface RemoteHost {
  name: string;
  mac: string;
  ipv4: string;
  ipv6: string;
  mtu: number;
  attach: string;
}

export class TapAttachment {
  readonly closed: Promise<string>;
  framesToRack = 0;
  framesFromRack = 0;
  tapWriteDrops = 0;
  private done = false;

  private constructor(
    readonly ns: string,
    readonly tap: TapDevice,
    readonly ws: WebSocket,
  ) {
    // A TAP read batch leaves in one socket write, one message per frame.
    const cork = turnCorkFor(ws);
    tap.onFrames((batch) => {
      cork?.enter();
      batch.forEach((f) => {
        this.framesToRack++;
        ws.send(Buffer.from(f), { binary: true });
      });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      this.framesFromRack++;
      if (!tap.write(data)) this.tapWriteDrops++;
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.close();
        resolve(`the rack closed the connection (${code}${reason.length ? `: ${reason.toString()}` : ''})`);
      });
    });
  }

  /** Makes the namespace and TAP (named `ifName`), configures them as `host`, connects. */
  static async open(url: string, host: RemoteHost, ns: string, ifName: string, o: ConnectOptions): Promise<TapAttachment> {
    if (netnsExists(ns)) throw new Error(`network namespace ${ns} already exists (another attach, or left over: ip netns del ${ns})`);
    const ws = await connectWs(url, o);
    let tap: TapDevice | null = null;
    let made = false;
    try {
      tap = TapDevice.open(ifName);
      netnsAdd(ns);
      made = true;
      linkSetNetns(ifName, ns);
      ip(['link', 'set', 'dev', 'lo', 'up'], { ns });
      ip(['link', 'set', 'dev', ifName, 'address', host.mac, 'mtu', String(host.mtu)], { ns });
      ip(['addr', 'add', host.ipv4, 'dev', ifName], { ns });
      ip(['-6', 'addr', 'add', host.ipv6, 'dev', ifName, 'nodad'], { ns });
      ip(['link', 'set', 'dev', ifName, 'up'], { ns });
    } catch (e) {
      ws.terminate();
      tap?.close();
      removeQuietly(made ? [ns] : [], [ifName]);
      throw e;
    }
    return new TapAttachment(ns, tap, ws);
  }

  /** Closes the connection and the TAP and removes the namespace (idempotent). */
  close(): void {
    if (this.done) return;
    this.done = true;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'detached');
    this.tap.close();
    removeQuietly([this.ns], [this.tap.name]);
  }
}
