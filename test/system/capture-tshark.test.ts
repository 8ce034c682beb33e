/**
 * SYSTEM test: files written by CaptureFile must open cleanly in the real tshark, with the frames,
 * ns timestamps, interface name and direction we wrote. Frames are built by hand (correct checksums),
 * so any "malformed"/"bad checksum" would point at the file format, not at the payloads.
 * Skips (with a reason) without tshark, except with CI=true, where it fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureFile, type CaptureFormat } from '../../src/capture/index.js';
import { requireTool } from './require-tool.js';

// ---- hand-built frames ----

const MAC_A = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const MAC_B = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const IP_A = [10, 0, 0, 1];
const IP_B = [10, 0, 0, 2];

/** RFC 1071 internet checksum over `b` (plus an optional starting sum). */
function inetChecksum(b: Uint8Array, start = 0): number {
  let sum = start;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ethernet(dst: number[], src: number[], etherType: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(payload, 14);
  return f;
}

function ipv4(proto: number, src: number[], dst: number[], payload: Uint8Array, id: number): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, id);
  dv.setUint16(6, 0x4000); // DF
  p[8] = 64;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  dv.setUint16(10, inetChecksum(p.subarray(0, 20)));
  p.set(payload, 20);
  return p;
}

function arpRequest(): Uint8Array {
  const a = new Uint8Array(28);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, 1); // Ethernet
  dv.setUint16(2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  dv.setUint16(6, 1); // request
  a.set(MAC_A, 8);
  a.set(IP_A, 14);
  a.set(IP_B, 24); // target MAC stays zero
  return ethernet(BCAST, MAC_A, 0x0806, a);
}

function icmpEchoRequest(): Uint8Array {
  const m = new Uint8Array(8 + 32);
  const dv = new DataView(m.buffer);
  m[0] = 8; // echo request
  dv.setUint16(4, 0x1234); // id
  dv.setUint16(6, 1); // seq
  for (let i = 0; i < 32; i++) m[8 + i] = 0x61 + (i % 23);
  dv.setUint16(2, inetChecksum(m));
  return ethernet(MAC_B, MAC_A, 0x0800, ipv4(1, IP_A, IP_B, m, 1));
}

function udp(payload: Uint8Array, id: number): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, 40000);
  dv.setUint16(2, 40001);
  dv.setUint16(4, u.length);
  u.set(payload, 8);
  // pseudo-header: src, dst, zero, proto 17, UDP length
  const pseudo = (IP_A[0]! << 8 | IP_A[1]!) + (IP_A[2]! << 8 | IP_A[3]!) + (IP_B[0]! << 8 | IP_B[1]!) + (IP_B[2]! << 8 | IP_B[3]!) + 17 + u.length;
  dv.setUint16(6, inetChecksum(u, pseudo) || 0xffff);
  return ethernet(MAC_B, MAC_A, 0x0800, ipv4(17, IP_A, IP_B, u, id));
}

const udpDatagram = (): Uint8Array => udp(new TextEncoder().encode('hello eop'), 2); // odd length: 51 bytes
const jumbo = (): Uint8Array => udp(Uint8Array.from({ length: 9000 - 42 }, (_, i) => i & 0xff), 3); // 9000 bytes

interface Sample {
  name: string;
  frame: Uint8Array;
  timeNs: number;
  epoch: string; // what tshark must print for frame.time_epoch
  dir: 'in' | 'out';
  ethType: string;
}

const samples: Sample[] = [
  { name: 'arp', frame: arpRequest(), timeNs: 1_000_000_001, epoch: '1.000000001', dir: 'out', ethType: '0x0806' },
  { name: 'icmp', frame: icmpEchoRequest(), timeNs: 4_294_967_297, epoch: '4.294967297', dir: 'out', ethType: '0x0800' },
  { name: 'udp', frame: udpDatagram(), timeNs: 5_000_000_123, epoch: '5.000000123', dir: 'in', ethType: '0x0800' },
  { name: 'jumbo', frame: jumbo(), timeNs: 9_007_199_254_740_991, epoch: '9007199.254740991', dir: 'in', ethType: '0x0800' },
];

// ---- tshark ----

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  expect(r.status, `tshark ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** One row per frame, tab-separated `fields` values. */
function fields(file: string, names: string[], extra: string[] = []): string[][] {
  const args = ['-r', file, '-n', ...extra, '-T', 'fields', '-E', 'separator=/t', ...names.flatMap((n) => ['-e', n])];
  return tshark(args)
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

const hasTshark = requireTool('tshark');

describe.skipIf(!hasTshark)('captures open cleanly in tshark', () => {
  let dir: string;
  const files: Record<CaptureFormat, string> = { pcap: '', pcapng: '' };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eop-tshark-'));
    for (const format of ['pcap', 'pcapng'] as const) {
      const cf = new CaptureFile({
        path: join(dir, 'captures', `h1-eop0.${format}`),
        format,
        interfaceName: 'h1-eop0',
        description: 'EOP interface of h1',
      });
      for (const s of samples) cf.write(s.timeNs, s.frame, s.dir);
      cf.close();
      expect(cf.stats).toMatchObject({ frames: samples.length, droppedFrames: 0, truncatedFrames: 0 });
      files[format] = cf.path;
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['pcap', 'pcapng'] as const)('%s: frame count, ns timestamps, lengths, EtherTypes', (format) => {
    const rows = fields(files[format], ['frame.number', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'eth.type']);
    expect(rows).toHaveLength(samples.length);
    rows.forEach((r, i) => {
      const s = samples[i]!;
      expect(r).toEqual([String(i + 1), s.epoch, String(s.frame.length), String(s.frame.length), s.ethType]);
    });
  });

  it.each(['pcap', 'pcapng'] as const)('%s: the protocols decode as built, with good checksums', (format) => {
    const rows = fields(
      files[format],
      ['frame.protocols', 'arp.opcode', 'icmp.type', 'icmp.checksum.status', 'ip.checksum.status', 'udp.checksum.status', 'udp.length'],
      ['-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'],
    );
    expect(rows[0]![0]).toBe('eth:ethertype:arp');
    expect(rows[0]![1]).toBe('1');
    expect(rows[1]![0]).toBe('eth:ethertype:ip:icmp:data');
    expect(rows[1]!.slice(2, 5)).toEqual(['8', '1', '1']); // echo request; 1 = Good
    expect(rows[2]![0]).toMatch(/^eth:ethertype:ip:udp/);
    expect(rows[2]!.slice(4, 7)).toEqual(['1', '1', '17']);
    expect(rows[3]!.slice(4, 7)).toEqual(['1', '1', String(9000 - 34)]);
  });

  it.each(['pcap', 'pcapng'] as const)('%s: no malformed packets, no expert errors', (format) => {
    expect(tshark(['-r', files[format], '-n', '-Y', '_ws.malformed'])).toBe('');
    const expert = tshark(['-r', files[format], '-n', '-q', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-z', 'expert']);
    expect(expert).not.toMatch(/malformed/i);
    // tshark 4.x prints sections like "Errors (3)" / "Warns (1)"; none may appear
    expect(expert).not.toMatch(/^\s*(Errors?|Warns|Warnings?)\s*\(/m);
  });

  it('pcapng: interface name, description and direction flags', () => {
    const rows = fields(files.pcapng, ['frame.interface_name', 'frame.interface_description', 'frame.packet_flags_direction']);
    expect(rows).toHaveLength(samples.length);
    rows.forEach((r, i) => {
      expect(r[0]).toBe('h1-eop0');
      expect(r[1]).toBe('EOP interface of h1');
      // tshark prints the masked flag field in hex: 1 = inbound, 2 = outbound
      expect(Number(r[2])).toBe(samples[i]!.dir === 'in' ? 1 : 2);
    });
  });

  it('a frame cut to snaplen is shown as captured-short, not malformed', () => {
    const cf = new CaptureFile({ path: join(dir, 'snap.pcapng'), format: 'pcapng', interfaceName: 'h1-eop0', snaplenBytes: 1514 });
    cf.write(1, jumbo(), 'in');
    cf.close();
    expect(cf.stats.truncatedFrames).toBe(1);
    expect(fields(cf.path, ['frame.len', 'frame.cap_len'])).toEqual([['9000', '1514']]);
  });
});
