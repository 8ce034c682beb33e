/**
 * SYSTEM test of `eop serve` with TAP hosts, uplinks between racks, `eop attach --tap` and
 * `eop status` (needs root, /dev/net/tun, the addon, ip, ping, iperf3, tshark; skips locally
 * without them, fails with CI=true). Run inside /work/isolated.sh while developing.
 *
 * 1. One process, one rack of a TAP host, a WebSocket host and a built-in host: the namespace
 *    pings the WebSocket host (its client, the page's guest, answers) and the built-in host.
 * 2. Two racks in two processes (namespace prefixes a- and b-, so both are up at once), joined by
 *    `eop attach --uplink`: a namespace in rack A pings one in rack B and runs a 3 s iperf3 to it;
 *    both racks' captures (tshark) hold the ICMP echoes on the uplink interface and the TAP host's.
 * 3. `eop attach ws://…/hosts/<name> --tap`: a local namespace is rack A's WebSocket host, and
 *    pings a host of rack A from there.
 * 0. Without root: a rack of WebSocket and built-in hosts serves as nobody; one with a TAP host
 *    refuses with one sentence (exit 2).
 * 4. `eop status --json` against a running `eop up` (unix socket) and a running `eop serve` (URL
 *    from the registry), and the text form.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Guest } from '../../bridge/www/guest.js';
import { requireTool } from './require-tool.js';
import { CLI, inNs, inNsAsync, liveReady, sleep, startUp, stopUp } from './live-helpers.js';
import { getStatus, openWs, startCli, stopCli, until, type Proc } from './serve-helpers.js';

const ready = liveReady() && requireTool('iperf3') && requireTool('tshark');
const dir = mkdtempSync(join(tmpdir(), 'eop-ws-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
chmodSync(dir, 0o755); // the rack files are read by an unprivileged eop serve too

function rackFile(name: string, yaml: string): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, yaml);
  return p;
}

function statusJson(args: string[]): { status: number | null; json: { rack: string; mode: string; hosts: { name: string; txFrames: number; queuePairs: unknown[] }[] } | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, 'status', ...args], { encoding: 'utf8', timeout: 20_000 });
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    // the caller checks
  }
  return { status: r.status, json, stderr: r.stderr, stdout: r.stdout };
}

describe.skipIf(!ready)('eop serve with TAP hosts', () => {
  it('one process: a namespace pings the WebSocket host (its client answers) and a built-in host', async () => {
    // Host names and namespace prefix of its own: other test files run eop up (eop-h1…) meanwhile.
    const rack = rackFile('mixed', 'name: mixedws\nhosts:\n  - {name: m1, attach: tap}\n  - {name: m2, attach: websocket}\n  - m3\n');
    const srv = await startCli(['serve', rack, '--port', '0', '--no-captures', '--ns-prefix', 'wsm-']);
    try {
      const c = await openWs(srv.url.replace('http', 'ws') + '/hosts/m2');
      const g = new Guest(c.ws);
      expect((await g.dhcp(5000)).ip).toBe('10.11.0.2');
      const r = await inNsAsync('wsm-m1', ['ping', '-c', '5', '-i', '0.2', '-W', '3', '10.11.0.2'], 30_000);
      expect(r.stdout).toMatch(/5 packets transmitted, 5 received/);
      expect(g.counters.pingsAnswered).toBe(5);
      expect(inNs('wsm-m1', ['ping', '-c', '2', '-W', '3', '10.11.0.3']).stdout).toMatch(/2 received/);
      c.ws.close();
    } finally {
      expect(await stopCli(srv)).toBe(0);
    }
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toMatch(/wsm-/);
  });
});

describe.skipIf(!ready || !requireTool('setpriv'))('eop serve without root', () => {
  it('a rack of WebSocket and built-in hosts runs as nobody; one with a TAP host says what is missing (exit 2)', async () => {
    const asNobody = (args: string[]) =>
      spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
    const child = asNobody(['serve', '--port', '0', '--no-captures']);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    await until(() => /^ready: http/m.test(out), 30_000, 'eop serve as nobody to be ready');
    const url = /^ready: (http:\/\/\S+)/m.exec(out)![1]!;
    const c = await openWs(url.replace('http', 'ws') + '/hosts/h4');
    expect((await new Guest(c.ws).dhcp(5000)).ip).toBe('10.11.0.4');
    c.ws.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const rack = rackFile('tapnobody', 'name: tapnobody\nhosts:\n  - {name: h1, attach: tap}\n  - h2\n');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'serve', rack, '--port', '0'], { encoding: 'utf8', timeout: 30_000, cwd: tmpdir() });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has TAP hosts \(h1\), and eop needs root/);
  });
});

describe.skipIf(!ready)('two racks joined by an uplink', () => {
  let a: Proc;
  let b: Proc;
  let link: Proc;
  const capA = join(dir, 'capA');
  const capB = join(dir, 'capB');
  beforeAll(async () => {
    const host = (n: string, i: string, mac: string, attach: string): string => `  - {name: ${n}, attach: ${attach}, mac: "${mac}", ipv4: 10.11.0.${i}/24, ipv6: "fd00:e0::${i}/64"}`;
    const ra = rackFile('ra', ['name: ra', 'hosts:', host('a1', '1', '02:0a:00:00:00:01', 'tap'), host('a2', '2', '02:0a:00:00:00:02', 'websocket'), host('aup', '250', '02:0a:00:00:00:fe', 'uplink')].join('\n'));
    const rb = rackFile('rb', ['name: rb', 'hosts:', host('b1', '11', '02:0b:00:00:00:01', 'tap'), host('b2', '12', '02:0b:00:00:00:02', 'builtin'), host('bup', '251', '02:0b:00:00:00:fe', 'uplink')].join('\n'));
    // Headers only: a fast iperf3 must not rotate the pings out of the files.
    a = await startCli(['serve', ra, '--port', '0', '--ns-prefix', 'a-', '--capture-dir', capA, '--capture-snaplen', 'headers']);
    b = await startCli(['serve', rb, '--port', '0', '--ns-prefix', 'b-', '--capture-dir', capB, '--capture-snaplen', 'headers']);
    link = await startCli(['attach', '--uplink', a.url.replace('http', 'ws'), b.url.replace('http', 'ws')]);
  });
  afterAll(async () => {
    await stopCli(link);
    expect(await stopCli(a)).toBe(0);
    expect(await stopCli(b)).toBe(0);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toMatch(/^[ab]-/m);
  });

  it('a namespace in rack A pings one in rack B and a built-in host of B', async () => {
    const r = await inNsAsync('a-a1', ['ping', '-c', '5', '-i', '0.2', '-W', '3', '10.11.0.11'], 30_000);
    expect(r.stdout).toMatch(/5 packets transmitted, 5 received/);
    expect(inNs('a-a1', ['ping', '-c', '2', '-W', '3', '10.11.0.12']).stdout).toMatch(/2 received/);
    const sa = await getStatus(a.url);
    const up = sa.hosts.find((h) => h.name === 'aup')!;
    expect(up.ws!.held).toBe(true);
    expect(up.txFrames).toBeGreaterThanOrEqual(7); // replies from B entered A through the uplink
  });

  it('a 3 s iperf3 from rack A to rack B', async () => {
    const server = inNsAsync('b-b1', ['iperf3', '-s', '-1', '-p', '5211'], 40_000);
    let r: { status: number | null; stdout: string; stderr: string } | null = null;
    for (let i = 0; i < 20; i++) {
      await sleep(200);
      r = await inNsAsync('a-a1', ['iperf3', '-c', '10.11.0.11', '-p', '5211', '-t', '3', '-J'], 30_000);
      if (r.status === 0 || !/refused|unable to connect/i.test(r.stdout + r.stderr)) break;
    }
    await server;
    expect(r!.status).toBe(0);
    const j = JSON.parse(r!.stdout) as { end: { sum_received: { bytes: number; bits_per_second: number } } };
    expect(j.end.sum_received.bytes).toBeGreaterThan(0);
    console.log(`uplink iperf3: ${(j.end.sum_received.bits_per_second / 1e6).toFixed(1)} Mb/s received (loaded machine)`);
  });

  it("both racks' captures hold the echoes, on the uplink interface and the TAP host's", async () => {
    // Captures are flushed on exit: stop the racks first (afterAll tolerates stopped processes).
    await stopCli(link);
    await stopCli(a);
    await stopCli(b);
    // The iperf3 run can fill a file past its size cap: the pings before it are then in the
    // rotated sibling (name.1, …), so count over the whole set.
    const count = (file: string): number => {
      const dirOf = dirname(file);
      const base = basename(file);
      const set = readdirSync(dirOf).filter((f) => f === base || (f.startsWith(`${base}.`) && /^\d+$/.test(f.slice(base.length + 1))));
      let n = 0;
      for (const f of set) {
        const r = spawnSync('tshark', ['-r', join(dirOf, f), '-Y', 'icmp.type == 8 && ip.src == 10.11.0.1 && ip.dst == 10.11.0.11'], { encoding: 'utf8', timeout: 30_000 });
        expect(r.status).toBe(0);
        n += r.stdout.split('\n').filter((l) => l.trim()).length;
      }
      return n;
    };
    // Each echo request appears once on the sender's side (tx) and once on the uplink's (rx) in A,
    // and on the uplink's (tx) and the receiver's (rx) in B.
    expect(count(join(capA, 'eop-a1.pcapng'))).toBeGreaterThanOrEqual(5);
    expect(count(join(capA, 'eop-aup.pcapng'))).toBeGreaterThanOrEqual(5);
    expect(count(join(capB, 'eop-bup.pcapng'))).toBeGreaterThanOrEqual(5);
    expect(count(join(capB, 'eop-b1.pcapng'))).toBeGreaterThanOrEqual(5);
  });
});

describe.skipIf(!ready)('eop attach --tap and eop status', () => {
  it('a local namespace becomes a remote WebSocket host and pings the rack', async () => {
    const rack = rackFile('remote', 'name: remote\nhosts:\n  - r1\n  - {name: r2, attach: websocket}\n');
    const srv = await startCli(['serve', rack, '--port', '0', '--no-captures']);
    let att: Proc | undefined;
    try {
      att = await startCli(['attach', `${srv.url.replace('http', 'ws')}/hosts/r2`, '--tap', '--netns', 'eopr-r2']);
      expect(att.stdout()).toMatch(/ready: namespace eopr-r2 is r2/);
      const r = await inNsAsync('eopr-r2', ['ping', '-c', '3', '-i', '0.2', '-W', '3', '10.11.0.1'], 30_000);
      expect(r.stdout).toMatch(/3 received/);
      const s = await getStatus(srv.url);
      expect(s.hosts[1]!.ws!.held).toBe(true);
      expect(s.hosts[1]!.ws!.clientMac).toBe('02:e0:00:00:00:02'); // the TAP carries the host's MAC
    } finally {
      expect(await stopCli(att)).toBe(0);
      await stopCli(srv);
    }
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toMatch(/eopr-r2/);
  });

  it('eop status --json reads a running eop up and a running eop serve', async () => {
    // A TAP rack of its own name and prefix (other test files run eop up with eop-h1… meanwhile).
    const upRack = rackFile('statusup', 'name: statusup\nhosts:\n  - {name: s1, attach: tap}\n  - {name: s2, attach: tap}\n  - s3\n');
    const up = await startUp([upRack, '--no-captures', '--ns-prefix', 'wss-']);
    let srv: Proc | undefined;
    try {
      await until(() => statusJson(['statusup', '--json']).status === 0, 10_000, 'the eop up status socket');
      const st = statusJson(['statusup', '--json']);
      expect(st.json!.mode).toBe('up');
      expect(st.json!.rack).toBe('statusup');
      expect(st.json!.hosts.map((h) => h.name)).toEqual(['s1', 's2', 's3']);
      expect(st.json!.hosts[0]!.queuePairs).toHaveLength(2);
      inNs('wss-s1', ['ping', '-c', '3', '-i', '0.2', '10.11.0.2']);
      const after = statusJson(['statusup', '--json']);
      expect(after.json!.hosts[0]!.txFrames).toBeGreaterThanOrEqual(3);
      // A second rack (no TAP hosts) beside it: eop status without a name refuses while several run.
      const rack = rackFile('second', 'name: second\nhosts: [x1, {name: x2, attach: websocket}]\n');
      srv = await startCli(['serve', rack, '--port', '0', '--no-captures']);
      const both = statusJson(['--json']);
      expect(both.status).toBe(2);
      expect(both.stderr).toMatch(/\d+ racks are running/);
      const second = statusJson(['second', '--json']);
      expect(second.json!.mode).toBe('serve');
      expect(second.json!.hosts.map((h) => h.name)).toEqual(['x1', 'x2']);
      const byUrl = statusJson([srv.url, '--json']);
      expect(byUrl.json!.rack).toBe('second');
      const text = statusJson(['second']);
      expect(text.stdout).toMatch(/^rack "second" \(eop serve, pid \d+\)/);
      expect(text.stdout).toMatch(/live: (keeping up|BEHIND) now/);
    } finally {
      await stopCli(srv);
      await stopUp(up);
    }
  }, 90_000); // a dozen CLI processes one after another: seconds each on a loaded machine
});
