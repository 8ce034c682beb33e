/**
 * Isolation (Marlin) and protected DMA (Scalable I/O): a rogue host that programs its HRDMA engine
 * to write outside what it was granted is blocked by the target's IOMMU and logged, and the
 * victim's memory is unchanged, checked by hash and by its resident pages; memory credentials let
 * exactly the transfer they were issued for through, and forged, replayed, expired, stolen or
 * missing ones are refused and counted. Each refusal has a control that succeeds on the same path.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import type { Host } from '../src/host/host.js';
import { DescStatus } from '../src/host/hrdma.js';
import { remoteAddr, viaWindow } from '../src/mem/address-map.js';
import { CredentialAuthority, type MemoryCredential } from '../src/pcie/dma-credentials.js';
import { ProtectedRange } from '../src/pcie/protected-range.js';
import type { Rack } from '../src/topology/rack.js';
import { bootedRack } from './helpers/rack.js';

const hash = (h: Host, addr: number, len: number): string => {
  const b = new Uint8Array(len);
  h.memory.read(addr, b);
  return createHash('sha256').update(b).digest('hex');
};

/** Fills `len` bytes of `h`'s memory with `byte` at a fresh allocation; returns its address. */
function buffer(h: Host, len: number, byte: number, label: string): number {
  const a = h.alloc(len, 4096, label);
  h.memory.fill(a, len, byte);
  return a;
}

/** One COPY by `h`'s engine to its local address `dst`, run to completion: the error code or null. */
function dmaCopy(rack: Rack, h: Host, src: number, dst: number, len: number): ErrorCode | null {
  const i = h.dma.postCopy(src, dst, len, 0, 0);
  expect(i).toBeGreaterThanOrEqual(0);
  h.dma.kick();
  rack.sched.run();
  const st = h.dma.status(i);
  expect(st).not.toBe(DescStatus.PENDING);
  return st === DescStatus.DONE ? null : h.dma.errorCode(i);
}

describe('isolation: a rogue host programming its HRDMA', () => {
  it('is blocked by the IOMMU and logged; the victim and the management host are unchanged', () => {
    const rack = bootedRack(3);
    const [mh, h1, h2, h3] = ['mh', 'h1', 'h2', 'h3'].map((n) => rack.host(n));
    const secret = buffer(h2!, 64 * 1024, 0x5a, 'victim secret');
    h2!.memory.write(secret, randomBytes(64 * 1024));
    const ringForH3 = rack.nic('h2').qp(h3!.index)!.rxRingAddr;
    const ringForH1 = rack.nic('h2').qp(h1!.index)!.rxRingAddr;
    const ringBytes = rack.nic('h2').ringBytes;
    const mhSecret = buffer(mh!, 4096, 0x77, 'mh secret');
    const src = buffer(h1!, 8192, 0xaa, 'rogue payload');
    const regions: [Host, number, number][] = [
      [h2!, secret, 64 * 1024],
      [h2!, ringForH3, ringBytes],
      [h2!, ringForH1, ringBytes + 4096],
      [mh!, mhSecret, 4096],
    ];
    const before = regions.map(([h, a, n]) => hash(h, a, n));
    const pages = [h2!.memory.residentPages, mh!.memory.residentPages];
    const blockedBefore = rack.fabric.drops.toJSON()[ErrorCode.IOMMU_BLOCKED] ?? 0;

    // Never granted; granted to h3 only; starting inside h1's own grant and running past its end; the MH.
    expect(dmaCopy(rack, h1!, src, remoteAddr(h2!.index, secret), 4096)).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(dmaCopy(rack, h1!, src, remoteAddr(h2!.index, ringForH3), 2048)).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(dmaCopy(rack, h1!, src, remoteAddr(h2!.index, ringForH1 + ringBytes - 1024), 2048)).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(dmaCopy(rack, h1!, src, viaWindow(mhSecret), 4096)).toBe(ErrorCode.IOMMU_BLOCKED);
    // Outside every NTB window of its own: refused before it leaves the host.
    expect(dmaCopy(rack, h1!, src, 0x7000_0000_0000, 64)).toBe(ErrorCode.NTB_OUT_OF_WINDOW);

    expect(regions.map(([h, a, n]) => hash(h, a, n))).toEqual(before);
    expect([h2!.memory.residentPages, mh!.memory.residentPages]).toEqual(pages);
    expect((rack.fabric.drops.toJSON()[ErrorCode.IOMMU_BLOCKED] ?? 0) - blockedBefore).toBe(4);
    const logged = rack.log.records.filter((r) => r.code === ErrorCode.IOMMU_BLOCKED && /IOMMU blocks .* for h1/.test(r.message));
    expect(logged.map((r) => r.message.split("'s IOMMU")[0])).toEqual(['h1: h2', 'h1: h2', 'h1: h2', 'h1: mh']);

    // Control: the same engine writing into the ring h2 granted it lands.
    expect(dmaCopy(rack, h1!, src, remoteAddr(h2!.index, ringForH1), 2048)).toBeNull();
    expect(hash(h2!, ringForH1, 2048)).toBe(hash(h1!, src, 2048));
  });
});

describe('protected DMA: memory credentials', () => {
  function setup() {
    const rack = bootedRack(3);
    const [h1, h2, h3] = ['h1', 'h2', 'h3'].map((n) => rack.host(n));
    const auth = new CredentialAuthority(() => rack.sched.now, { lifetimeNs: 50_000, replayWindow: 64 });
    const buf = buffer(h2!, 32 * 1024, 0, 'protected buffer');
    const range = new ProtectedRange(h2!.iommu, auth, buf, 32 * 1024, rack.log, 'h2 protected buffer');
    const srcA = buffer(h1!, 32 * 1024, 0xa1, 'transfer A');
    const srcB = buffer(h1!, 32 * 1024, 0xb2, 'transfer B');
    /** h1 posts a transfer of `len` to the buffer with `cred` (or none). */
    const send = (cred: MemoryCredential | null, src: number, len: number): ErrorCode | null => {
      if (cred) range.present(h1!.rid, cred);
      return dmaCopy(rack, h1!, src, remoteAddr(h2!.index, buf), len);
    };
    return { rack, h1: h1!, h2: h2!, h3: h3!, auth, buf, send, srcA, srcB };
  }

  it('a credential lets its transfer through once; replayed, forged, expired, stolen and missing ones are refused and counted', () => {
    const { rack, h1, h2, h3, auth, buf, send, srcA, srcB } = setup();
    const cred = auth.issue(h1.rid, buf, 4096);
    expect(send(cred, srcA, 4096)).toBeNull();
    expect(hash(h2, buf, 4096)).toBe(hash(h1, srcA, 4096));
    const landed = hash(h2, buf, 32 * 1024);

    // Replayed: the same credential again.
    expect(send(cred, srcB, 4096)).toBe(ErrorCode.IOMMU_BLOCKED);
    // Forged: a longer range under the old code, and an invented code.
    const small = auth.issue(h1.rid, buf, 1024);
    expect(send({ ...small, lenBytes: 32 * 1024 }, srcB, 8192)).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(send({ ...auth.issue(h1.rid, buf, 4096), mac: randomBytes(16) }, srcB, 4096)).toBe(ErrorCode.IOMMU_BLOCKED);
    // Expired: issued, then presented after its lifetime.
    const old = auth.issue(h1.rid, buf, 4096);
    rack.sched.runUntil(rack.sched.now + 50_001);
    expect(send(old, srcB, 4096)).toBe(ErrorCode.IOMMU_BLOCKED);
    // Stolen: issued to h3, presented by h1. Missing: none at all.
    expect(send(auth.issue(h3.rid, buf, 4096), srcB, 4096)).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(send(null, srcB, 4096)).toBe(ErrorCode.IOMMU_BLOCKED);

    expect(hash(h2, buf, 32 * 1024)).toBe(landed);
    expect(auth.drops.toJSON()).toEqual({
      [ErrorCode.DMA_CREDENTIAL_REPLAYED]: 1,
      [ErrorCode.DMA_CREDENTIAL_FORGED]: 2,
      [ErrorCode.DMA_CREDENTIAL_EXPIRED]: 1,
      [ErrorCode.DMA_CREDENTIAL_MISSING]: 2,
    });
    expect(auth.accepted).toBe(1);
    const why = rack.log.records.filter((r) => r.source === 'iommu').map((r) => r.code);
    expect(why).toContain(ErrorCode.DMA_CREDENTIAL_FORGED);
  });

  it('a transfer cut into several writes passes on one credential, which is then used up', () => {
    const { h1, h2, auth, buf, send, srcA, srcB } = setup();
    // 20 KiB: the engine issues it in chunks of 8 KiB, each checked against the credential.
    const cred = auth.issue(h1.rid, buf, 20 * 1024);
    expect(send(cred, srcA, 20 * 1024)).toBeNull();
    expect(auth.accepted).toBe(Math.ceil((20 * 1024) / h1.dma.cfg.chunkBytes));
    expect(hash(h2, buf, 20 * 1024)).toBe(hash(h1, srcA, 20 * 1024));
    expect(send(cred, srcB, 20 * 1024)).toBe(ErrorCode.IOMMU_BLOCKED);
    expect(hash(h2, buf, 20 * 1024)).toBe(hash(h1, srcA, 20 * 1024));
  });

  it('nonces older than the replay window are refused as replays; fresh ones pass', () => {
    let now = 0;
    const auth = new CredentialAuthority(() => now, { lifetimeNs: 1e12, replayWindow: 8 });
    const first = auth.issue(0x100, 0, 64);
    const later = Array.from({ length: 10 }, () => auth.issue(0x100, 0, 64));
    for (const c of later) expect(auth.check(c, 0x100, 0, 64, true)).toBeNull();
    expect(auth.check(first, 0x100, 0, 64, true)).toBe(ErrorCode.DMA_CREDENTIAL_REPLAYED);
    expect(auth.check(later[9]!, 0x100, 0, 64, true)).toBe(ErrorCode.DMA_CREDENTIAL_REPLAYED);
    expect(auth.check(later[5]!, 0x100, 0, 64, true)).toBe(ErrorCode.DMA_CREDENTIAL_REPLAYED);
    now = 1;
    expect(auth.check(auth.issue(0x100, 0, 64), 0x100, 0, 64, true)).toBeNull();
  });
});
