/**
 * WebSocket ⇄ EOP interface: one emulated host's EOP interface (a `FramePort`) driven by a
 * WebSocket client, one binary message = one Ethernet frame (no header, no FCS: v86's convention).
 * Two kinds:
 *
 * - `host` (`attach: websocket`): while no client holds the host it runs the built-in stack (a
 *   `HostStack` sees this port's `stackPort`); a client takes the interface over and gives it back
 *   when it leaves. The client brings its own MAC: the first unicast source address it sends is
 *   learned (and re-learned if it changes), the fabric's NICs learn it from the frames as usual, and
 *   only frames addressed to it or to a group address go to the client. DHCP and DNS from the
 *   client are answered here (ws-services.ts) and never enter the fabric.
 * - `uplink` (`attach: uplink`): the far end is another rack. Every MAC behind it is learned by
 *   the fabric's NICs from the frames it sends; frames delivered to this interface cross the uplink
 *   unless their destination is known to sit on a local peer (learning bridge: known remote and
 *   unknown unicast and group frames cross). Loop rule: a frame arriving over the uplink whose
 *   source MAC the interface knows as a local peer's is a loop (or a duplicated MAC) and is
 *   dropped and counted; racks must be joined as a tree (one uplink per pair of racks, no cycles).
 *
 * Client → fabric: text messages, runts (< 14 bytes) and frames above MTU + 18 are dropped and
 * counted by reason (the server's maxPayload closes the connection with 1009 above that, counted
 * too); a token bucket in frames and one in bytes bound what one connection can offer (excess
 * counted as `ws-rate-limit`). When the interface has no room for a frame (its queue pair to that
 * peer is full) the frame is held and the connection is paused (the socket stops being read, so
 * TCP pushes back on the client) until the interface drains (tx-hold.ts: the TAP bridge's
 * back-pressure, with the same 200 ms watchdog).
 *
 * Fabric → client: the frame (a view into emulated memory) is copied and sent at once, as its own
 * message; the frames of one event-loop turn leave in one socket write (ws-cork.ts). When the
 * connection's unsent bytes exceed `queueBytes` (a slow or stalled client), the frame is dropped
 * and counted (`ws-client-queue-full`): the fabric never waits for a client.
 */
import { DropCounters, ErrorCode, WsDrop as WsDropCodes } from '../src/errors.js';
import type { FramePort, FrameReceiver, TxMeta } from '../src/eop/frame-port.js';
import { checkEdgeFrame } from '../src/wire/ethernet.js';
import { formatMac, readMac } from '../src/wire/mac.js';
import { TxHold, TxHoldCounters } from './tx-hold.js';
import { TurnCork, type Corkable } from './ws-cork.js';
import type { RackServices } from './ws-services.js';

/** The part of a `ws` WebSocket the port uses (a fake can stand in for unit tests). */
export interface WsConnLike {
  readonly bufferedAmount: number;
  send(data: Uint8Array, opts: { binary: true }): void;
  pause(): void;
  resume(): void;
  close(code: number, reason: string): void;
}

/** Drop reasons counted at the WebSocket edge (registered in src/errors.ts), plus the hold queue's. */
export const WsDrop = { ...WsDropCodes, HOLD_FULL: ErrorCode.EOP_TX_QUEUE_FULL } as const;

/** Close codes sent to clients (4000–4999 are the application's, RFC 6455 7.4.2). */
export const WsClose = {
  /** Another client holds the host. */
  HELD: 4409,
  /** The server stopped. */
  GOING_AWAY: 1001,
  /** Evicted: no pong to a ping sent because another client claimed the host. */
  DEAD: 4408,
  TOO_BIG: 1009,
} as const;

export interface WsLimits {
  /** Unsent bytes a connection may have before frames for it are dropped. */
  queueBytes: number;
  /** Token bucket: frames per second a client may send, and the burst. */
  rateFramesPerS: number;
  burstFrames: number;
  /** Token bucket: bytes per second a client may send, and the burst. */
  rateBytesPerS: number;
  burstBytes: number;
}

/**
 * Defaults. A host connection: 1 MiB of unsent data is ~700 full frames, enough for a TCP window
 * of a browser VM; 200,000 frames/s and 2.5 GB/s (20 Gb/s) are above what one client can push
 * through Node, so they bound abuse, not normal use. An uplink carries a whole rack: 4 MiB.
 */
export const DEFAULT_HOST_LIMITS: WsLimits = {
  queueBytes: 1 << 20,
  rateFramesPerS: 200_000,
  burstFrames: 2_000,
  rateBytesPerS: 2.5e9,
  burstBytes: 4 << 20,
};
export const DEFAULT_UPLINK_LIMITS: WsLimits = { ...DEFAULT_HOST_LIMITS, queueBytes: 4 << 20, rateFramesPerS: 1_000_000, burstFrames: 8_000 };

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.last = nowMs;
  }
  take(n: number, nowMs: number): boolean {
    if (nowMs > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.ratePerS) / 1000);
      this.last = nowMs;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** The port's counters; pauses, held and stalls are the holding queue's (tx-hold.ts). */
export class WsPortCounters extends TxHoldCounters {
  fromClientFrames = 0;
  fromClientBytes = 0;
  toClientFrames = 0;
  toClientBytes = 0;
  /** Frames the fabric delivered that were not for the client's MAC (not sent; not a drop). */
  filtered = 0;
  claims = 0;
  refusedClaims = 0;
}

export interface WsPortOptions {
  kind: 'host' | 'uplink';
  limits?: Partial<WsLimits>;
  /** DHCP/DNS for the client (host ports). */
  services?: RackServices | null;
  /** Brings the model to the current live time before a frame enters. */
  sync?: () => void;
  /** Asks the live runner to run promptly after frames were injected. */
  poke?: (frames: number) => void;
  /** Milliseconds clock for the rate limits (default performance.now). */
  nowMs?: () => number;
  /** Uplink: true if the MAC is known to sit on a local peer (the interface's learned table). */
  isLocalMac?: (mac: number) => boolean;
}

/** Who holds a port, for the status. */
export interface WsHolder {
  remote: string;
  sinceMs: number;
}

export class WsPort {
  readonly c = new WsPortCounters();
  readonly drops = new DropCounters();
  readonly limits: WsLimits;
  /** What the built-in stack sees as its interface (host ports). */
  readonly stackPort: FramePort;
  private conn: WsConnLike | null = null;
  /** Batches the holder's sends of one event-loop turn into one write (null: no socket given). */
  private cork: TurnCork | null = null;
  holder: WsHolder | null = null;
  /** The client's MAC (host ports), kept across reconnects. */
  clientMac: number | null = null;
  private stackRx: FrameReceiver = () => {};
  private frameBucket!: TokenBucket;
  private byteBucket!: TokenBucket;
  private readonly hold: TxHold;
  private readonly nowMs: () => number;

  constructor(
    readonly host: string,
    readonly nic: FramePort,
    private readonly opts: WsPortOptions,
  ) {
    this.limits = { ...(opts.kind === 'uplink' ? DEFAULT_UPLINK_LIMITS : DEFAULT_HOST_LIMITS), ...opts.limits };
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.hold = new TxHold(nic, { pause: () => this.conn?.pause(), resume: () => this.conn?.resume() }, {
      counters: this.c,
      ingest: (f) => nic.transmit(f),
      onDrop: () => this.drops.add(WsDrop.HOLD_FULL),
      ...(opts.sync ? { sync: opts.sync } : {}),
      ...(opts.poke ? { poke: opts.poke } : {}),
    });
    const self = this;
    this.stackPort = {
      name: nic.name,
      mac: nic.mac,
      mtu: nic.mtu,
      transmit(frame: Uint8Array, meta?: TxMeta): boolean {
        if (self.conn) {
          self.drops.add(WsDrop.STACK_DETACHED);
          return false;
        }
        return nic.transmit(frame, meta);
      },
      txSpace: (mac) => (this.conn ? 0 : nic.txSpace(mac)),
      anyPeerUp: () => nic.anyPeerUp(),
      onTxDrained: (fn) => nic.onTxDrained(fn),
      setReceiver: (fn) => {
        this.stackRx = fn;
      },
    };
    nic.setReceiver(this.fromFabric);
  }

  get kind(): 'host' | 'uplink' {
    return this.opts.kind;
  }

  get services(): RackServices | null {
    return this.opts.services ?? null;
  }

  get isHeld(): boolean {
    return this.conn !== null;
  }

  get isPaused(): boolean {
    return this.hold.isPaused;
  }

  /**
   * Takes the port for `conn`; returns why not if another client holds it. `socket` (the one under
   * the WebSocket) lets a turn's frames to the client leave in one write.
   */
  claim(conn: WsConnLike, remote: string, socket?: Corkable): string | null {
    if (this.conn) {
      this.c.refusedClaims++;
      return `${this.opts.kind === 'uplink' ? 'uplink' : 'host'} ${this.host} is held by another client (${this.holder?.remote ?? '?'}) since ${new Date(this.holder?.sinceMs ?? 0).toISOString()}`;
    }
    this.conn = conn;
    this.cork = socket ? new TurnCork(socket) : null;
    this.holder = { remote, sinceMs: Date.now() };
    const now = this.nowMs();
    this.frameBucket = new TokenBucket(this.limits.rateFramesPerS, this.limits.burstFrames, now);
    this.byteBucket = new TokenBucket(this.limits.rateBytesPerS, this.limits.burstBytes, now);
    this.c.claims++;
    return null;
  }

  /** Gives the port back (the built-in stack answers again). No-op unless `conn` holds it. */
  release(conn: WsConnLike): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.cork = null;
    this.holder = null;
    this.hold.clear();
  }

  /** One message from the holding client. */
  fromClient(conn: WsConnLike, data: Uint8Array, isBinary: boolean): void {
    if (this.conn !== conn) return;
    if (!isBinary) {
      this.drops.add(WsDrop.TEXT);
      return;
    }
    const code = checkEdgeFrame(data, this.nic.mtu);
    if (code !== null) {
      this.drops.add(code);
      return;
    }
    const now = this.nowMs();
    if (!this.frameBucket.take(1, now) || !this.byteBucket.take(data.length, now)) {
      this.drops.add(WsDrop.RATE);
      return;
    }
    this.c.fromClientFrames++;
    this.c.fromClientBytes += data.length;
    if (this.opts.kind === 'host') {
      if (!(data[6]! & 1)) {
        const src = readMac(data, 6);
        if (src !== this.clientMac) this.clientMac = src;
      }
      const replies = this.opts.services?.answer(data);
      if (replies) {
        for (const r of replies) this.toClient(r);
        return;
      }
    } else if (!(data[6]! & 1) && this.isLocalMac(readMac(data, 6))) {
      this.drops.add(WsDrop.UPLINK_LOOP);
      return;
    }
    this.opts.sync?.();
    if (this.hold.mustWait(readMac(data, 0))) {
      this.hold.hold(data);
      return;
    }
    this.nic.transmit(data);
    // One poke per socket read, not per message: `ws` emits every message of a read in one
    // callback, and the microtask runs after it, so a burst is one batch (no per-frame spin).
    if (this.injected++ === 0) queueMicrotask(this.flushPoke);
  }

  private injected = 0;
  private readonly flushPoke = (): void => {
    const n = this.injected;
    this.injected = 0;
    this.opts.poke?.(n);
  };

  /** Uplink: the destination sits behind a local peer (learned by the NIC). */
  private isLocalMac(mac: number): boolean {
    return this.opts.isLocalMac?.(mac) ?? false;
  }

  private toClient(frame: Uint8Array): void {
    const conn = this.conn!;
    if (conn.bufferedAmount > this.limits.queueBytes) {
      this.drops.add(WsDrop.CLIENT_QUEUE_FULL);
      return;
    }
    this.c.toClientFrames++;
    this.c.toClientBytes += frame.length;
    // A copy: the socket may keep the buffer until it is flushed, and `frame` may be a view into
    // emulated memory that the next delivery overwrites.
    this.cork?.enter();
    conn.send(Buffer.from(frame), { binary: true });
  }

  private readonly fromFabric = (frame: Uint8Array): void => {
    if (!this.conn) {
      if (this.opts.kind === 'uplink') this.drops.add(WsDrop.UPLINK_DOWN);
      else this.stackRx(frame);
      return;
    }
    const groupDst = (frame[0]! & 1) !== 0;
    if (!groupDst) {
      const dst = readMac(frame, 0);
      const wanted = this.opts.kind === 'host' ? dst === this.clientMac : !this.isLocalMac(dst);
      if (!wanted) {
        this.c.filtered++;
        return;
      }
    }
    this.toClient(frame);
  };

  /** For the status view. */
  describe(): { held: boolean; remote: string | null; sinceMs: number | null; clientMac: string | null; paused: boolean } {
    return {
      held: this.conn !== null,
      remote: this.holder?.remote ?? null,
      sinceMs: this.holder?.sinceMs ?? null,
      clientMac: this.clientMac === null ? null : formatMac(this.clientMac),
      paused: this.hold.isPaused,
    };
  }
}
