/**
 * The HRDMA engine's fence (DescFlag.FENCE): a fenced descriptor executes only after the one before
 * it completed, and only if it succeeded. The EOP driver fences each slot header behind its payload,
 * so a payload that fails never lets its header (with DONE) land.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { Desc, DescFlag, DescStatus, MAX_DMA_BYTES, descErrorCode } from '../src/host/hrdma.js';
import type { Host } from '../src/host/host.js';
import { remoteAddr } from '../src/mem/address-map.js';
import type { Rack } from '../src/topology/rack.js';
import { bootedRack } from './helpers/rack.js';

const GiB = 1024 * 1024 * 1024;
const SRC = 2 * GiB; // in h1, clear of everything EOP allocated
const DST = 8 * GiB; // in h2 (granted below)
const HDR = DST + 0x10000; // where the "header" goes

function setup(): { rack: Rack; h1: Host; h2: Host } {
  const rack = bootedRack(2);
  const h1 = rack.host('h1');
  const h2 = rack.host('h2');
  h1.dma.completionVector = h1.irq.allocate(() => {});
  h2.iommu.grant(h1.rid, DST, 1 << 20, 'fence test');
  return { rack, h1, h2 };
}

const header = Uint8Array.of(0x2a, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0);
const status = (h: Host, i: number): number => h.memory.readU32(h.dma.descAddr(i) + Desc.STATUS);
const error = (h: Host, i: number): string => descErrorCode(h.memory.readU32(h.dma.descAddr(i) + Desc.ERROR));

/** Times at which h2's memory at `addr` changed from zero, watched by wrapping the fabric's land. */
function watchLand(rack: Rack, h2: Host, addrs: number[]): Map<number, number> {
  const seen = new Map<number, number>();
  const land = rack.fabric.land.bind(rack.fabric);
  rack.fabric.land = (from, job) => {
    const code = land(from, job);
    for (const a of addrs) if (!seen.has(a) && h2.memory.readU32(a) !== 0) seen.set(a, rack.sched.now);
    return code;
  };
  return seen;
}

describe('HRDMA fence', () => {
  it('a payload that fails leaves its fenced header unwritten and ERROR (FENCE_ABORTED); an unfenced descriptor after it still runs', () => {
    const { rack, h1, h2 } = setup();
    h1.memory.write(SRC, new Uint8Array(1500).fill(0x55));
    const bad = h1.dma.postCopy(SRC, remoteAddr(2, DST), MAX_DMA_BYTES + 1, 0, 0); // what the dma-error fault writes
    const hdr = h1.dma.postImm(remoteAddr(2, HDR), header, DescFlag.FENCE, 0);
    const after = h1.dma.postImm(remoteAddr(2, HDR + 64), header, 0, 0);
    h1.dma.kick();
    rack.sched.run();
    expect([status(h1, bad), error(h1, bad)]).toEqual([DescStatus.ERROR, ErrorCode.DMA_BAD_DESCRIPTOR]);
    expect([status(h1, hdr), error(h1, hdr)]).toEqual([DescStatus.ERROR, ErrorCode.DMA_FENCE_ABORTED]);
    expect(h2.memory.readU32(HDR)).toBe(0);
    expect(status(h1, after)).toBe(DescStatus.DONE);
    expect(h2.memory.readU32(HDR + 64)).toBe(0x2a);
    expect(h1.dma.drops.toJSON()).toEqual({ [ErrorCode.DMA_BAD_DESCRIPTOR]: 1, [ErrorCode.DMA_FENCE_ABORTED]: 1 });
  });

  it('a payload refused where it lands (the IOMMU) also aborts its fenced header', () => {
    const { rack, h1, h2 } = setup();
    const blocked = h1.dma.postCopy(SRC, remoteAddr(2, 40 * GiB), 256, 0, 0); // h2 never granted this
    const hdr = h1.dma.postImm(remoteAddr(2, HDR), header, DescFlag.FENCE, 0);
    h1.dma.kick();
    rack.sched.run();
    expect(error(h1, blocked)).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(error(h1, hdr)).toBe(ErrorCode.DMA_FENCE_ABORTED);
    expect(h2.memory.readU32(HDR)).toBe(0);
  });

  it('a payload that succeeds: its fenced header lands, never before the payload, even when the payload spans several chunks', () => {
    const { rack, h1, h2 } = setup();
    const len = 3 * h1.dma.cfg.chunkBytes + 100; // four chunks, in four issue groups
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) data[i] = (i * 13 + 1) & 0xff || 1;
    h1.memory.write(SRC, data);
    const lastWord = DST + len - 4;
    const seen = watchLand(rack, h2, [lastWord, HDR]);
    const copy = h1.dma.postCopy(SRC, remoteAddr(2, DST), len, 0, 0);
    const hdr = h1.dma.postImm(remoteAddr(2, HDR), header, DescFlag.FENCE, 0);
    h1.dma.kick();
    rack.sched.run();
    expect([status(h1, copy), status(h1, hdr)]).toEqual([DescStatus.DONE, DescStatus.DONE]);
    const got = new Uint8Array(len);
    h2.memory.read(DST, got);
    expect(got).toEqual(data);
    expect(seen.get(HDR)).toBeGreaterThanOrEqual(seen.get(lastWord)!);
  });

  it('a fenced descriptor opening a new issue group waits for the group of its predecessor to land', () => {
    const { rack, h1, h2 } = setup();
    // A large copy to h2 (slow: the link) and then a fenced store to h1's own RAM, which alone would
    // land long before the copy.
    const len = 4 * h1.dma.cfg.chunkBytes;
    h1.memory.write(SRC, new Uint8Array(len).fill(9));
    const seen = watchLand(rack, h2, [DST + len - 4]);
    let localAt = -1;
    const copy = h1.dma.postCopy(SRC, remoteAddr(2, DST), len, 0, 0);
    h1.dma.kick();
    // Run until the engine has taken the whole copy but it has not landed yet.
    while (h1.dma.head !== h1.dma.tail) rack.sched.runUntil(rack.sched.now + 10);
    expect(status(h1, copy)).toBe(DescStatus.PENDING);
    const local = SRC + 0x100000;
    const hdr = h1.dma.postImm(local, header, DescFlag.FENCE, 0);
    h1.dma.kick();
    const land = rack.fabric.land.bind(rack.fabric);
    rack.fabric.land = (from, job) => {
      const code = land(from, job);
      if (localAt < 0 && h1.memory.readU32(local) !== 0) localAt = rack.sched.now;
      return code;
    };
    rack.sched.run();
    expect([status(h1, copy), status(h1, hdr)]).toEqual([DescStatus.DONE, DescStatus.DONE]);
    expect(localAt).toBeGreaterThanOrEqual(seen.get(DST + len - 4)!);
  });
});
