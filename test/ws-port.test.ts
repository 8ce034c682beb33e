/**
 * Unit tests of the WebSocket edge with in-process fakes (no sockets): bridge/ws-port.ts (what each
 * bad input gets, MAC learning and delivery filter, the stack hand-over, slow-client drops, rate
 * limit, back-pressure, uplink learning and loop rule), bridge/ws-services.ts (DHCP and DNS answers,
 * built by the page's own guest.js and parsed back by it), and src/wire/dhcp.ts / dns.ts on bad
 * input. The real-socket behaviour is in test/system/ws-serve.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, WsDrop } from '../src/errors.js';
import { FakePort as FakeNic } from './helpers/fake-port.js';
import { defaultRack } from '../src/topology/default-rack.js';
import { parseDhcp } from '../src/wire/dhcp.js';
import { parseDnsQuery } from '../src/wire/dns.js';
import { WsPort, type WsConnLike } from '../bridge/ws-port.js';
import { RackServices, serviceAddressFor } from '../bridge/ws-services.js';
import { Guest, parseIp } from '../bridge/www/guest.js';
import { BCAST, MAC, rawFrame } from './helpers/raw-frame.js';

class FakeConn implements WsConnLike {
  bufferedAmount = 0;
  got: Uint8Array[] = [];
  paused = false;
  send(data: Uint8Array): void {
    this.got.push(data);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {}
}

const CLIENT_MAC = 0x025e00000044;

function hostPort(opts: Partial<ConstructorParameters<typeof WsPort>[2]> = {}) {
  const nic = new FakeNic();
  const port = new WsPort('h4', nic, { kind: 'host', ...opts });
  const stackGot: Uint8Array[] = [];
  port.stackPort.setReceiver((f) => stackGot.push(new Uint8Array(f)));
  return { nic, port, stackGot };
}

describe('WsPort (host): what each input gets', () => {
  it('text, runt and oversized messages are dropped with their reason; a good frame enters the fabric', () => {
    const { nic, port } = hostPort();
    const c = new FakeConn();
    expect(port.claim(c, 'test')).toBeNull();
    port.fromClient(c, new TextEncoder().encode('hello'), false);
    port.fromClient(c, new Uint8Array(13), true);
    port.fromClient(c, new Uint8Array(1519), true);
    expect(port.drops.get(WsDrop.TEXT)).toBe(1);
    expect(port.drops.get(ErrorCode.FRAME_TOO_SHORT)).toBe(1);
    expect(port.drops.get(ErrorCode.FRAME_TOO_LONG)).toBe(1);
    expect(nic.sent).toHaveLength(0);
    port.fromClient(c, rawFrame(MAC[1]!, CLIENT_MAC, 1518), true); // MTU + 18 is allowed
    expect(nic.sent).toHaveLength(1);
    expect(port.c.fromClientFrames).toBe(1);
  });

  it('a second claim is refused with who holds it; release hands the port back', () => {
    const { port } = hostPort();
    const a = new FakeConn();
    const b = new FakeConn();
    expect(port.claim(a, '10.0.0.1:5')).toBeNull();
    expect(port.claim(b, '10.0.0.2:6')).toMatch(/^host h4 is held by another client \(10\.0\.0\.1:5\) since \d{4}-/);
    port.release(b); // not the holder: nothing happens
    expect(port.isHeld).toBe(true);
    port.release(a);
    expect(port.isHeld).toBe(false);
    expect(port.claim(b, '10.0.0.2:6')).toBeNull();
  });

  it('learns the client MAC; delivers only its unicast and group frames; the stack gets everything while free', () => {
    const { nic, port, stackGot } = hostPort();
    nic.receiver(rawFrame(MAC[4]!, MAC[1]!, 60, 1)); // free: to the built-in stack
    expect(stackGot).toHaveLength(1);
    const c = new FakeConn();
    port.claim(c, 'test');
    nic.receiver(rawFrame(BCAST, MAC[1]!, 60, 2)); // broadcast: before any frame of the client too
    port.fromClient(c, rawFrame(MAC[1]!, CLIENT_MAC, 60, 3), true);
    nic.receiver(rawFrame(CLIENT_MAC, MAC[1]!, 60, 4)); // for the client
    nic.receiver(rawFrame(MAC[4]!, MAC[1]!, 60, 5)); // for the host's own MAC: not the client's
    expect(c.got.map((f) => f[14])).toEqual([2, 4]);
    expect(port.c.filtered).toBe(1);
    expect(stackGot).toHaveLength(1);
    // The stack is detached while held: what it sends is dropped and counted.
    expect(port.stackPort.transmit(rawFrame(MAC[1]!, MAC[4]!, 60))).toBe(false);
    expect(port.drops.get(WsDrop.STACK_DETACHED)).toBe(1);
    port.release(c);
    nic.receiver(rawFrame(MAC[4]!, MAC[1]!, 60, 6));
    expect(stackGot).toHaveLength(2);
    expect(port.describe().clientMac).toBe('02:5e:00:00:00:44'); // kept for a reconnect
  });

  it('a slow client: frames beyond its queue bound are dropped and counted, never waited for', () => {
    const { nic, port } = hostPort({ limits: { queueBytes: 1000 } });
    const c = new FakeConn();
    port.claim(c, 'test');
    port.fromClient(c, rawFrame(MAC[1]!, CLIENT_MAC, 60), true);
    c.bufferedAmount = 1001;
    for (let i = 0; i < 5; i++) nic.receiver(rawFrame(CLIENT_MAC, MAC[1]!, 60, i));
    expect(c.got).toHaveLength(0);
    expect(port.drops.get(WsDrop.CLIENT_QUEUE_FULL)).toBe(5);
    c.bufferedAmount = 0;
    nic.receiver(rawFrame(CLIENT_MAC, MAC[1]!, 60, 9));
    expect(c.got).toHaveLength(1);
  });

  it('the rate limit drops what exceeds the burst and counts it; tokens come back with time', () => {
    let now = 0;
    const { nic, port } = hostPort({ limits: { rateFramesPerS: 1000, burstFrames: 10 }, nowMs: () => now });
    const c = new FakeConn();
    port.claim(c, 'test');
    for (let i = 0; i < 15; i++) port.fromClient(c, rawFrame(MAC[1]!, CLIENT_MAC, 60, i), true);
    expect(nic.sent).toHaveLength(10);
    expect(port.drops.get(WsDrop.RATE)).toBe(5);
    now += 5; // 5 ms at 1000 frames/s: 5 more
    for (let i = 0; i < 6; i++) port.fromClient(c, rawFrame(MAC[1]!, CLIENT_MAC, 60, i), true);
    expect(nic.sent).toHaveLength(15);
    expect(port.drops.get(WsDrop.RATE)).toBe(6);
  });

  it('back-pressure: with no room the connection pauses and frames wait; the drain sends them in order', () => {
    const { nic, port } = hostPort();
    const c = new FakeConn();
    port.claim(c, 'test');
    nic.space = 0;
    for (let i = 0; i < 3; i++) port.fromClient(c, rawFrame(MAC[1]!, CLIENT_MAC, 60, i), true);
    expect(c.paused).toBe(true);
    expect(nic.sent).toHaveLength(0);
    nic.space = 10;
    nic.drained.shift()!();
    expect(nic.sent.map((f) => f[14])).toEqual([0, 1, 2]);
    expect(c.paused).toBe(false);
    port.release(c);
  });
});

describe('WsPort (uplink): learning bridge and loop rule', () => {
  it('forwards group, unknown and remote unicast; keeps local unicast; drops frames whose source is local', () => {
    const nic = new FakeNic();
    const local = new Set([MAC[1]!]);
    const port = new WsPort('up', nic, { kind: 'uplink', isLocalMac: (m) => local.has(m) });
    nic.receiver(rawFrame(BCAST, MAC[1]!, 60, 1)); // nobody connected
    expect(port.drops.get(WsDrop.UPLINK_DOWN)).toBe(1);
    const c = new FakeConn();
    port.claim(c, 'rack B');
    nic.receiver(rawFrame(BCAST, MAC[1]!, 60, 2));
    nic.receiver(rawFrame(0x02bb00000001, MAC[1]!, 60, 3)); // remote or unknown: crosses
    nic.receiver(rawFrame(MAC[1]!, MAC[2]!, 60, 4)); // local destination: stays
    expect(c.got.map((f) => f[14])).toEqual([2, 3]);
    port.fromClient(c, rawFrame(MAC[2]!, 0x02bb00000001, 60), true);
    port.fromClient(c, rawFrame(MAC[2]!, MAC[1]!, 60), true); // a local MAC coming back: a loop
    expect(nic.sent).toHaveLength(1);
    expect(port.drops.get(WsDrop.UPLINK_LOOP)).toBe(1);
  });
});

describe('RackServices: DHCP and DNS for a client of h4 (frames from the page guest)', () => {
  const topo = defaultRack();
  const h4 = topo.hosts[3]!;

  function guestWith(services: RackServices) {
    const sent: Uint8Array[] = [];
    const ws = {
      binaryType: '',
      send: (f: Uint8Array) => {
        sent.push(f);
        // Replies arrive later, as over a socket (the guest starts waiting after it sent).
        const replies = services.answer(f) ?? [];
        setImmediate(() => replies.forEach((r) => g.receive(r)));
      },
      addEventListener: () => {},
    };
    const g = new Guest(ws, [0x02, 0x5e, 0, 0, 0, 0x44]);
    return { g, sent };
  }

  it('the service address is the highest free one of the subnet', () => {
    expect(serviceAddressFor(h4, topo)).toBe(parseIp('10.11.0.254').reduce((a, b) => a * 256 + b, 0));
  });

  it('DISCOVER/REQUEST get the host address, prefix and name server; names resolve; unknown is NXDOMAIN', async () => {
    const services = new RackServices(h4, topo);
    const { g } = guestWith(services);
    expect(await g.dhcp(1000)).toEqual({ ip: '10.11.0.4', prefix: 24, dns: '10.11.0.254' });
    expect(await g.lookup('h2', 1000)).toEqual([10, 11, 0, 2]);
    expect(await g.lookup('h3.default', 1000)).toEqual([10, 11, 0, 3]);
    expect(await g.lookup('nope', 1000)).toBeNull();
    expect(services.c).toMatchObject({ dhcpOffers: 1, dhcpAcks: 1, dnsAnswers: 2, dnsNxDomain: 1, arpReplies: 1 });
  });

  it("an uplink host (a port to another rack) has no name: it is NXDOMAIN, the others resolve", async () => {
    const t = { ...topo, hosts: topo.hosts.map((h, i) => (i === 2 ? { ...h, name: 'up', attach: 'uplink' as const } : h)) };
    const services = new RackServices(t.hosts[3]!, t);
    const { g } = guestWith(services);
    await g.dhcp(1000);
    expect(await g.lookup('up', 1000)).toBeNull();
    expect(await g.lookup('h2', 1000)).toEqual([10, 11, 0, 2]);
  });

  it('a REQUEST for another address is NAKed; frames not for the services are left for the fabric', () => {
    const services = new RackServices(h4, topo);
    const { g } = guestWith(services);
    const req = g.dhcpMessage(3, 7, [50, 4, 10, 11, 0, 9]);
    const replies = services.answer(g.udp([255, 255, 255, 255, 255, 255], [255, 255, 255, 255], 68, 67, req, [0, 0, 0, 0]));
    expect(replies).toHaveLength(1);
    expect(services.c.dhcpNaks).toBe(1);
    expect(services.answer(g.udp([2, 0xe0, 0, 0, 0, 1], parseIp('10.11.0.1'), 5000, 53, new Uint8Array(20), [10, 11, 0, 4]))).toBeNull();
    expect(services.answer(rawFrame(MAC[1]!, CLIENT_MAC, 60))).toBeNull();
  });

  it('malformed DHCP and DNS messages are counted, not answered, never thrown', () => {
    const services = new RackServices(h4, topo);
    const { g } = guestWith(services);
    expect(services.answer(g.udp([255, 255, 255, 255, 255, 255], [255, 255, 255, 255], 68, 67, new Uint8Array(100), [0, 0, 0, 0]))).toEqual([]);
    const badDns = new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12]); // a pointer in the question
    expect(services.answer(g.udp([2, 0xe0, 0xff, 0xff, 0xff, 0xfe], parseIp('10.11.0.254'), 5000, 53, badDns, [10, 11, 0, 4]))).toEqual([]);
    expect(services.c.malformed).toBe(2);
  });
});

describe('wire: DHCP and DNS parsers on bad input', () => {
  it('DHCP: short, no cookie, option past the end', () => {
    expect(() => parseDhcp(new Uint8Array(10))).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_TOO_SHORT }));
    const m = new Uint8Array(244);
    m[1] = 1;
    m[2] = 6;
    expect(() => parseDhcp(m)).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED }));
    m.set([0x63, 0x82, 0x53, 0x63], 236);
    m.set([53, 9, 1, 1], 240);
    expect(() => parseDhcp(m)).toThrow(expect.objectContaining({ code: ErrorCode.BAD_LENGTH_FIELD }));
  });

  it('DNS: short, a response, a label past the end, a name above 255 bytes', () => {
    expect(() => parseDnsQuery(new Uint8Array(5))).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_TOO_SHORT }));
    expect(() => parseDnsQuery(new Uint8Array([0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0]))).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED }));
    expect(() => parseDnsQuery(new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 65]))).toThrow(expect.objectContaining({ code: ErrorCode.BAD_LENGTH_FIELD }));
    const long = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 5; i++) long.push(63, ...new Array<number>(63).fill(97));
    long.push(0, 0, 1, 0, 1);
    expect(() => parseDnsQuery(new Uint8Array(long))).toThrow(expect.objectContaining({ code: ErrorCode.BAD_LENGTH_FIELD }));
  });
});
