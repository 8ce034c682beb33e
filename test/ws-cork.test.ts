/**
 * Sends of one event-loop turn leave in one socket write (bridge/ws-cork.ts), and each message still
 * carries exactly one Ethernet frame (v86's convention). Real WebSocket connections over loopback:
 * the server socket's write calls (`_write` / `_writev`: one each per system call Node makes) are
 * counted while the fabric delivers a burst to a WebSocket host (ws-port.ts), while an uplink
 * splice relays a burst (ws-attach.ts), and, as the control that shows the count can fail, without
 * a socket to cork (one write per frame).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { connectWs, turnCorkFor, UplinkSplice } from '../bridge/ws-attach.js';
import { TurnCork } from '../bridge/ws-cork.js';
import { WsPort } from '../bridge/ws-port.js';
import { FakePort } from './helpers/fake-port.js';
import { MAC, rawFrame } from './helpers/raw-frame.js';

const CLIENT_MAC = 0x025e00000044;
const BURST = 50;

/** Counts the write calls Node makes on a socket (each is one write/writev system call). */
function countWrites(socket: Duplex): { writes: number; chunks: number } {
  const n = { writes: 0, chunks: 0 };
  const s = socket as unknown as {
    _write: (c: unknown, e: unknown, cb: unknown) => void;
    _writev: (cs: unknown[], cb: unknown) => void;
  };
  const w = s._write.bind(socket);
  const wv = s._writev.bind(socket);
  s._write = (c, e, cb) => {
    n.writes++;
    n.chunks++;
    w(c, e, cb);
  };
  s._writev = (cs, cb) => {
    n.writes++;
    n.chunks += cs.length;
    wv(cs, cb);
  };
  return n;
}

interface Served {
  http: Server;
  url: string;
  accepted: Promise<{ ws: WebSocket; socket: Duplex }>;
}

/** A WebSocket server on loopback that hands over its first connection with its upgrade socket. */
async function serve(): Promise<Served> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const http = createServer();
  const accepted = new Promise<{ ws: WebSocket; socket: Duplex }>((resolve) => {
    http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => resolve({ ws, socket })));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { http, url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, accepted };
}

/** Resolves with the first `n` binary messages `ws` receives. */
function collect(ws: WebSocket, n: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) got.push(d);
      if (got.length === n) resolve(got);
    });
  });
}

const open: (WebSocket | Server)[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) {
    if (o instanceof WebSocket) o.terminate();
    else {
      o.closeAllConnections();
      await new Promise((r) => o.close(r));
    }
  }
});

describe('TurnCork', () => {
  it('corks once per event-loop turn and uncorks after the turn', async () => {
    const calls: string[] = [];
    const c = new TurnCork({ cork: () => calls.push('cork'), uncork: () => calls.push('uncork') });
    c.enter();
    c.enter();
    c.enter();
    expect(calls).toEqual(['cork']);
    await Promise.resolve();
    expect(calls).toEqual(['cork', 'uncork']);
    c.enter();
    await Promise.resolve();
    expect(calls).toEqual(['cork', 'uncork', 'cork', 'uncork']);
    expect(c.turns).toBe(2);
  });

  it('leaves a destroyed socket alone', () => {
    const calls: string[] = [];
    new TurnCork({ cork: () => calls.push('cork'), uncork: () => calls.push('uncork'), destroyed: true }).enter();
    expect(calls).toEqual([]);
  });
});

describe('WebSocket edge: a burst is one write, one frame per message', () => {
  async function hostBurst(withSocket: boolean): Promise<{ writes: number; got: Buffer[]; sent: Uint8Array[] }> {
    const s = await serve();
    open.push(s.http);
    const client = await connectWs(s.url);
    open.push(client);
    const { ws, socket } = await s.accepted;
    open.push(ws);
    const nic = new FakePort();
    const port = new WsPort('h4', nic, { kind: 'host' });
    expect(port.claim(ws, 'test', withSocket ? socket : undefined)).toBeNull();
    // The client's first frame teaches the port its MAC.
    const learned = new Promise((r) => ws.once('message', r));
    ws.on('message', (d: Buffer, isBinary: boolean) => port.fromClient(ws, d, isBinary));
    client.send(rawFrame(MAC[1]!, CLIENT_MAC, 60), { binary: true });
    await learned;
    const n = countWrites(socket);
    const sent = Array.from({ length: BURST }, (_, i) => rawFrame(CLIENT_MAC, MAC[1]!, 60 + ((i * 97) % 1455), i));
    const got = collect(client, BURST);
    for (const f of sent) nic.receiver(f); // one synchronous burst from the fabric
    const frames = await got;
    return { writes: n.writes, got: frames, sent };
  }

  it('a host port: a burst from the fabric leaves in one write; the client gets each frame as its own message, in order', async () => {
    const r = await hostBurst(true);
    expect(r.writes).toBe(1);
    expect(r.got.map((b) => b.length)).toEqual(r.sent.map((f) => f.length));
    r.got.forEach((b, i) => expect(b.equals(r.sent[i]!), `message ${i}`).toBe(true));
  });

  it('without a socket to cork (the control): one write per frame', async () => {
    const r = await hostBurst(false);
    expect(r.writes).toBe(BURST);
    expect(r.got).toHaveLength(BURST);
  });

  it('an uplink splice relays what it reads from one rack to the other in one write per read, unmodified', async () => {
    const a = await serve();
    const b = await serve();
    open.push(a.http, b.http);
    const toA = await connectWs(a.url);
    const toB = await connectWs(b.url);
    open.push(toA, toB);
    expect(turnCorkFor(toB)).not.toBeNull();
    const rackA = await a.accepted;
    const rackB = await b.accepted;
    open.push(rackA.ws, rackB.ws);
    const splice = new UplinkSplice(toA, toB);
    // The splice's socket toward rack B: the client socket of toB, counted from rack B's side by
    // what it receives and from the splice's side by its writes.
    const bSocket = (toB as unknown as { _socket: Duplex })._socket;
    const n = countWrites(bSocket);
    const sent = Array.from({ length: BURST }, (_, i) => rawFrame(MAC[2]!, MAC[1]!, 60 + i * 29, i));
    const got = collect(rackB.ws, BURST);
    // Rack A's side sends the burst in one turn, corked: it reaches the splice in one read.
    rackA.socket.cork();
    for (const f of sent) rackA.ws.send(f, { binary: true });
    rackA.socket.uncork();
    const frames = await got;
    frames.forEach((m, i) => expect(m.equals(sent[i]!), `message ${i}`).toBe(true));
    expect(splice.c.aToB).toBe(BURST);
    // One read may arrive in a few pieces on a loaded machine; never one write per frame.
    expect(n.writes).toBeGreaterThanOrEqual(1);
    expect(n.writes).toBeLessThanOrEqual(5);
    splice.close();
  });
});
