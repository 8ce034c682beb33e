import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { DEFAULT_HRDMA, Desc, DescError, DescFlag, DescStatus, descErrorCode, descErrorId, type Reaped } from '../src/host/hrdma.js';
import type { Host } from '../src/host/host.js';
import { remoteAddr } from '../src/mem/address-map.js';
import { DEFAULT_SWITCH } from '../src/pcie/fabric.js';
import { DEFAULT_LINK, wireTimeNs } from '../src/pcie/link.js';
import { DEFAULT_IRQ_HANDLER_NS, type Rack } from '../src/topology/rack.js';
import { bootedRack } from './helpers/rack.js';

const GiB = 1024 * 1024 * 1024;
const SRC = 2 * GiB; // in h1, clear of everything EOP allocated
const DST = 8 * GiB; // in h2

interface Setup {
  rack: Rack;
  h1: Host;
  h2: Host;
  /** Times at which h1's DMA completion handler ran. */
  irqs: number[];
}

/**
 * A booted rack (the NTB links must be up for anything to cross), with h1's DMA completion vector
 * pointed at a test handler instead of the EOP driver's (no EOP traffic runs in these tests).
 */
function setup(): Setup {
  const rack = bootedRack(2);
  const h1 = rack.host('h1');
  const h2 = rack.host('h2');
  const irqs: number[] = [];
  // The completion handler as measured: the hard-IRQ part (a driver would defer its work: +softirq).
  h1.dma.completionVector = h1.irq.allocate(() => irqs.push(rack.sched.now), false);
  h2.iommu.grant(h1.rid, DST, 1 << 20, 'hrdma test');
  return { rack, h1, h2, irqs };
}

function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (seed + i * 31 + (i >> 8)) & 0xff;
  return b;
}

function status(h: Host, i: number): number {
  return h.memory.readU32(h.dma.descAddr(i) + Desc.STATUS);
}
function errorId(h: Host, i: number): number {
  return h.memory.readU32(h.dma.descAddr(i) + Desc.ERROR);
}
function errorCode(h: Host, i: number): string {
  return descErrorCode(errorId(h, i));
}

describe('HRDMA engine', () => {
  it('defaults as documented: docs/model-vs-reality.md gives the value the code uses', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'model-vs-reality.md'), 'utf8');
    for (const k of ['setupNs', 'peakGbps', 'unalignedRateFactor', 'channels', 'readMrrsBytes', 'readTags', 'completionBytes'] as const) {
      const row = new RegExp(`^\\| \`dma\\.${k}\` \\| ([0-9.]+)`, 'm').exec(doc);
      expect(row, `dma.${k} row`).not.toBeNull();
      expect(Number(row![1]), k).toBe(DEFAULT_HRDMA[k]);
    }
  });

  it('a COPY descriptor lands the bytes, sets DONE, keeps the cookie and raises the completion vector', () => {
    const { rack, h1, h2, irqs } = setup();
    const data = pattern(64, 1);
    h1.memory.write(SRC, data);
    const t0 = rack.sched.now;
    const i = h1.dma.postCopy(SRC, remoteAddr(2, DST), 64, DescFlag.INTERRUPT, 0xabcdef123);
    expect(status(h1, i)).toBe(DescStatus.PENDING);
    h1.dma.kick();
    rack.sched.run();
    const got = new Uint8Array(64);
    h2.memory.read(DST, got);
    expect(got).toEqual(data);
    expect(status(h1, i)).toBe(DescStatus.DONE);
    expect(h1.memory.readU64(h1.dma.descAddr(i) + Desc.COOKIE)).toBe(0xabcdef123);
    expect(h1.dma.completed).toBe(1);
    expect(h1.dma.descriptors).toBe(1);
    expect(h1.dma.bytes).toBe(64);
    expect(h1.dma.errors).toBe(0);
    expect(h1.dma.unaligned).toBe(0);
    // Land time, by parts (defaults, Gen3 x8 links):
    //   the idle engine fetches the descriptor (local memory)    90 ns
    //   descriptor setup                                        400 ns
    //   engine: 64 B × 8 / 40 Gb/s                               12.8 ns  (the link needs only 11.20 ns:
    //                                                                      (64 + 16 + 8) × 0.1272926, link.ts)
    //   fixed path: 100 link + 150 hop + 2 × 50 NTB + 100 link  450 ns
    //   one TLP on h2's down-link (DST is above 4 GiB: 4-DW)     11.20175 ns
    //   = 964.00175 ns; the handler then runs 700 ns later (irqHandlerNs): 1664.00175 ns
    expect(irqs.length).toBe(1);
    expect(irqs[0]! - t0).toBeCloseTo(1664.00175, 4);
  });

  it('a descriptor without the INTERRUPT flag completes without raising the vector', () => {
    const { rack, h1, irqs } = setup();
    const i = h1.dma.postCopy(SRC, remoteAddr(2, DST), 128, 0, 1);
    h1.dma.kick();
    rack.sched.run();
    expect(status(h1, i)).toBe(DescStatus.DONE);
    expect(irqs).toEqual([]);
  });

  it('bad descriptors complete with ERROR, are counted, and the engine carries on', () => {
    const { rack, h1, h2, irqs } = setup();
    const data = pattern(256, 7);
    h1.memory.write(SRC, data);
    const fabricDrops0 = rack.fabric.drops.total;
    const d: number[] = [];
    d.push(h1.dma.postCopy(100 * GiB, remoteAddr(2, DST), 64, 0, 1)); // source outside h1's 64 GiB RAM
    d.push(h1.dma.postCopy(SRC, remoteAddr(2, DST), 0, 0, 2)); // length 0
    d.push(h1.dma.postCopy(SRC, remoteAddr(9, 0x1000), 64, 0, 3)); // no host 9: nobody maps it
    d.push(h1.dma.postCopy(SRC, remoteAddr(2, 40 * GiB), 64, 0, 4)); // h2 RAM h2 never granted
    d.push(h1.dma.postImm(remoteAddr(2, DST + 0x800), new Uint8Array(17), 0, 5)); // immediate > 16 B
    const bogus = h1.dma.postCopy(SRC, remoteAddr(2, DST), 64, 0, 6);
    h1.memory.writeU32(h1.dma.descAddr(bogus) + Desc.CONTROL, 7); // unknown op 7
    d.push(bogus);
    const good = h1.dma.postCopy(SRC, remoteAddr(2, DST + 0x1000), 256, DescFlag.INTERRUPT, 7);
    h1.dma.kick();
    rack.sched.run();

    for (const i of d) expect(status(h1, i)).toBe(DescStatus.ERROR);
    expect(d.map((i) => errorCode(h1, i))).toEqual([
      ErrorCode.DMA_BAD_DESCRIPTOR,
      ErrorCode.DMA_BAD_DESCRIPTOR,
      ErrorCode.ADDR_UNMAPPED,
      ErrorCode.IOMMU_BLOCKED,
      ErrorCode.DMA_BAD_DESCRIPTOR,
      ErrorCode.DMA_BAD_DESCRIPTOR,
    ]);
    // What the engine wrote into emulated memory: the fixed ids of the descriptor format.
    expect(d.map((i) => errorId(h1, i))).toEqual([1, 1, 6, 5, 1, 1]);
    // The driver's reap reads the same, into a struct it owns.
    const r: Reaped = { cookie: -1, error: null };
    expect(h1.dma.reap(d[3]!, r)).toBe(true);
    expect(r).toEqual({ cookie: 4, error: ErrorCode.IOMMU_BLOCKED });
    expect(h1.dma.reap(good, r)).toBe(true);
    expect(r).toEqual({ cookie: 7, error: null });
    expect(h1.dma.errors).toBe(6);
    expect(h1.dma.drops.get(ErrorCode.DMA_BAD_DESCRIPTOR)).toBe(4);
    expect(h1.dma.drops.get(ErrorCode.ADDR_UNMAPPED)).toBe(1);
    expect(h1.dma.drops.get(ErrorCode.IOMMU_BLOCKED)).toBe(1);
    expect(h1.dma.drops.total).toBe(6);
    // the fabric counted the two it refused (routing and IOMMU), once each
    expect(rack.fabric.drops.get(ErrorCode.ADDR_UNMAPPED)).toBe(1);
    expect(rack.fabric.drops.get(ErrorCode.IOMMU_BLOCKED)).toBe(1);
    expect(rack.fabric.drops.total - fabricDrops0).toBe(2);
    expect(h2.memory.readU32(40 * GiB)).toBe(0);
    expect(h2.memory.readU32(DST)).toBe(0); // the length-0 / bad-source ones wrote nothing
    // the good one after them completed and landed
    expect(status(h1, good)).toBe(DescStatus.DONE);
    const got = new Uint8Array(256);
    h2.memory.read(DST + 0x1000, got);
    expect(got).toEqual(data);
    expect(h1.dma.completed).toBe(7);
    expect(h1.dma.head).toBe(h1.dma.tail);
    // all seven landed in one group: one completion interrupt
    expect(irqs.length).toBe(1);
  });

  it('an error raises the completion vector even without the INTERRUPT flag', () => {
    const { rack, h1, irqs } = setup();
    const i = h1.dma.postCopy(SRC, remoteAddr(9, 0), 64, 0, 1);
    h1.dma.kick();
    rack.sched.run();
    expect(status(h1, i)).toBe(DescStatus.ERROR);
    expect(irqs.length).toBe(1);
  });

  it('a copy from a source not aligned to 64 B is slower by the configured factor', () => {
    const aligned = setup();
    aligned.h1.memory.write(SRC, pattern(4096, 3));
    const t0 = aligned.rack.sched.now;
    aligned.h1.dma.postCopy(SRC, remoteAddr(2, DST), 4096, DescFlag.INTERRUPT, 1);
    aligned.h1.dma.kick();
    aligned.rack.sched.run();
    const alignedNs = aligned.irqs[0]! - t0;

    const un = setup();
    un.h1.memory.write(SRC + 1, pattern(4096, 3));
    const u0 = un.rack.sched.now;
    un.h1.dma.postCopy(SRC + 1, remoteAddr(2, DST), 4096, DescFlag.INTERRUPT, 1);
    un.h1.dma.kick();
    un.rack.sched.run();
    const unNs = un.irqs[0]! - u0;
    expect(un.h1.dma.unaligned).toBe(1);
    expect(aligned.h1.dma.unaligned).toBe(0);
    const got = new Uint8Array(4096);
    un.h2.memory.read(DST, got);
    expect(got).toEqual(pattern(4096, 3));

    // Both: descriptor fetch 90 + setup 400 + engine + fixed path 450 + first TLP through h2's link
    //       (570.2707 / 16 = 35.64192) + irq handler 700.  (4096 B on Gen3 x8: (4096 + 16 × 24) ×
    //       0.1272926 = 570.2707 ns.)
    // aligned engine:   4096 × 8 / 40          =  819.2 ns      → 2494.84192 ns
    // unaligned engine: 4096 × 8 / (40 × 0.35) = 32768 / 14 = 2340.5714 ns → 4016.21335 ns
    expect(alignedNs).toBeCloseTo(2494.84192, 4);
    expect(unNs).toBeCloseTo(4016.21335, 4);
    // the difference is the engine time only: 32768 × (1/14 − 1/40) = 1521.3714 ns
    expect(unNs - alignedNs).toBeCloseTo(1521.3714, 3);
  });

  it('a large copy is split into chunks and still lands byte-exact', () => {
    const { rack, h1, h2, irqs } = setup();
    const len = 20_000; // chunks of 8192: 8192 + 8192 + 3616
    const data = pattern(len, 9);
    const src = SRC + 65536 - 4992; // 64-aligned, crosses a 64 KiB page of h1
    const dst = DST + 65536 - 4992; // crosses a page of h2 too
    h1.memory.write(src, data);
    const landed0 = rack.fabric.writesLanded;
    const upBytes0 = h1.link.up.payloadBytes;
    const t0 = rack.sched.now;
    const i = h1.dma.postCopy(src, remoteAddr(2, dst), len, DescFlag.INTERRUPT, 42);
    h1.dma.kick();
    rack.sched.run();
    expect(status(h1, i)).toBe(DescStatus.DONE);
    const got = new Uint8Array(len);
    h2.memory.read(dst, got);
    expect(got).toEqual(data);
    expect(h2.memory.readU32(dst - 4)).toBe(0);
    expect(h2.memory.readU32(dst + len)).toBe(0);
    expect(rack.fabric.writesLanded - landed0).toBe(3); // one landing per chunk
    expect(h1.link.up.payloadBytes - upBytes0).toBe(20_000);
    expect(h1.dma.descriptors).toBe(1);
    expect(h1.dma.completed).toBe(1);
    expect(irqs.length).toBe(1); // only the last chunk completes the descriptor
    // The engine (40 Gb/s) is slower than the link (57 Gb/s), so chunks pipeline behind it:
    //   descriptor fetch 90 + setup 400 + engine 20000 × 8 / 40 = 4000 + fixed path 450
    //   + first TLP of the last chunk on h2's link: 3616 B = 15 TLPs, (3616 + 15 × 24) × 0.1272926
    //     = 506.1153 ns / 15 = 33.74102 ns
    //   + irq handler 700  = 5673.74102 ns
    const path = 2 * DEFAULT_LINK.latencyNs + DEFAULT_SWITCH.hopLatencyNs + 2 * DEFAULT_SWITCH.ntbTranslateNs;
    // The ring slot is above 4 GiB (64-bit address, 4-DW headers), aligned.
    const firstTlpOfLastChunk = wireTimeNs(DEFAULT_LINK, 2 ** 32, 3616) / 15;
    const expected = DEFAULT_HRDMA.memReadNs + DEFAULT_HRDMA.setupNs + (20_000 * 8) / DEFAULT_HRDMA.peakGbps + path + firstTlpOfLastChunk + DEFAULT_IRQ_HANDLER_NS;
    expect(irqs[0]! - t0).toBeCloseTo(expected, 4);
  });
});

describe('HRDMA descriptor error ids', () => {
  it('are fixed numbers of the descriptor format, not positions in a code table', () => {
    // Changing any of these changes what is written into emulated memory: never renumber.
    expect(DescError).toEqual({
      NONE: 0,
      BAD_DESCRIPTOR: 1,
      NTB_OUT_OF_WINDOW: 2,
      NTB_LINK_DOWN: 3,
      NTB_LUT_DENIED: 4,
      IOMMU_BLOCKED: 5,
      ADDR_UNMAPPED: 6,
      ADDR_OUT_OF_RANGE: 7,
      NTB_BAD_REGISTER: 8,
      FENCE_ABORTED: 9,
      NTB_PATH_DOWN: 10,
      OTHER: 255,
    });
  });

  it('every code a DMA write can be refused with has an id of its own, and reads back as itself', () => {
    const refusals = [
      ErrorCode.DMA_BAD_DESCRIPTOR,
      ErrorCode.NTB_OUT_OF_WINDOW,
      ErrorCode.NTB_LINK_DOWN,
      ErrorCode.NTB_LUT_DENIED,
      ErrorCode.IOMMU_BLOCKED,
      ErrorCode.ADDR_UNMAPPED,
      ErrorCode.ADDR_OUT_OF_RANGE,
      ErrorCode.NTB_BAD_REGISTER,
      ErrorCode.NTB_PATH_DOWN,
    ];
    const ids = refusals.map(descErrorId);
    expect(new Set(ids).size).toBe(refusals.length);
    expect(ids).not.toContain(DescError.OTHER);
    expect(ids).not.toContain(DescError.NONE);
    for (const c of refusals) expect(descErrorCode(descErrorId(c))).toBe(c);
  });

  it('a code without an id is written as OTHER, and an unknown id reads back as a bad descriptor', () => {
    expect(descErrorId(ErrorCode.CAPTURE_IO)).toBe(DescError.OTHER);
    expect(descErrorCode(DescError.OTHER)).toBe(ErrorCode.DMA_BAD_DESCRIPTOR);
    expect(descErrorCode(0xdead)).toBe(ErrorCode.DMA_BAD_DESCRIPTOR);
  });
});

describe('HRDMA ring full', () => {
  it('postCopy and postImm refuse a full ring (-1, counted), overwrite nothing, and work again once slots are released', () => {
    const { rack, h1, h2 } = setup();
    const slots = h1.dma.cfg.ringSlots;
    h1.memory.write(SRC, pattern(64, 1));
    const first = h1.dma.postCopy(SRC, remoteAddr(2, DST), 64, 0, 1000);
    for (let k = 1; k < slots; k++) expect(h1.dma.postCopy(SRC, remoteAddr(2, DST), 64, 0, 1000 + k)).toBe(k);
    expect(h1.dma.space).toBe(0);
    expect(h1.dma.postCopy(SRC, remoteAddr(2, DST), 64, 0, 1)).toBe(-1);
    expect(h1.dma.postImm(remoteAddr(2, DST), new Uint8Array(4), 0, 2)).toBe(-1);
    expect(h1.dma.drops.get(ErrorCode.DMA_RING_FULL)).toBe(2);
    expect(h1.dma.refusedFull).toBe(2);
    expect(h1.dma.tail).toBe(slots);
    expect(h1.dma.cookie(first)).toBe(1000); // the oldest pending descriptor is intact
    h1.dma.kick();
    rack.sched.run();
    expect(h1.dma.completed).toBe(slots);
    // Completed but not yet handed back by the driver: still full.
    expect(h1.dma.postCopy(SRC, remoteAddr(2, DST), 64, 0, 1)).toBe(-1);
    h1.dma.release(h1.dma.tail);
    const again = h1.dma.postCopy(SRC, remoteAddr(2, DST + 64), 64, 0, 9);
    expect(again).toBe(slots);
    h1.dma.kick();
    rack.sched.run();
    expect(status(h1, again)).toBe(DescStatus.DONE);
    expect(h2.memory.readU32(DST + 64)).toBe(h1.memory.readU32(SRC));
  });
});
