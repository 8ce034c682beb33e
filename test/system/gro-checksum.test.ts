/**
 * SYSTEM test (issue 8 item 1): GRO in the live TAP bridge never delivers corrupted data.
 *
 * A raw AF_PACKET socket in eop-h1 opens a TCP connection to a real listening socket in eop-h2
 * (from an address h1's kernel does not own, 10.11.0.99, so h1's kernel stays out of it; h2 has a
 * static neighbour entry for it), then sends 8 back-to-back 1000-byte data segments:
 *  - with wrong TCP checksums: the application in h2 receives 0 bytes and h2's kernel counts exactly
 *    8 TCP checksum errors (what happens without GRO);
 *  - with wrong IPv4 header checksums: 0 bytes, 8 IP checksum errors;
 *  - with correct checksums (the control): all 8,000 bytes arrive, merged by GRO into fewer writes,
 *    which proves the segments did reach the coalescer as merge candidates.
 * EOP's status reports the 16 bad segments as `bad-csum-to-kernel 16` on h2.
 * Needs root, /dev/net/tun, the addon, ip, python3; skips locally without them, fails with CI=true.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './require-tool.js';
import { eopLeftovers, inNs, inNsAsync, liveReady, procNetCounter, sleep, startUp, statusOf, stopUp, type Up } from './live-helpers.js';

const ready = liveReady() && requireTool('python3');

const RACK = `name: gro-csum
mtu: 1500
hosts:
  - {name: h1, attach: tap}
  - {name: h2, attach: tap}
`;

/** Handshake as 10.11.0.99 over a packet socket, then 8 data segments, corrupted per `mode`. */
const CLIENT = String.raw`
import socket, struct, sys, time
ifname, src_mac, dst_mac, dst_ip, dport, mode, sport = sys.argv[1:]
dport = int(dport); sport = int(sport)
src_ip = '10.11.0.99'
mac = lambda m: bytes.fromhex(m.replace(':', ''))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(seq, ack, flags, payload=b''):
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    ps = socket.inet_aton(src_ip) + socket.inet_aton(dst_ip) + struct.pack('!BBH', 0, 6, len(tcp))
    tc = csum(ps + tcp)
    if mode == 'tcp' and payload: tc ^= 0x0101
    tcp = tcp[:16] + struct.pack('!H', tc) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ic = csum(ip)
    if mode == 'ip' and payload: ic ^= 0x0101
    ip = ip[:10] + struct.pack('!H', ic) + ip[12:]
    return mac(dst_mac) + mac(src_mac) + b'\x08\x00' + ip + tcp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((ifname, 0))
s.settimeout(0.2)
isn = 1000
peer = None
deadline = time.time() + 8
while peer is None and time.time() < deadline:
    s.send(frame(isn, 0, 0x02))
    end = time.time() + 0.5
    while time.time() < end:
        try: f = s.recv(2048)
        except socket.timeout: continue
        if len(f) < 54 or f[23] != 6 or f[26:30] != socket.inet_aton(dst_ip): continue
        sp, dp, seq, ack, off, fl = struct.unpack('!HHIIBB', f[34:48])
        if sp == dport and dp == sport and fl & 0x12 == 0x12:
            peer = seq
            break
if peer is None:
    print('no SYN-ACK'); sys.exit(3)
s.send(frame(isn + 1, peer + 1, 0x10))
time.sleep(0.3)
frames = [frame(isn + 1 + i * 1000, peer + 1, 0x10, bytes([(i * 31 + k) & 0xff for k in range(1000)])) for i in range(8)]
for f in frames: s.send(f)
print('sent 8')
`;

/** Accepts one connection and prints how many bytes arrived before 2 s of silence. */
const SERVER = String.raw`
import socket, sys
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('10.11.0.2', int(sys.argv[1]))); ls.listen(1); ls.settimeout(12)
c, _ = ls.accept(); c.settimeout(2.0)
n = 0
try:
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
except socket.timeout: pass
print('received', n)
`;

function counters(ns: string): { tcpCsum: number; ipCsum: number } {
  return { tcpCsum: procNetCounter(ns, 'snmp', 'Tcp', 'InCsumErrors'), ipCsum: procNetCounter(ns, 'netstat', 'IpExt', 'InCsumErrors') };
}

function ifaceAndMac(ns: string): { dev: string; mac: string } {
  const links = JSON.parse(inNs(ns, ['ip', '-j', 'link', 'show']).stdout) as { ifname: string; address: string }[];
  const l = links.find((x) => x.ifname !== 'lo')!;
  return { dev: l.ifname, mac: l.address };
}

describe.runIf(ready)('GRO never delivers segments whose checksums are wrong (real namespaces)', () => {
  let up: Up;
  let dir: string;
  let h1: { dev: string; mac: string };
  let h2: { dev: string; mac: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eop-gro-'));
    writeFileSync(join(dir, 'rack.yaml'), RACK);
    writeFileSync(join(dir, 'client.py'), CLIENT);
    writeFileSync(join(dir, 'server.py'), SERVER);
    up = await startUp([join(dir, 'rack.yaml'), '--no-captures']);
    h1 = ifaceAndMac('eop-h1');
    h2 = ifaceAndMac('eop-h2');
    const n = inNs('eop-h2', ['ip', 'neigh', 'replace', '10.11.0.99', 'lladdr', h1.mac, 'dev', h2.dev, 'nud', 'permanent']);
    expect(n.status, n.stderr).toBe(0);
  }, 40_000);

  afterAll(async () => {
    if (up) await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
    expect(eopLeftovers()).toEqual([]);
  }, 30_000);

  async function transfer(mode: 'tcp' | 'ip' | 'good', port: number): Promise<number> {
    const server = inNsAsync('eop-h2', ['python3', join(dir, 'server.py'), String(port)], 20_000);
    await sleep(300);
    const c = await inNsAsync('eop-h1', ['python3', join(dir, 'client.py'), h1.dev, h1.mac, h2.mac, '10.11.0.2', String(port), mode, String(port + 10000)], 20_000);
    expect(c.stdout + c.stderr).toContain('sent 8');
    const r = await server;
    const m = /received (\d+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    return Number(m![1]);
  }

  it('wrong TCP checksums: nothing reaches the application, the kernel counts all 8', async () => {
    const before = counters('eop-h2');
    expect(await transfer('tcp', 7101)).toBe(0);
    expect(counters('eop-h2').tcpCsum - before.tcpCsum).toBe(8);
  }, 40_000);

  it('wrong IPv4 header checksums: nothing reaches the application, the kernel counts all 8', async () => {
    const before = counters('eop-h2');
    expect(await transfer('ip', 7102)).toBe(0);
    expect(counters('eop-h2').ipCsum - before.ipCsum).toBe(8);
  }, 40_000);

  it('correct checksums (control): all 8,000 bytes arrive, merged by GRO; EOP reports the 16 bad ones', async () => {
    expect(await transfer('good', 7103)).toBe(8000);
    const st = await statusOf(up);
    const line = st.split('\n').find((l) => /^\s+h2\s/.test(l)) ?? '';
    expect(line).toMatch(/gro \d+ fr in \d+ writes/);
    expect(line).toContain('bad-csum-to-kernel 16');
  }, 40_000);
});
