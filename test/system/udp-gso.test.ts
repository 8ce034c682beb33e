/**
 * SYSTEM test (issue 10 item 7): UDP datagrams merged into GSO writes into the receiving namespace
 * (bridge/udp-coalesce.ts) reach the application exactly as sent, through `eop up` between two real
 * namespaces, and the kernel still drops what it would have dropped.
 *
 *  - IPv4 and IPv6: a real UDP socket in eop-h1 sends bursts of numbered datagrams of known content
 *    to a socket in eop-h2; every datagram arrives, intact, in order, and EOP's status for h2 shows
 *    `udp-gso N dg in M writes` (the merge happened; otherwise this test proves nothing).
 *  - Bad checksums: nothing in flight can corrupt a frame, so a packet socket in eop-h1 sends 64
 *    numbered datagrams of one flow with consecutive IDs, 8 with a wrong UDP checksum and 8 with a
 *    wrong IPv4 header checksum: the application gets exactly the 48 good ones, intact and in
 *    order, h2's kernel counts 8 UDP and 8 IP checksum errors (as without merging), EOP's status
 *    says `bad-csum-to-kernel 16`, and good ones around them were merged.
 * Needs root, /dev/net/tun, the addon, ip, python3, Linux ≥ 6.2 (UDP GSO writes into a TAP); skips
 * locally without them, fails with CI=true.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './require-tool.js';
import { eopLeftovers, inNs, inNsAsync, liveReady, procNetCounter, sleep, startUp, statusOf, stopUp, twoTapRack, type Up } from './live-helpers.js';

const ready = liveReady() && requireTool('python3') && requireTool('ss');


/** Payload of datagram `seq`: its number, then bytes that depend on it and on their position. */
const PAYLOAD = String.raw`
import struct
def payload(seq, size):
    return struct.pack('!I', seq) + bytes(((seq * 7 + i) & 0xff) for i in range(size - 4))
`;

/** Receives until `count` datagrams or 3 s of silence; prints the numbers received and how many were intact. */
const RECEIVER = PAYLOAD + String.raw`
import socket, sys, json
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: the burst must not overflow it
s.bind((sys.argv[1], int(sys.argv[2])))
count = int(sys.argv[3])
s.settimeout(15)
print('listening', flush=True)
seqs = []; intact = 0
try:
    while len(seqs) < count:
        d = s.recv(65536)
        seq = struct.unpack('!I', d[:4])[0]
        seqs.append(seq)
        if d == payload(seq, len(d)): intact += 1
        s.settimeout(3)
except socket.timeout: pass
print(json.dumps({'seqs': seqs, 'intact': intact}))
`;

/** A connected UDP socket sends `count` datagrams of `size` bytes in bursts of 64. */
const SENDER = PAYLOAD + String.raw`
import socket, sys, time
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
count, size = int(sys.argv[3]), int(sys.argv[4])
for seq in range(count):
    s.send(payload(seq, size))
    if seq % 64 == 63: time.sleep(0.005)
print('sent', count)
`;

/**
 * 64 datagrams of one flow (consecutive IDs) over a packet socket, back to back so that the fabric
 * delivers several per batch; every 8th from #3 with a wrong UDP checksum, every 8th from #6 with a
 * wrong IPv4 header checksum: each bad one sits between good ones that merge.
 */
const RAW_SENDER = PAYLOAD + String.raw`
import socket, sys
ifname, src_mac, dst_mac, src_ip, dst_ip, dport = sys.argv[1:]
mac = lambda m: bytes.fromhex(m.replace(':', ''))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(seq):
    data = payload(seq, 1000)
    udp = struct.pack('!HHHH', 40123, int(dport), 8 + len(data), 0) + data
    ps = socket.inet_aton(src_ip) + socket.inet_aton(dst_ip) + struct.pack('!BBH', 0, 17, len(udp))
    uc = csum(ps + udp) or 0xffff
    if seq % 8 == 3: uc ^= 0x0101
    udp = udp[:6] + struct.pack('!H', uc) + udp[8:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 7000 + seq, 0x4000, 64, 17, 0, socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ic = csum(ip)
    if seq % 8 == 6: ic ^= 0x0101
    ip = ip[:10] + struct.pack('!H', ic) + ip[12:]
    return mac(dst_mac) + mac(src_mac) + b'\x08\x00' + ip + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((ifname, 0))
frames = [frame(i) for i in range(64)]
for f in frames: s.send(f)
print('sent 64')
`;

interface Host {
  dev: string;
  mac: string;
  v4: string;
  v6: string;
}

/** A host's interface, MAC and addresses, from `eop up`'s own description line. */
function hostOf(up: Up, name: string): Host {
  const m = new RegExp(`^${name}: namespace \\S+, (\\S+) (\\S+) ([\\d.]+)/\\d+ ([\\da-f:]+)/\\d+`, 'm').exec(up.stdout());
  if (!m) throw new Error(`no address line for ${name} in:\n${up.stdout()}`);
  return { dev: m[1]!, mac: m[2]!, v4: m[3]!, v6: m[4]! };
}

function snmp(ns: string): { udpCsum: number; ipCsum: number } {
  return { udpCsum: procNetCounter(ns, 'snmp', 'Udp', 'InCsumErrors'), ipCsum: procNetCounter(ns, 'netstat', 'IpExt', 'InCsumErrors') };
}

/** The merged-datagram count in h2's status line (0 if none yet). */
async function mergedOnH2(up: Up): Promise<{ merged: number; line: string }> {
  const line = (await statusOf(up)).split('\n').find((l) => /^\s+h2\s/.test(l)) ?? '';
  return { merged: Number(/udp-gso (\d+) dg in \d+ writes/.exec(line)?.[1] ?? 0), line };
}

describe.runIf(ready)('UDP GSO writes into a namespace deliver every datagram intact and in order (real namespaces)', () => {
  let up: Up;
  let dir: string;
  let h1: Host;
  let h2: Host;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eop-udp-gso-'));
    writeFileSync(join(dir, 'rack.yaml'), twoTapRack('udp-gso')); // MTU 1500, the default
    writeFileSync(join(dir, 'rx.py'), RECEIVER);
    writeFileSync(join(dir, 'tx.py'), SENDER);
    writeFileSync(join(dir, 'raw.py'), RAW_SENDER);
    up = await startUp([join(dir, 'rack.yaml'), '--no-captures']);
    // An older kernel gets one write per datagram, said once: then this test cannot see a merge.
    expect(up.stderr()).not.toContain('does not take UDP GSO writes');
    h1 = hostOf(up, 'h1');
    h2 = hostOf(up, 'h2');
  }, 40_000);

  afterAll(async () => {
    if (up) await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
    expect(eopLeftovers()).toEqual([]);
  }, 30_000);

  /** Starts the receiver in h2, runs `send` in h1, returns what the receiver got. */
  async function receive(dst: string, port: number, count: number, send: string[]): Promise<{ seqs: number[]; intact: number }> {
    const rx = inNsAsync('eop-h2', ['python3', join(dir, 'rx.py'), dst, String(port), String(count)], 40_000);
    // The receiver must be bound before the first datagram (a missing socket is an ICMP, not a wait).
    for (let i = 0; i < 100 && !inNs('eop-h2', ['ss', '-Huln', `sport = :${port}`]).stdout.includes(String(port)); i++) await sleep(100);
    const tx = await inNsAsync('eop-h1', send, 40_000);
    expect(tx.stdout + tx.stderr).toMatch(/^sent \d+/m);
    const r = await rx;
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    expect(line, r.stdout + r.stderr).toBeDefined();
    return JSON.parse(line!) as { seqs: number[]; intact: number };
  }

  for (const fam of ['IPv4', 'IPv6'] as const) {
    it(`${fam}: 3000 datagrams of 1200 bytes from a real socket: all arrive, intact, in order, merged`, async () => {
      const before = (await mergedOnH2(up)).merged;
      const dst = fam === 'IPv4' ? h2.v4 : h2.v6;
      const port = fam === 'IPv4' ? 6201 : 6202;
      // Neighbour resolved first: datagrams the sending kernel queues while it resolves h2 may leave
      // out of order with those sent once it is resolved (seen with IPv6), which is not EOP's doing.
      expect(inNs('eop-h1', ['ping', '-c', '1', '-W', '5', dst]).status).toBe(0);
      const got = await receive(dst, port, 3000, ['python3', join(dir, 'tx.py'), dst, String(port), '3000', '1200']);
      expect(got.seqs.length).toBe(3000);
      expect(got.seqs).toEqual(Array.from({ length: 3000 }, (_, i) => i));
      expect(got.intact).toBe(3000);
      const after = await mergedOnH2(up);
      expect(after.merged, after.line).toBeGreaterThan(before);
    }, 60_000);
  }

  it('bad checksums: the application gets exactly the 48 good datagrams, the kernel counts the 16 bad ones', async () => {
    const before = snmp('eop-h2');
    const mergedBefore = (await mergedOnH2(up)).merged;
    const port = 6203;
    const good = Array.from({ length: 64 }, (_, i) => i).filter((i) => i % 8 !== 3 && i % 8 !== 6);
    const got = await receive(h2.v4, port, good.length, ['python3', join(dir, 'raw.py'), h1.dev, h1.mac, h2.mac, h1.v4, h2.v4, String(port)]);
    expect(got.seqs).toEqual(good);
    expect(got.intact).toBe(good.length);
    const after = snmp('eop-h2');
    expect(after.udpCsum - before.udpCsum).toBe(8);
    expect(after.ipCsum - before.ipCsum).toBe(8);
    const { merged, line } = await mergedOnH2(up);
    expect(line).toContain('bad-csum-to-kernel 16');
    // The good ones around them were merged: the bad ones were next to merges, not merely alone.
    expect(merged, line).toBeGreaterThan(mergedBefore);
  }, 60_000);
});
