import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { DescFlag, DescStatus, Desc } from '../src/host/hrdma.js';
import { MSI_BASE, OUTBOUND_BASE, ntbRegsBase, remoteAddr, viaWindow } from '../src/mem/address-map.js';
import { Ntb, NtbReg } from '../src/pcie/ntb.js';
import type { Rack } from '../src/topology/rack.js';
import { bootedRack } from './helpers/rack.js';

const GiB = 1024 * 1024 * 1024;

function idleRack(): Rack {
  const rack = bootedRack(2); // every control-path write landed: the fabric is idle from here
  expect(rack.allLinksSettled()).toBe(true);
  return rack;
}

function u8(...v: number[]): Uint8Array {
  return new Uint8Array(v);
}

function readBytes(mem: { read(a: number, d: Uint8Array): void }, addr: number, len: number): number[] {
  const b = new Uint8Array(len);
  mem.read(addr, b);
  return [...b];
}

/** A test region in h2's RAM, far from everything EOP allocated (which lives below 1 GiB). */
const BASE = 8 * GiB;

describe('fabric + NTB: writes land where the windows say, and nowhere else', () => {
  it('boots with the expected address layout', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    expect(h1.index).toBe(1);
    expect(h2.index).toBe(2);
    expect(h1.rid).toBe(0x200);
    expect(h2.rid).toBe(0x300);
    // h1 reaches h2's byte a at OUTBOUND_BASE + 2 × 64 GiB + a
    expect(remoteAddr(2, 0x1000)).toBe(0x8000_0000_0000 + 2 * 64 * GiB + 0x1000);
    expect(h1.ntb!.translateOut(remoteAddr(2, 0x1000), 4)).toBe(2 * 64 * GiB + 0x1000);
    expect(h2.ntb!.translateIn(2 * 64 * GiB + 0x1000, 4)).toBe(0x1000);
    expect(h2.ntb!.translateIn(1 * 64 * GiB + 0x1000, 4)).toBe(-1); // h1's aperture is not h2's
  });

  it('a CPU store from h1 through its window lands the exact bytes at the translated address in h2', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    h2.iommu.grant(h1.rid, BASE, 4096, 'test');
    const before = { h1: h1.memory.residentPages, h2: h2.memory.residentPages, landed: rack.fabric.writesLanded };
    const data = u8(0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    let result: string | null | undefined;
    h1.cpu.store(remoteAddr(2, BASE + 0x10), data);
    h1.cpu.commit((code) => (result = code));
    expect(readBytes(h2.memory, BASE + 0x10, 16)).toEqual(new Array(16).fill(0)); // not yet: posted write in flight
    rack.sched.run();
    expect(result).toBeNull();
    expect(readBytes(h2.memory, BASE + 0x10, 16)).toEqual([...data]);
    // neighbours stay zero
    expect(readBytes(h2.memory, BASE, 0x10)).toEqual(new Array(16).fill(0));
    expect(readBytes(h2.memory, BASE + 0x20, 64)).toEqual(new Array(64).fill(0));
    // nothing landed in h1's own memory at the same offset, and exactly one page was added in h2
    expect(readBytes(h1.memory, BASE + 0x10, 16)).toEqual(new Array(16).fill(0));
    expect(h1.memory.residentPages).toBe(before.h1 + 0); // the read above does not allocate
    expect(h2.memory.residentPages).toBe(before.h2 + 1);
    expect(rack.fabric.writesLanded).toBe(before.landed + 1);
    expect(rack.fabric.drops.total).toBe(0);
  });

  it('an HRDMA copy from h1 through its window lands byte-exact in h2, neighbours untouched', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    h2.iommu.grant(h1.rid, BASE, 1 << 20, 'test');
    const src = 2 * GiB;
    const data = new Uint8Array(3000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 5) & 0xff;
    h1.memory.write(src, data);
    const i = h1.dma.postCopy(src, remoteAddr(2, BASE + 0x400), data.length, 0, 1);
    h1.dma.kick();
    rack.sched.run();
    expect(h1.memory.readU32(h1.dma.descAddr(i) + Desc.STATUS)).toBe(DescStatus.DONE);
    const got = new Uint8Array(data.length);
    h2.memory.read(BASE + 0x400, got);
    expect(got).toEqual(data);
    expect(h2.memory.readU32(BASE + 0x3fc)).toBe(0);
    expect(h2.memory.readU32(BASE + 0x400 + 3000)).toBe(0);
  });

  it('a write outside every outbound window is refused with ERR_NTB_OUT_OF_WINDOW and lands nowhere', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    const mh = rack.host('mh');
    // above h1's 64 GiB of RAM, below OUTBOUND_BASE: neither memory nor window
    const addr = 100 * GiB;
    expect(addr).toBeGreaterThan(h1.memory.sizeBytes);
    expect(addr).toBeLessThan(OUTBOUND_BASE);
    const pages = [mh, h1, h2].map((h) => h.memory.residentPages);
    const landed = rack.fabric.writesLanded;
    let result: string | null | undefined;
    h1.cpu.store(addr, u8(1, 2, 3, 4));
    h1.cpu.commit((code) => (result = code));
    rack.sched.run();
    expect(result).toBe(ErrorCode.NTB_OUT_OF_WINDOW);
    expect(rack.fabric.drops.get(ErrorCode.NTB_OUT_OF_WINDOW)).toBe(1);
    expect(rack.fabric.drops.total).toBe(1);
    expect(h1.cpu.errors).toBe(1);
    expect(rack.fabric.writesLanded).toBe(landed);
    expect([mh, h1, h2].map((h) => h.memory.residentPages)).toEqual(pages);
    expect(rack.log.records.some((r) => r.code === ErrorCode.NTB_OUT_OF_WINDOW)).toBe(true);
  });

  it('a write into h2 memory that h2 did not grant is blocked by its IOMMU (ERR_IOMMU_BLOCKED)', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    h2.iommu.grant(h1.rid, BASE, 4096, 'test');
    const pages = h2.memory.residentPages;
    let result: string | null | undefined;
    // one byte past the grant: [BASE+4093, BASE+4097) is not wholly inside [BASE, BASE+4096)
    h1.cpu.store(remoteAddr(2, BASE + 4093), u8(9, 9, 9, 9));
    h1.cpu.commit((code) => (result = code));
    rack.sched.run();
    expect(result).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(rack.fabric.drops.get(ErrorCode.IOMMU_BLOCKED)).toBe(1);
    expect(h2.iommu.blocked).toBe(1);
    expect(h2.memory.residentPages).toBe(pages);
    expect(h2.memory.readU32(BASE + 4092)).toBe(0);
    expect(h2.memory.readU32(BASE + 4096)).toBe(0);
    // a grant to h1 is no grant to the management host: mh writes the same granted range, blocked too
    const mh = rack.host('mh');
    let r2: string | null | undefined;
    mh.cpu.store(2 * 64 * GiB + BASE, u8(7, 7, 7, 7)); // the MH addresses the global space directly
    mh.cpu.commit((code) => (r2 = code));
    rack.sched.run();
    expect(r2).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(h2.iommu.blocked).toBe(2);
    expect(h2.memory.readU32(BASE)).toBe(0);
  });

  it('a requester removed from h2 NTB lookup table gets ERR_NTB_LUT_DENIED', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    h2.iommu.grant(h1.rid, BASE, 4096, 'test');
    h2.ntb!.lut.delete(h1.rid);
    let result: string | null | undefined;
    h1.cpu.store(remoteAddr(2, BASE), u8(1, 2, 3, 4));
    h1.cpu.commit((code) => (result = code));
    rack.sched.run();
    expect(result).toBe(ErrorCode.NTB_LUT_DENIED);
    expect(rack.fabric.drops.get(ErrorCode.NTB_LUT_DENIED)).toBe(1);
    expect(h2.memory.readU32(BASE)).toBe(0);
    expect(h2.iommu.blocked).toBe(0); // refused at the NTB, before the IOMMU
    // register writes through the port are refused too, and scratchpad reads
    let r2: string | null | undefined;
    h1.cpu.store(viaWindow(ntbRegsBase(2) + NtbReg.SPAD0 + 4 * 14), u8(1, 0, 0, 0));
    h1.cpu.commit((code) => (r2 = code));
    rack.sched.run();
    expect(r2).toBe(ErrorCode.NTB_LUT_DENIED);
    expect(h2.ntb!.scratchpads[14]).toBe(0);
    expect(rack.fabric.readScratchpads(h1, h2)).toBeNull();
    expect(rack.fabric.drops.get(ErrorCode.NTB_LUT_DENIED)).toBe(3);
  });

  it('a write to a host aperture nobody owns is ERR_ADDR_UNMAPPED', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    let result: string | null | undefined;
    h1.cpu.store(remoteAddr(9, 0x1000), u8(1, 2, 3, 4));
    h1.cpu.commit((code) => (result = code));
    rack.sched.run();
    expect(result).toBe(ErrorCode.ADDR_UNMAPPED);
    expect(rack.fabric.drops.get(ErrorCode.ADDR_UNMAPPED)).toBe(1);
  });

  it('scratchpads written by a peer keep their values across a crash until cleared', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    // scratchpad 14 is unused by EOP negotiation
    h1.cpu.store(viaWindow(ntbRegsBase(2) + NtbReg.SPAD0 + 4 * 14), u8(0x78, 0x56, 0x34, 0x12));
    h1.cpu.commit();
    rack.sched.run();
    expect(h2.ntb!.readRegister(NtbReg.SPAD0 + 4 * 14)).toBe(0x12345678);
    expect(rack.fabric.readScratchpads(h1, h2)![14]).toBe(0x12345678);
    rack.nic('h2').stop(false); // crash: NTB link drops, scratchpads stay
    rack.sched.run();
    expect(h2.ntb!.linkUp).toBe(false);
    expect(h2.ntb!.scratchpads[14]).toBe(0x12345678);
    expect(h2.ntb!.scratchpads[0]).toBe(0x454f5031); // EOP magic is still there too
    expect(rack.fabric.readScratchpads(h1, h2)).toBeNull(); // but not readable across a down link
    h2.ntb!.clearScratchpads();
    expect(h2.ntb!.scratchpads[14]).toBe(0);
    expect(h2.ntb!.scratchpads[0]).toBe(0);
  });

  it('a register write to an unknown NTB offset is ERR_NTB_BAD_REGISTER', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    let result: string | null | undefined;
    h1.cpu.store(viaWindow(ntbRegsBase(2) + 0x40), u8(1, 0, 0, 0));
    h1.cpu.commit((code) => (result = code));
    rack.sched.run();
    expect(result).toBe(ErrorCode.NTB_BAD_REGISTER);
    expect(rack.fabric.drops.get(ErrorCode.NTB_BAD_REGISTER)).toBe(1);
  });

  it('a doorbell rung by a peer through the fabric respects the mask', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    const seen: number[] = [];
    h2.ntb!.onDoorbell = (bits) => seen.push(bits); // observe the port directly, not the EOP driver
    h2.ntb!.setDoorbellMask(0b100);
    h1.cpu.store(viaWindow(ntbRegsBase(2) + NtbReg.DB_SET), u8(0b100, 0, 0, 0));
    h1.cpu.commit();
    rack.sched.run();
    expect(seen).toEqual([]); // masked: pending, no interrupt
    expect(h2.ntb!.doorbell).toBe(0b100);
    h2.ntb!.setDoorbellMask(0);
    expect(seen).toEqual([0b100]); // fires on unmask
  });
});

describe('Ntb registers (unit)', () => {
  it('scratchpads: 32-bit registers that keep values until cleared', () => {
    const n = new Ntb('t', 0x100);
    expect(n.writeRegister(NtbReg.SPAD0 + 8, 0xdeadbeef)).toBe(true);
    expect(n.readRegister(NtbReg.SPAD0 + 8)).toBe(0xdeadbeef);
    expect(n.writeRegister(NtbReg.SPAD0 + 4 * 31, -1)).toBe(true);
    expect(n.readRegister(NtbReg.SPAD0 + 4 * 31)).toBe(0xffffffff); // unsigned
    n.setLink(true);
    n.setLink(false);
    expect(n.scratchpads[2]).toBe(0xdeadbeef); // link changes do not clear them
    n.clearScratchpads();
    expect(n.readRegister(NtbReg.SPAD0 + 8)).toBe(0);
    // out of range, misaligned and unknown offsets
    expect(n.writeRegister(NtbReg.SPAD0 + 4 * 32, 1)).toBe(false);
    expect(n.writeRegister(NtbReg.SPAD0 + 2, 1)).toBe(false);
    expect(n.writeRegister(0x0c, 1)).toBe(false);
    expect(n.readRegister(0x0c)).toBe(-1);
    expect(n.readRegister(NtbReg.SPAD0 + 4 * 32)).toBe(-1);
  });

  it('doorbell: masked bits stay pending and fire on unmask; clear removes them', () => {
    const n = new Ntb('t', 0x100);
    const seen: number[] = [];
    n.onDoorbell = (bits) => seen.push(bits);
    n.writeRegister(NtbReg.DB_MASK, 0b0110);
    n.writeRegister(NtbReg.DB_SET, 0b0010); // masked
    expect(seen).toEqual([]);
    expect(n.readRegister(NtbReg.DB_SET)).toBe(0b0010);
    n.writeRegister(NtbReg.DB_SET, 0b0001); // unmasked: handler sees only unmasked pending bits
    expect(seen).toEqual([0b0001]);
    n.writeRegister(NtbReg.DB_CLEAR, 0b0001);
    expect(n.doorbell).toBe(0b0010);
    n.writeRegister(NtbReg.DB_SET, 0b0100); // masked too
    expect(seen).toEqual([0b0001]);
    n.writeRegister(NtbReg.DB_MASK, 0b0100); // unmask bit 1 only
    expect(seen).toEqual([0b0001, 0b0010]);
    n.writeRegister(NtbReg.DB_CLEAR, 0b0010);
    n.setDoorbellMask(0);
    expect(seen).toEqual([0b0001, 0b0010, 0b0100]);
    expect(n.readRegister(NtbReg.DB_MASK)).toBe(0);
    // bit 31 survives as an unsigned value
    n.clearDoorbell(0xffffffff);
    n.ringDoorbell(0x80000000);
    expect(seen[seen.length - 1]).toBe(0x80000000);
  });

  it('translateOut refuses writes not wholly inside one window', () => {
    const n = new Ntb('t', 0x100);
    n.outbound.push({ localBase: 0x1000, sizeBytes: 0x1000, xlatBase: 0x9000_0000 });
    expect(n.translateOut(0x1000, 4)).toBe(0x9000_0000);
    expect(n.translateOut(0x1ffc, 4)).toBe(0x9000_0ffc);
    expect(n.translateOut(0x1ffd, 4)).toBe(-1); // straddles the end
    expect(n.translateOut(0xffc, 8)).toBe(-1); // straddles the start
    expect(n.translateIn(0, 4)).toBe(-1); // no inbound window
  });
});

describe('fabric timing', () => {
  it('the land time of one small CPU store is the sum of its modeled parts', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    h2.iommu.grant(h1.rid, BASE, 4096, 'test');
    const t0 = rack.sched.now;
    let landedAt = -1;
    h1.cpu.store(remoteAddr(2, BASE + 64), u8(1, 2, 3, 4, 5, 6, 7, 8));
    h1.cpu.commit(() => (landedAt = rack.sched.now));
    rack.sched.run();
    // Parts (defaults: Gen3 x8 both links, 100 ns per link crossing, 150 ns hop, 50 ns per NTB):
    //   the store occupies the core for storeNs                            20 ns
    //   (its single TLP leaves h1's link inside those 20 ns: see below)
    //   h1 link latency                                                   100 ns
    //   switch hop                                                        150 ns
    //   2 × NTB translation (h1's port out, h2's port in)                 100 ns
    //   h2 link latency                                                   100 ns
    //   serialization of the TLP on h2's down-link: 8 B payload + 16 B header (BASE is above
    //     4 GiB) + 8 B framing = 32 B × 8 / (63.01538 × 374/375 Gb/s) (link.ts)     4.07336 ns
    //   total                                                            474.07336 ns
    // (The same TLP on h1's up-link also takes 4.07 ns, but it starts with the store and ends
    // before the store's 20 ns are over, so the store's end is what leaves h1 last.)
    expect(landedAt - t0).toBeCloseTo(474.07336, 4);
    expect(h2.memory.readU32(BASE + 64)).toBe(0x04030201);
    expect(h1.link.up.tlps).toBeGreaterThan(0);
  });

  it('a DMA-issued write to an MSI address through the window raises the target vector', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    const got: number[] = [];
    const v = h2.irq.allocate((vec) => got.push(vec));
    // h2's EOP driver granted h1 the MSI range when the link came up
    h1.dma.postImm(remoteAddr(2, MSI_BASE), u8(v & 0xff, v >> 8, 0, 0), DescFlag.INTERRUPT, 0);
    h1.dma.kick();
    rack.sched.run();
    expect(got).toEqual([v]);
  });

  // Regression test for a bug found in review (src/host/cpu-copy.ts, CpuCopier.store, ~line 65); see the git log.
  it('a 12-byte store at a 64-byte-aligned address is one TLP', () => {
    const rack = idleRack();
    const h1 = rack.host('h1');
    const h2 = rack.host('h2');
    h2.iommu.grant(h1.rid, BASE, 4096, 'test');
    const tlps = h1.link.up.tlps;
    h1.cpu.store(remoteAddr(2, BASE), new Uint8Array(12).fill(0x55)); // BASE = 8 GiB, 4 KiB aligned
    h1.cpu.commit();
    rack.sched.run();
    expect(h2.memory.readU32(BASE + 8)).toBe(0x55555555);
    expect(h1.link.up.tlps - tlps).toBe(1);
  });
});
