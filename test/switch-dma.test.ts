/**
 * The DMA engine in the switch (src/pcie/switch-dma.ts, src/host/hrdma.ts `engineAt: 'switch'`)
 * against hand calculations: with few tags its throughput is tags × read size per read round trip;
 * with many, the completions' share of the host's up-link; it reads its source (and descriptors)
 * up the host's link and writes one completion element per descriptor down it.
 */
import { describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import { parseScenarioText } from '../src/bench/scenario.js';
import { DescFlag, DEFAULT_HRDMA, type HrdmaConfig } from '../src/host/hrdma.js';
import { remoteAddr } from '../src/mem/address-map.js';
import { DEFAULT_LINK, nsPerWireByte } from '../src/pcie/link.js';
import { bootedRack } from './helpers/rack.js';

const SRC = 0x4000_0000; // below 4 GiB: 3-DW read requests
const DST = 0x8000_0000;
const LINK = { ...DEFAULT_LINK }; // Gen3 x8, MPS 256, link latency 100 ns, RCB 64

/** h1's switch engine copies `total` bytes in `desc`-byte descriptors into h2; Gb/s from kick to the completion's landing. */
function switchStream(dma: Partial<HrdmaConfig>, total: number, desc: number) {
  const rack = bootedRack(2, { link: LINK, dma: { ...DEFAULT_HRDMA, engineAt: 'switch', ...dma } });
  const [h1, h2] = [rack.host('h1'), rack.host('h2')];
  h2.iommu.grant(h1.rid, DST, total, 'test');
  const up0 = h1.link.up.payloadBytes;
  const down0 = h1.link.down.payloadBytes;
  const h2down0 = h2.link.down.payloadBytes;
  let end = -1;
  h1.dma.completionVector = h1.irq.allocate(() => (end = rack.sched.now - h1.irq.handlerLatencyNs), false);
  const n = total / desc;
  for (let k = 0; k < n; k++) h1.dma.postCopy(SRC + k * desc, remoteAddr(2, DST + k * desc), desc, k === n - 1 ? DescFlag.INTERRUPT : 0, k);
  const t0 = rack.sched.now;
  h1.dma.kick();
  rack.sched.run();
  return {
    gbps: (total * 8) / (end - t0),
    h1, h2, rack,
    upBytes: h1.link.up.payloadBytes - up0,
    downBytes: h1.link.down.payloadBytes - down0,
    h2DownBytes: h2.link.down.payloadBytes - h2down0,
  };
}

describe('DMA engine in the switch', () => {
  it('2 tags, 512-byte reads: tags × read size per round trip (21.67 Gb/s on Gen3 x8), far below the link', () => {
    const npb = nsPerWireByte(LINK);
    // One read, by hand: the 3-DW request (12 + 8 B) down h1's link; the completer's time (the
    // link's latency both ways + host memory 90 ns); 512 B back in 8 completions of 64 B + 20 B.
    const rttNs = 20 * npb + (2 * LINK.latencyNs + DEFAULT_HRDMA.memReadNs) + 8 * (64 + 20) * npb;
    expect(rttNs).toBeCloseTo(378.09, 2); // 692 wire bytes × 0.12729 ns + 290 ns
    const bound = (2 * 512 * 8) / rttNs;
    const r = switchStream({ readTags: 2, readMrrsBytes: 512 }, 4 << 20, 1 << 20);
    // Steady state is exactly the bound; descriptor fetches, setup and the last write's path are
    // a few µs over 1.55 ms.
    expect(r.gbps / bound).toBeGreaterThan(0.995);
    expect(r.gbps / bound).toBeLessThanOrEqual(1);
    // Twice the tags, twice the rate (still below every link's share).
    const r4 = switchStream({ readTags: 4, readMrrsBytes: 512 }, 4 << 20, 1 << 20);
    expect(r4.gbps / (2 * bound)).toBeGreaterThan(0.99);
    expect(r4.gbps / (2 * bound)).toBeLessThanOrEqual(1);
  });

  it('32 tags (the default): the completions\' share of the host\'s up-link sets the pace (64 of every 84 bytes)', () => {
    const upLinkGbps = 8 / nsPerWireByte(LINK); // Gen3 x8 after SKP: 62.85 Gb/s
    const bound = (upLinkGbps * 64) / (64 + 20);
    expect(bound).toBeCloseTo(47.88, 2);
    const r = switchStream({}, 8 << 20, 1 << 19);
    expect(r.gbps / bound).toBeGreaterThan(0.97);
    expect(r.gbps / bound).toBeLessThanOrEqual(1);
  });

  it('reads source and descriptors up the host\'s link, writes one 32-byte completion element per descriptor down it', () => {
    const total = 1 << 20;
    const desc = 1 << 16;
    const r = switchStream({}, total, desc);
    const n = total / desc;
    // Up h1's link: the data's completions and the 64-byte descriptor fetches, nothing else.
    expect(r.upBytes).toBe(total + n * 64);
    // Down h1's link: payload only in the completion elements (read requests carry none).
    expect(r.downBytes).toBe(n * DEFAULT_HRDMA.completionBytes);
    expect(r.h2DownBytes).toBe(total);
    // The engine in the switch never writes the data up the source host's link: the engine beside
    // the CPU does (as a posted write through the NTB).
    expect(r.h1.dma.bytes).toBe(total);
  });

  it('the bytes arrive: the switch engine moves real memory', () => {
    const rack = bootedRack(2, { link: LINK, dma: { ...DEFAULT_HRDMA, engineAt: 'switch' } });
    const [h1, h2] = [rack.host('h1'), rack.host('h2')];
    h2.iommu.grant(h1.rid, DST, 8192, 'test');
    const data = new Uint8Array(5000).map((_, i) => (i * 7 + 3) & 0xff);
    h1.memory.write(SRC + 4, data);
    h1.dma.postCopy(SRC + 4, remoteAddr(2, DST + 4), data.length, 0, 1);
    h1.dma.kick();
    rack.sched.run();
    const got = new Uint8Array(data.length);
    h2.memory.read(DST + 4, got);
    expect(got).toEqual(data);
  });

  it('a scenario that sets the engine\'s read size, tags or channels out of range is refused naming the field', () => {
    const bad: [string, RegExp][] = [
      ['readMrrsBytes: 1000', /dma\.readMrrsBytes/],
      ['readTags: 0', /dma\.readTags/],
      ['channels: 0', /dma\.channels/],
      ['engineAt: fabric', /dma\.engineAt/],
    ];
    for (const [field, name] of bad) {
      const text = `name: s\nmessageBytes: [4096]\nrack:\n  dma:\n    ${field}\nvariants:\n  - name: a\n`;
      let err: unknown = null;
      try {
        parseScenarioText(text, 's.yaml');
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(EopError);
      expect((err as EopError).code).toBe(ErrorCode.CONFIG_INVALID);
      expect((err as EopError).message, field).toMatch(name);
    }
    expect(parseScenarioText('name: s\nmessageBytes: [4096]\nrack:\n  dma:\n    engineAt: switch\n    readTags: 8\n    channels: 2\nvariants:\n  - name: a\n', 's.yaml').variants).toHaveLength(1);
  });
});
