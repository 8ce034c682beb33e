/**
 * The host's two copy engines and its reads, from mechanism (src/host/cpu-copy.ts, hrdma.ts,
 * src/pcie/fabric.ts), against hand calculations: a core's stores through the write-combining
 * window are bounded by its WC buffers; uncached loads through the window are one round trip each;
 * the ratio of HRDMA to CPU copy on a link follows from both engines and the link's TLP sizes; the
 * control path's read round trip is derived from the path, not a multiple of it.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CPU, UC_LOAD_BYTES, WC_TLP_BYTES, wcStoreGbps, windowCopyGbps } from '../src/host/cpu-copy.js';
import { DescFlag, DEFAULT_HRDMA } from '../src/host/hrdma.js';
import { remoteAddr } from '../src/mem/address-map.js';
import { DEFAULT_SWITCH } from '../src/pcie/fabric.js';
import { DEFAULT_LINK, effectiveWriteGbps, nsPerWireByte, type LinkConfig } from '../src/pcie/link.js';
import { bootedRack } from './helpers/rack.js';

const SRC = 0x4000_0000;
const DST = 0x8000_0000;

/**
 * Gb/s of `total` bytes copied by h1's core from its memory into h2's through the NTB window, in
 * `chunk`-byte copies; `lessHandler`: leave the completion interrupt's entry out of the time.
 */
function cpuStream(link: Partial<LinkConfig>, o: { chunk: number; lessHandler: boolean }, total = 4 << 20): number {
  const rack = bootedRack(2, { link: { ...DEFAULT_LINK, ...link } });
  const [h1, h2] = [rack.host('h1'), rack.host('h2')];
  h2.iommu.grant(h1.rid, DST, total, 'test');
  const t0 = rack.sched.now;
  let end = -1;
  for (let k = 0; k < total; k += o.chunk) h1.cpu.copy(SRC + k, remoteAddr(2, DST + k), o.chunk);
  h1.cpu.commit(() => (end = rack.sched.now));
  rack.sched.run();
  return (total * 8) / (end - t0 - (o.lessHandler ? h1.irq.handlerLatencyNs : 0));
}


describe('CPU stores through the write-combining window', () => {
  it('one core: 10 WC buffers × 64 B per 100 ns drain = 51.2 Gb/s, below its own copy rate', () => {
    expect(wcStoreGbps(DEFAULT_CPU)).toBeCloseTo((10 * 64 * 8) / 100, 9);
    expect(windowCopyGbps(DEFAULT_CPU)).toBeCloseTo(51.2, 9);
    expect(windowCopyGbps({ ...DEFAULT_CPU, copyGbps: 30 })).toBe(30); // a slower core is its own bound
  });


  it('on a wide link the core is the bound; on a narrow one the link at 64-byte TLPs', () => {
    // Gen4 x16 carries 64-byte TLPs at far more than 51.2 Gb/s: the WC buffers set the pace
    // (less the copy setup per 64 KiB and one path latency over 4 MiB: within 1 %).
    const wide = cpuStream({ gen: 4, width: 16 }, { chunk: 65536, lessHandler: true });
    expect(wide / 51.2).toBeGreaterThan(0.985);
    expect(wide / 51.2).toBeLessThan(1);
    // Gen2 x4 at 64-byte TLPs (4-DW headers): 16 × 1534/1538 × 64 / 88 = 11.605 Gb/s, below 51.2.
    const narrow = cpuStream({ gen: 2, width: 4 }, { chunk: 65536, lessHandler: true });
    const limit = effectiveWriteGbps({ ...DEFAULT_LINK, gen: 2, width: 4 }, { tlpBytes: WC_TLP_BYTES });
    expect(limit).toBeCloseTo(16 * (1534 / 1538) * (64 / 88), 3);
    expect(narrow / limit).toBeGreaterThan(0.99);
    expect(narrow / limit).toBeLessThanOrEqual(1);
  });

  it('uncached loads through the window: one 8-byte load at a time, each a full round trip', () => {
    const rack = bootedRack(2);
    const [h1, h2] = [rack.host('h1'), rack.host('h2')];
    const t0 = rack.sched.now;
    const end = h1.cpu.readRemote(h2, DST, 64);
    // Per load: the request (4-DW header + 8 B framing) up h1's link, 450 ns of path, then h2's
    // down-link (3-DW header: the address is below 4 GiB there); nothing modeled at the completer
    // (memory); the completion (8 B + 3-DW header + 8) back along the path: 2 × 450 ns of latency.
    const b = nsPerWireByte(DEFAULT_LINK);
    const path = 2 * DEFAULT_LINK.latencyNs + DEFAULT_SWITCH.hopLatencyNs + 2 * DEFAULT_SWITCH.ntbTranslateNs;
    const request = (16 + 8) * b + path + (12 + 8) * b;
    const completion = (8 + 12 + 8) * b + path + (8 + 12 + 8) * b;
    const perLoad = request + completion;
    expect(end - t0).toBeCloseTo((64 / UC_LOAD_BYTES) * perLoad, 6);
    // ≈ 7.3 µs for 64 bytes: why the driver never reads through the window (a write takes 0.5 µs)
    expect(end - t0).toBeGreaterThan(7000);
    expect(h1.cores.freeAt(0)).toBeCloseTo(end, 9); // the core waited for every load
  });
});

describe('HRDMA versus CPU copy on one link: the ratio is a prediction', () => {
  /** Gb/s of 4 MiB in 512 KiB descriptors (ntb_perf style), completion interrupt on the last. */
  function dmaStream(link: Partial<LinkConfig>, total = 4 << 20, chunk = 1 << 19): number {
    const rack = bootedRack(2, { link: { ...DEFAULT_LINK, ...link } });
    const [h1, h2] = [rack.host('h1'), rack.host('h2')];
    h2.iommu.grant(h1.rid, DST, total, 'test');
    const t0 = rack.sched.now;
    let end = -1;
    h1.dma.completionVector = h1.irq.allocate(() => (end = rack.sched.now), false);
    const n = total / chunk;
    for (let k = 0; k < n; k++) h1.dma.postCopy(SRC + k * chunk, remoteAddr(2, DST + k * chunk), chunk, k === n - 1 ? DescFlag.INTERRUPT : 0, k);
    h1.dma.kick();
    rack.sched.run();
    return (total * 8) / (end - t0 - h1.irq.handlerLatencyNs);
  }


  it('each engine runs at the lower of its own rate and the link at its TLP size; the ratio follows', () => {
    for (const link of [
      { gen: 2, width: 4 },
      { gen: 3, width: 8 },
      { gen: 4, width: 16 },
    ] as const) {
      const cfg = { ...DEFAULT_LINK, ...link };
      const dmaBound = Math.min(DEFAULT_HRDMA.peakGbps, effectiveWriteGbps(cfg));
      const cpuBound = Math.min(windowCopyGbps(DEFAULT_CPU), effectiveWriteGbps(cfg, { tlpBytes: WC_TLP_BYTES }));
      const dma = dmaStream(link);
      const cpu = cpuStream(link, { chunk: 1 << 19, lessHandler: false });
      // within 2 % of each bound (setup per descriptor/copy and one path latency over 4 MiB)
      expect(dma / dmaBound, `dma on Gen${link.gen} x${link.width}`).toBeGreaterThan(0.98);
      expect(dma / dmaBound).toBeLessThanOrEqual(1.0001);
      expect(cpu / cpuBound, `cpu on Gen${link.gen} x${link.width}`).toBeGreaterThan(0.98);
      expect((dma / cpu) / (dmaBound / cpuBound)).toBeCloseTo(1, 1);
    }
    // Gen2 x4: both link-bound, DMA ahead by its bigger TLPs (256 vs 64 B payload per 24 B of
    // overhead): 12.66 / 11.61 ≈ 1.09. Gen4 x16: both engine-bound, CPU ahead: 40 / 51.2 ≈ 0.78.
  });
});

describe('control path: a read round trip derived from the path', () => {
  it('scratchpad read: request and 4-byte completion serialized on each link, path latency each way, one switch hop at the completer', () => {
    const rack = bootedRack(2);
    const [h1, h2] = [rack.host('h1'), rack.host('h2')];
    const b = nsPerWireByte(DEFAULT_LINK);
    const path = 2 * DEFAULT_LINK.latencyNs + DEFAULT_SWITCH.hopLatencyNs + 2 * DEFAULT_SWITCH.ntbTranslateNs;
    // Request: 24 B on h1's up-link, the path, 24 B on h2's down-link (register aperture: 4 DW).
    // Completion: 4 B + 3-DW header + 8 on h2's up-link, the path, the same on h1's down-link.
    const expected = 24 * b + path + 24 * b + DEFAULT_SWITCH.hopLatencyNs + 24 * b + path + 24 * b;
    expect(rack.fabric.readRoundTripNs(h1, h2)).toBeCloseTo(expected, 9);
    // It used to be 2 × path latency = 900 ns: the derivation adds the hop at the completer and the
    // four serializations (≈ 12 ns).
    expect(expected).toBeCloseTo(2 * path + 150 + 96 * b, 9);
  });
});

describe('HRDMA descriptor fetch: a read before each descriptor, hidden when the engine is busy', () => {
  /** When one 64-byte COPY from an idle engine lands at h2 (completion hard-IRQ time − 700). */
  function oneCopyNs(engineAt: 'host' | 'switch'): { ns: number; stalls: number } {
    const rack = bootedRack(2, { dma: { ...DEFAULT_HRDMA, engineAt } });
    const [h1, h2] = [rack.host('h1'), rack.host('h2')];
    h2.iommu.grant(h1.rid, DST, 4096, 'test');
    let end = -1;
    h1.dma.completionVector = h1.irq.allocate(() => (end = rack.sched.now), false);
    const t0 = rack.sched.now;
    h1.dma.postCopy(SRC, remoteAddr(2, DST), 64, DescFlag.INTERRUPT, 1);
    h1.dma.kick();
    rack.sched.run();
    return { ns: end - t0 - h1.irq.handlerLatencyNs, stalls: h1.dma.fetchStalls };
  }

  it('an engine in the switch fetches across the host link, reads its source the same way, writes on from the switch and its completion back', () => {
    const host = oneCopyNs('host');
    const sw = oneCopyNs('switch');
    expect(host.stalls).toBe(1);
    expect(sw.stalls).toBe(1);
    // One read across h1's link (the descriptor's 64 B, then the source's 64 B): the request
    // (3-DW header + 8 B) down, link latency, memory 90 ns, link latency, the 64-byte completion
    // (64 + 12 + 8 B) up. Between them the setup (400 ns). Then the write from the switch: one hop,
    // the NTB, h2's link latency, 64 + 20 B on h2's down-link; then the 32-byte completion element
    // down h1's link (one hop, link latency, 32 + 20 B).
    const b = nsPerWireByte(DEFAULT_LINK);
    const readNs = (12 + 8) * b + 2 * DEFAULT_LINK.latencyNs + DEFAULT_HRDMA.memReadNs + (64 + 12 + 8) * b;
    const writeNs = DEFAULT_SWITCH.hopLatencyNs + DEFAULT_SWITCH.ntbTranslateNs + DEFAULT_LINK.latencyNs + (64 + 20) * b;
    const ceNs = DEFAULT_SWITCH.hopLatencyNs + DEFAULT_LINK.latencyNs + (DEFAULT_HRDMA.completionBytes + 20) * b;
    expect(sw.ns).toBeCloseTo(readNs + DEFAULT_HRDMA.setupNs + readNs + writeNs + ceNs, 6);
  });

  it('back-to-back descriptors: each fetch overlaps the previous copy, only the first stalls', () => {
    const rack = bootedRack(2);
    const [h1, h2] = [rack.host('h1'), rack.host('h2')];
    h2.iommu.grant(h1.rid, DST, 1 << 20, 'test');
    // 4 KiB copies take 819 ns in the engine: far longer than a 90 ns fetch.
    for (let k = 0; k < 8; k++) h1.dma.postCopy(SRC + k * 4096, remoteAddr(2, DST + k * 4096), 4096, 0, k + 1);
    h1.dma.kick();
    rack.sched.run();
    expect(h1.dma.completed).toBe(8);
    expect(h1.dma.fetchStalls).toBe(1);
  });
});
