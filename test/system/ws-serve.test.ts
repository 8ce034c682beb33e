/**
 * SYSTEM test of `eop serve` (no root needed: WebSocket and built-in hosts only). Each case spawns
 * the built CLI on a free loopback port and talks to it with real WebSocket clients; the guest
 * (bridge/www/guest.js, the page's own client) builds and parses its frames independently of the
 * server's src/wire code.
 *
 * 1. Default rack, client as h4: ARP request for 10.11.0.1 answered by h1's built-in stack, then
 *    10 ICMP echoes answered; a fresh client gets 10.11.0.4/24 by DHCP and resolves h1 by DNS
 *    (an unknown name is NXDOMAIN); a second claim of h4 is refused with 4409 and its reason; text,
 *    runt and oversized messages are refused and counted by reason; after the client leaves, the
 *    built-in stack answers for h4 again, and a reconnecting client gets h4 back, also while its
 *    old connection lingers without answering pings (that one is evicted: 4408 and the reason).
 * 2. Token and origin: non-loopback bind without a token refuses to start (exit 2); with a token,
 *    no/wrong token → 401 (page, status and WebSocket), header or query token → accepted; a foreign
 *    Origin → 403, an allowed one (--allow-origin) → accepted.
 * 3. Limits: a client that stops reading while 21 MB of frames are sent to it does not slow a ping
 *    between two other hosts (all answered, each within 1 s), and its frames are dropped and counted
 *    (ws-client-queue-full) instead; a client that stops answering pings loses its host within
 *    2 × keepalive, and reconnecting gets it back.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Guest, parseIp } from '../../bridge/www/guest.js';
import { CLI } from './live-helpers.js';
import { getStatus, openWs, startCli, stopCli, until, sleepMs, type Proc } from './serve-helpers.js';
import { requireThat } from './live-helpers.js';
import { existsSync } from 'node:fs';

const built = requireThat(existsSync(CLI), `${CLI} is missing: run "npm run build" (npm test does it first)`);
const wsUrl = (p: Proc, path: string): string => p.url.replace(/^http/, 'ws') + path;

describe.skipIf(!built)('eop serve: WebSocket hosts on the default rack', () => {
  let srv: Proc;
  beforeAll(async () => {
    srv = await startCli(['serve', '--port', '0', '--no-captures']);
  });
  afterAll(async () => {
    expect(await stopCli(srv)).toBe(0);
  });

  it('prints the hosts and serves h4 as a WebSocket host, h1..h3 built-in', async () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(srv.stdout()).toMatch(/^h4: WebSocket host ws:\/\/127\.0\.0\.1:\d+\/hosts\/h4/m);
    const s = await getStatus(srv.url);
    expect(s.mode).toBe('serve');
    expect(s.hosts.map((h) => h.attach)).toEqual(['builtin', 'builtin', 'builtin', 'websocket']);
    expect(s.hosts[3]!.ws!.held).toBe(false);
  });

  it('a client as h4: ARP for 10.11.0.1 is answered, then 10 ICMP echoes', async () => {
    const { ws } = await openWs(wsUrl(srv, '/hosts/h4'));
    const g = new Guest(ws, [0x02, 0x5e, 0, 0, 0, 0x44]);
    g.ip = parseIp('10.11.0.4');
    // The ARP exchange by hand, to check the reply's fields.
    const reply = g.waitFor((f) => (((f[12]! << 8) | f[13]!) === 0x0806 && f[21] === 2 ? f : undefined), 3000, 'ARP reply');
    g.send(g.arpFrame(1, [255, 255, 255, 255, 255, 255], [0, 0, 0, 0, 0, 0], parseIp('10.11.0.1')));
    const r = await reply;
    expect([...r.subarray(0, 6)]).toEqual(g.mac); // to us
    expect([...r.subarray(22, 28)]).toEqual([0x02, 0xe0, 0, 0, 0, 0x01]); // h1's MAC
    expect([...r.subarray(28, 32)]).toEqual([10, 11, 0, 1]);
    const rtts: number[] = [];
    for (let seq = 1; seq <= 10; seq++) rtts.push(await g.ping(parseIp('10.11.0.1'), seq, 3000));
    expect(rtts).toHaveLength(10);
    const s = await getStatus(srv.url);
    const h4 = s.hosts.find((h) => h.name === 'h4')!;
    expect(h4.ws!.held).toBe(true);
    expect(h4.ws!.clientMac).toBe('02:5e:00:00:00:44');
    expect(h4.queuePairs.find((q) => q.peer === 'h1')!.txFrames).toBeGreaterThanOrEqual(11);
    ws.close();
    await until(async () => !(await getStatus(srv.url)).hosts[3]!.ws!.held, 5000, 'h4 released');
  });

  it('a client without an address gets 10.11.0.4/24 by DHCP and resolves h1 by DNS', async () => {
    const { ws } = await openWs(wsUrl(srv, '/hosts/h4'));
    const g = new Guest(ws);
    const lease = await g.dhcp(3000);
    expect(lease).toEqual({ ip: '10.11.0.4', prefix: 24, dns: '10.11.0.254' });
    expect(await g.lookup('h1')).toEqual([10, 11, 0, 1]);
    expect(await g.lookup('H2.default.eop')).toEqual([10, 11, 0, 2]);
    expect(await g.lookup('nosuchhost')).toBeNull();
    // And the address works: h2 answers a ping from it.
    expect(await g.ping(parseIp('10.11.0.2'), 1, 3000)).toBeGreaterThan(0);
    const svc = (await getStatus(srv.url)).hosts[3]!.ws!.services!;
    expect(svc.dhcpOffers).toBeGreaterThanOrEqual(1);
    expect(svc.dhcpAcks).toBeGreaterThanOrEqual(1);
    expect(svc.dnsAnswers).toBeGreaterThanOrEqual(2);
    expect(svc.dnsNxDomain).toBeGreaterThanOrEqual(1);
    ws.close();
    await until(async () => !(await getStatus(srv.url)).hosts[3]!.ws!.held, 5000, 'h4 released');
  });

  it('a second claim of a held host is refused with 4409 and why; text, runt and oversize are counted', async () => {
    const first = await openWs(wsUrl(srv, '/hosts/h4'));
    const second = await openWs(wsUrl(srv, '/hosts/h4'));
    const c = await second.closed;
    expect(c.code).toBe(4409);
    expect(c.reason).toMatch(/^host h4 is held by another client \(127\.0\.0\.1:\d+\) since .*; it answered a ping$/);
    const before = (await getStatus(srv.url)).hosts[3]!.drops;
    first.ws.send('hello', { binary: false });
    first.ws.send(new Uint8Array(10));
    await sleepMs(200);
    expect(first.ws.readyState).toBe(first.ws.OPEN); // text and runts do not end the connection
    first.ws.send(new Uint8Array(1519)); // MTU 1500 + 18 + 1
    const closed = await first.closed;
    expect(closed.code).toBe(1009);
    const s = await getStatus(srv.url);
    const d = s.hosts[3]!.drops;
    const delta = (k: string): number => (d[k] ?? 0) - (before[k] ?? 0);
    expect(delta('ws-text-message')).toBe(1);
    expect(delta('ERR_FRAME_TOO_SHORT')).toBe(1);
    expect(delta('ERR_FRAME_TOO_LONG')).toBe(1);
    expect(s.hosts[3]!.ws!.refusedClaims).toBeGreaterThanOrEqual(1);
  });

  it('unknown hosts and non-WebSocket hosts are refused at the handshake', async () => {
    await expect(openWs(wsUrl(srv, '/hosts/h9'))).rejects.toMatchObject({ status: 404 });
    await expect(openWs(wsUrl(srv, '/hosts/h1'))).rejects.toMatchObject({ status: 404 });
    await expect(openWs(wsUrl(srv, '/uplink'))).rejects.toMatchObject({ status: 404 });
  });

  it('a reconnecting client gets h4 back', async () => {
    await until(async () => !(await getStatus(srv.url)).hosts[3]!.ws!.held, 5000, 'h4 released');
    const claimsBefore = (await getStatus(srv.url)).hosts[3]!.ws!.claims;
    for (let i = 0; i < 2; i++) {
      const c = await openWs(wsUrl(srv, '/hosts/h4'));
      const g = new Guest(c.ws);
      await g.dhcp(3000);
      expect(await g.ping(parseIp('10.11.0.3'), 1, 3000)).toBeGreaterThan(0);
      c.ws.close();
      await c.closed;
      await until(async () => !(await getStatus(srv.url)).hosts[3]!.ws!.held, 5000, 'h4 released');
    }
    expect((await getStatus(srv.url)).hosts[3]!.ws!.claims).toBe(claimsBefore + 2);
  });

  it('a reconnect while the old connection lingers half-open gets h4 back; the old one is evicted with 4408 and why', async () => {
    await until(async () => !(await getStatus(srv.url)).hosts[3]!.ws!.held, 5000, 'h4 released');
    const evictedBefore = (await getStatus(srv.url)).server!.refused.evicted ?? 0;
    // The old connection: open, but it answers no ping (as a peer whose network went away, whose
    // TCP connection the server still sees). The keepalive (10 s here) would take far longer.
    const old = await openWs(wsUrl(srv, '/hosts/h4'), { autoPong: false });
    const og = new Guest(old.ws, [0x02, 0x5e, 0, 0, 0, 0x44]);
    await og.dhcp(3000); // h4 learns the old client's MAC
    const t0 = Date.now();
    const again = await openWs(wsUrl(srv, '/hosts/h4'));
    const c = await old.closed;
    expect(c.code).toBe(4408);
    expect(c.reason).toMatch(/^evicted: no answer to a ping within 2000 ms while 127\.0\.0\.1:\d+ claimed h4$/);
    const g = new Guest(again.ws, [0x02, 0x5e, 0, 0, 0, 0x44]);
    g.ip = parseIp('10.11.0.4');
    expect(await g.ping(parseIp('10.11.0.1'), 1, 3000)).toBeGreaterThan(0); // the host is the new connection's
    expect(Date.now() - t0).toBeLessThan(9000); // well inside the 2 × 10 s keepalive bound
    const s = await getStatus(srv.url);
    expect(s.server!.refused.evicted).toBe(evictedBefore + 1);
    expect(s.hosts[3]!.ws!.held).toBe(true);
    again.ws.close();
    await again.closed;
  });
});

describe.skipIf(!built)('eop serve: token and origin', () => {
  let srv: Proc;
  const token = 'tok-' + Math.random().toString(36).slice(2);
  beforeAll(async () => {
    srv = await startCli(['serve', '--port', '0', '--no-captures', '--token', token, '--allow-origin', 'http://allowed.example']);
  });
  afterAll(async () => {
    await stopCli(srv);
  });

  it('a non-loopback bind without a token refuses to start (exit 2, one sentence)', () => {
    const env = { ...process.env };
    delete env.EOP_TOKEN;
    const r = spawnSync(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0', '--no-captures'], { encoding: 'utf8', env, timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/binding to 0\.0\.0\.0 \(not loopback\) needs a token/);
  });

  it('refuses requests without the token (401) and accepts header or query token', async () => {
    expect((await fetch(`${srv.url}/api/status`)).status).toBe(401);
    expect((await fetch(`${srv.url}/`)).status).toBe(401);
    expect((await fetch(`${srv.url}/api/status?token=wrong`)).status).toBe(401);
    expect((await fetch(`${srv.url}/api/status?token=${token}`)).status).toBe(200);
    await expect(openWs(wsUrl(srv, '/hosts/h4'))).rejects.toMatchObject({ status: 401 });
    await expect(openWs(wsUrl(srv, '/hosts/h4'), { headers: { authorization: 'Bearer nope' } })).rejects.toMatchObject({ status: 401 });
    const a = await openWs(wsUrl(srv, '/hosts/h4'), { headers: { authorization: `Bearer ${token}` } });
    a.ws.close();
    await a.closed;
    const b = await openWs(wsUrl(srv, `/hosts/h4?token=${token}`));
    b.ws.close();
    await b.closed;
    const s = await getStatus(srv.url, token);
    expect(s.server!.refused.unauthorized).toBeGreaterThanOrEqual(5);
  });

  it('refuses a foreign Origin (403), accepts its own and an allowed one', async () => {
    const q = `/hosts/h4?token=${token}`;
    await expect(openWs(wsUrl(srv, q), { origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 });
    for (const origin of ['http://allowed.example', srv.url]) {
      const c = await openWs(wsUrl(srv, q), { origin });
      c.ws.close();
      await c.closed;
    }
    expect((await getStatus(srv.url, token)).server!.refused.badOrigin).toBe(1);
  });
});

/**
 * Keepalive of the limits server. Long enough that the stalled client (which answers no pings)
 * still holds its host while the blaster overflows its queue: at 0.5 s the host was sometimes
 * released (and its frames went to the built-in stack) before the loopback buffers had filled.
 */
const KEEPALIVE_S = 3;

describe.skipIf(!built)('eop serve: slow and dead clients', () => {
  let srv: Proc;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eop-ws-'));
    const rack = join(dir, 'rack.yaml');
    writeFileSync(rack, 'name: limits\nmtu: 9000\nhosts:\n  - h1\n  - {name: h2, attach: websocket}\n  - {name: h3, attach: websocket}\n  - {name: h4, attach: websocket}\n');
    srv = await startCli(['serve', rack, '--port', '0', '--no-captures', '--keepalive-s', String(KEEPALIVE_S), '--client-queue-kib', '64']);
  });
  afterAll(async () => {
    await stopCli(srv);
  });

  it('a client that stops reading does not slow a ping between two other hosts; its frames are dropped and counted', async () => {
    // The stalled client and the blaster run in their own process (their work must not delay
    // this process's pinger): 2400 frames of 9014 bytes (21 MB, more than the loopback socket
    // buffers hold; few large frames keep the CPU cost low) at the stalled client's MAC, 500
    // frames/s, while h4 pings h1.
    let pinger: Awaited<ReturnType<typeof openWs>> | undefined;
    const blast = spawn(process.execPath, [join(__dirname, 'fixtures', 'ws-blast.mjs'), wsUrl(srv, ''), 'h2', '10.11.0.2', 'h3', '2400', '9014'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      blast.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      await until(() => out.includes('blasting'), 15_000, 'the blaster to start');
      pinger = await openWs(wsUrl(srv, '/hosts/h4'));
      const pg = new Guest(pinger.ws, [0x02, 0x5e, 0, 0, 0, 0x04]);
      pg.ip = parseIp('10.11.0.4');
      const rtts: number[] = [];
      for (let seq = 1; seq <= 10; seq++) {
        rtts.push(await pg.ping(parseIp('10.11.0.1'), seq, 2000));
        await sleepMs(100);
      }
      expect(Math.max(...rtts)).toBeLessThan(1000);
      await until(async () => ((await getStatus(srv.url)).hosts[1]!.drops['ws-client-queue-full'] ?? 0) > 0, 20_000, 'drops at the stalled client');
      const s = await getStatus(srv.url);
      expect(s.hosts[3]!.drops['ws-client-queue-full'] ?? 0).toBe(0);
    } finally {
      pinger?.ws.close(); // else h4 stays held and the next tests wait for it in vain
      blast.kill('SIGKILL');
    }
  });

  it('a free WebSocket host runs the built-in stack; a client takes it over; when it leaves the stack answers again', async () => {
    await until(async () => (await getStatus(srv.url)).hosts.every((h) => !h.ws?.held), 10_000, 'all hosts free');
    const asker = await openWs(wsUrl(srv, '/hosts/h3'));
    const macOf = async (): Promise<number[]> => {
      const g = new Guest(asker.ws, [0x02, 0x5e, 0, 0, 0, 0x33]); // a fresh guest: empty ARP cache
      g.ip = parseIp('10.11.0.3');
      expect(await g.ping(parseIp('10.11.0.2'), 1, 3000)).toBeGreaterThan(0);
      return g.resolveMac(parseIp('10.11.0.2'));
    };
    expect(await macOf()).toEqual([0x02, 0xe0, 0, 0, 0, 0x02]); // h2's built-in stack
    const holder = await openWs(wsUrl(srv, '/hosts/h2'));
    const hg = new Guest(holder.ws, [0x02, 0x5e, 0, 0, 0, 0x22]);
    await hg.dhcp(3000);
    expect(await macOf()).toEqual(hg.mac); // the client answers for 10.11.0.2 now
    expect(hg.counters.pingsAnswered).toBe(1);
    holder.ws.close();
    await holder.closed;
    await until(async () => !(await getStatus(srv.url)).hosts[1]!.ws!.held, 5000, 'h2 released');
    expect(await macOf()).toEqual([0x02, 0xe0, 0, 0, 0, 0x02]); // the built-in stack again
    asker.ws.close();
    await asker.closed;
  });

  it('a client that stops answering pings loses its host within 2 × keepalive; reconnecting gets it back', async () => {
    await until(async () => (await getStatus(srv.url)).hosts.every((h) => !h.ws?.held), 10_000, 'all hosts free');
    const dead = await openWs(wsUrl(srv, '/hosts/h2'), { autoPong: false });
    const t0 = Date.now();
    await until(async () => (await getStatus(srv.url)).hosts[1]!.ws!.held, 2000, 'h2 held');
    await until(async () => !(await getStatus(srv.url)).hosts[1]!.ws!.held, 4 * KEEPALIVE_S * 1000, 'h2 released by the keepalive');
    // Documented bound: 2 × keepalive, plus the status poll and a loaded machine's slack.
    expect(Date.now() - t0).toBeLessThan(2 * KEEPALIVE_S * 1000 + 2000);
    expect((await getStatus(srv.url)).server!.refused.deadClients).toBeGreaterThanOrEqual(1);
    dead.ws.terminate();
    const again = await openWs(wsUrl(srv, '/hosts/h2'));
    await until(async () => (await getStatus(srv.url)).hosts[1]!.ws!.held, 2000, 'h2 held again');
    again.ws.close();
    await again.closed;
  });
});
