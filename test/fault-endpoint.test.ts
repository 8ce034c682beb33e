/**
 * `/api/faults` of a running rack (what `eop fault` talks to), on a real live rack of built-in
 * hosts (no TAPs, so no root) behind the real HTTP server on a loopback port: a fault posted there
 * goes through the installed fault wrappers (the rack's state changes, the fault log has it with
 * its time), and every bad request gets its status and a sentence. The request parser is tested
 * on its own at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveFaultEndpoint } from '../bridge/fault-endpoint.js';
import { LiveRack } from '../bridge/live-rack.js';
import { RackServer } from '../bridge/ws-server.js';
import { parseFaultRequest } from '../src/topology/fault-request.js';
import { parseTopologyText } from '../src/topology/load.js';

const RACK = ['name: api', 'hosts:', '  - {name: mh, role: management}', '  - {name: mhb, role: management}', '  - h1', '  - h2', '  - h3', 'captures: {enabled: false}', 'managementFailover: {heartbeatUs: 2000, missedHeartbeats: 3, takeoverBaseUs: 1000, portTakeoverUs: 100}'].join('\n');
const TOKEN = 's3cret-token';

let live: LiveRack;
let server: RackServer;
let url = '';

beforeAll(async () => {
  live = new LiveRack(parseTopologyText(RACK, 'api.yaml'), { captures: false });
  server = new RackServer({ port: 0, token: TOKEN, status: () => ({}), faults: liveFaultEndpoint(live) });
  url = await server.listen();
  live.start();
});
afterAll(async () => {
  await server.close();
  live.stop();
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/faults`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /api/faults on a live rack', () => {
  it('link-down h2 takes h2 down now, logged with its time; link-up brings it back', async () => {
    const before = live.rack.sched.now;
    const r = await post({ kind: 'link-down', target: 'h2' });
    expect(r.status).toBe(200);
    const a = (await r.json()) as { origin: string; events: { phase: string; kind: string; host: string; timeUs: number }[] };
    expect(a.origin).toBe('eop fault #1');
    expect(a.events).toEqual([expect.objectContaining({ phase: 'fault', kind: 'link-down', host: 'h2' })]);
    expect(a.events[0]!.timeUs * 1000).toBeGreaterThanOrEqual(before);
    expect(live.rack.host('h2').ntb!.linkUp).toBe(false);
    expect(live.rack.nic('h2').qps.filter(Boolean).every((q) => q!.state === 'down')).toBe(true);
    expect(live.faults.log.injected['link-down']).toBe(1);
    expect((await post({ kind: 'link-up', target: 'h2' })).status).toBe(200);
    // The peers renegotiate within the model's few µs; give the loaded machine seconds.
    const deadline = Date.now() + 10_000;
    while (live.faults.log.recovered['link-down'] === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(live.faults.log.recovered['link-down']).toBe(1);
  });

  it('mh-fail of the master: the backup takes over after the modelled time', async () => {
    const r = await post({ kind: 'mh-fail', target: 'mh' });
    expect(r.status).toBe(200);
    expect(live.rack.management!.vs.switches[0]!.alive).toBe(false);
    const list = (await (await fetch(`${url}/api/faults`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      targets: { compute: string[]; management: string[] };
      injected: Record<string, number>;
    };
    expect(list.targets).toEqual({ compute: ['h1', 'h2', 'h3'], management: ['mh', 'mhb'], twoPaths: [] });
    expect(list.injected['mh-fail']).toBe(1);
    const deadline = Date.now() + 10_000;
    while (live.faults.log.recovered['mh-fail'] === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    const t = live.rack.management!.takeovers[0]!;
    expect([t.from, t.to, t.ports]).toEqual(['mh', 'mhb', 3]);
    // 4 to 6 ms of detection (3 heartbeats of 2 ms after the last one seen), then 1.3 ms of work.
    expect(t.detectedAt - t.failedAt).toBeGreaterThan(4_000_000);
    expect(t.detectedAt - t.failedAt).toBeLessThanOrEqual(6_000_000);
    expect(t.doneAt - t.detectedAt).toBe(1_300_000);
  });

  it('refuses bad requests with a status and a sentence, and injects nothing', async () => {
    const n = live.faults.log.events.length;
    const cases: [() => Promise<Response>, number, RegExp][] = [
      [() => post({ kind: 'link-dwn', target: 'h2' }), 400, /kind: must be one of .*did you mean "link-down"/],
      [() => post({ kind: 'link-down', target: 'h9' }), 400, /target: unknown host "h9" \(compute hosts are h1, h2, h3\)/],
      [() => post({ kind: 'mh-fail', target: 'h1' }), 400, /"h1" is a compute host; mh-fail hits a management host \(management hosts: mh, mhb\)/],
      [() => post({ kind: 'link-down', target: 'h1', count: 2 }), 400, /count: only dma-error/],
      [() => post({ kind: 'link-down' }), 400, /target/],
      [() => post('{"kind": '), 400, /not JSON/],
      [() => post({ kind: 'link-down', target: 'h1' }, { 'content-type': 'text/plain' }), 415, /content-type: application\/json/],
      [() => post({ kind: 'link-down', target: 'h1', pad: 'x'.repeat(5000) }), 413, /at most 4096 bytes/],
      [() => post({ kind: 'link-down', target: 'h1' }, { authorization: 'Bearer wrong' }), 401, /token is required/],
      [() => post({ kind: 'link-down', target: 'h1' }, { origin: 'http://evil.example' }), 403, /not allowed/],
      [() => fetch(`${url}/api/faults`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } }), 405, /only GET and POST/],
    ];
    for (const [req, status, text] of cases) {
      const r = await req();
      const body = (await r.text()).replace(/\\"/g, '"');
      expect([r.status, body], body).toEqual([status, expect.stringMatching(text)]);
    }
    expect(live.faults.log.events.length).toBe(n);
    expect(live.rack.host('h1').ntb!.linkUp).toBe(true);
  });
});

describe('parseFaultRequest', () => {
  const t = { compute: ['h1', 'h2'], management: ['mh'] };
  it('fills the defaults of a rack file entry; atUs is from now', () => {
    expect(parseFaultRequest({ kind: 'irq-lost', target: 'h1', count: 3 }, t, 'x')).toEqual({
      ok: true,
      spec: { origin: 'x', atUs: 0, kind: 'irq-lost', host: 'h1', count: 3, pollUs: 1000, path: 'primary' },
    });
  });
  it('path-down needs a host with two NTB paths; path only on path kinds', () => {
    const two = { ...t, twoPaths: ['h2'] };
    expect(parseFaultRequest({ kind: 'path-down', target: 'h2', path: 'backup' }, two, 'x')).toMatchObject({ ok: true, spec: { kind: 'path-down', host: 'h2', path: 'backup' } });
    expect(parseFaultRequest({ kind: 'path-down', target: 'h1' }, two, 'x')).toEqual({
      ok: false,
      problems: ['target: "h1" has one NTB path: path-down needs a host with two (hosts with two: h2)'],
    });
    expect(parseFaultRequest({ kind: 'link-down', target: 'h1', path: 'backup' }, two, 'x')).toEqual({
      ok: false,
      problems: ['path: only path-down, path-up hit one NTB path; "link-down" hits the host (remove path)'],
    });
  });

  it('lists every problem, not a body that is not an object', () => {
    expect(parseFaultRequest([1], t, 'x')).toEqual({ ok: false, problems: ['must be a JSON object with "kind" and "target"'] });
    const r = parseFaultRequest({ kind: 'link-up', target: 'mh', atUs: -1, pollUs: 3 }, t, 'x');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      'atUs: must be a number >= 0',
      'target: "mh" is a management host, which only mh-fail and mh-restart hit (compute hosts are h1, h2)',
      'pollUs: only irq-lost has a driver poll interval (remove pollUs)',
    ]);
  });
});
