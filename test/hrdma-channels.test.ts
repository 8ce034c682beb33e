/**
 * HRDMA channels (src/host/hrdma.ts, host.ts): each channel is its own descriptor ring with its
 * own rate (`peakGbps` is per channel), so one channel's throughput is its rate less the setup per
 * descriptor, and channels add up until the link is the bound.
 */
import { describe, expect, it } from 'vitest';
import { DescFlag, DEFAULT_HRDMA, Desc, type HrdmaConfig } from '../src/host/hrdma.js';
import { remoteAddr } from '../src/mem/address-map.js';
import { DEFAULT_LINK } from '../src/pcie/link.js';
import { bootedRack } from './helpers/rack.js';

const SRC = 0x4000_0000;
const DST = 0x8000_0000;
const DESC_BYTES = 1 << 16;

/** `channels` of h1's engine each copy `perChannel` bytes into h2 at once; Gb/s of all of it. */
function channelsStream(dma: Partial<HrdmaConfig>, channels: number, perChannel = 4 << 20): number {
  const rack = bootedRack(2, { link: DEFAULT_LINK, dma: { ...DEFAULT_HRDMA, channels, ...dma } });
  const [h1, h2] = [rack.host('h1'), rack.host('h2')];
  h2.iommu.grant(h1.rid, DST, channels * perChannel, 'test');
  let end = 0;
  const n = perChannel / DESC_BYTES;
  h1.dmaChannels.forEach((ch, c) => {
    ch.completionVector = h1.irq.allocate(() => (end = Math.max(end, rack.sched.now - h1.irq.handlerLatencyNs)), false);
    const base = c * perChannel;
    for (let k = 0; k < n; k++) ch.postCopy(SRC + base + k * DESC_BYTES, remoteAddr(2, DST + base + k * DESC_BYTES), DESC_BYTES, k === n - 1 ? DescFlag.INTERRUPT : 0, k);
  });
  const t0 = rack.sched.now;
  for (const ch of h1.dmaChannels) ch.kick();
  rack.sched.run();
  return (channels * perChannel * 8) / (end - t0);
}

describe('HRDMA channels', () => {
  it('one channel: its rate less the setup per descriptor (10 Gb/s, 64 KiB, 400 ns: 9.924 Gb/s)', () => {
    const perDescNs = DEFAULT_HRDMA.setupNs + (DESC_BYTES * 8) / 10;
    const expected = (DESC_BYTES * 8) / perDescNs;
    expect(expected).toBeCloseTo(9.9243, 3);
    const got = channelsStream({ peakGbps: 10 }, 1);
    // The first descriptor's fetch and the last write's path: < 1 µs over 3.4 ms.
    expect(got / expected).toBeGreaterThan(0.999);
    expect(got / expected).toBeLessThanOrEqual(1);
  });

  it('channels add up while the link has room, and stop at the link', () => {
    const one = (DESC_BYTES * 8) / (DEFAULT_HRDMA.setupNs + (DESC_BYTES * 8) / 10);
    const three = channelsStream({ peakGbps: 10 }, 3);
    expect(three / (3 * one)).toBeGreaterThan(0.995);
    expect(three / (3 * one)).toBeLessThanOrEqual(1);
    // Eight 10 Gb/s channels ask for 79 Gb/s of a Gen3 x8 link that carries 57.46 at MPS 256.
    const eight = channelsStream({ peakGbps: 10 }, 8, 1 << 20);
    expect(eight).toBeLessThanOrEqual(57.46);
    expect(eight).toBeGreaterThan(0.97 * 57.46);
  });

  it('each channel has its own ring; a rack file without `channels` has one', () => {
    const rack = bootedRack(1, { dma: { ...DEFAULT_HRDMA, channels: 3 } });
    const h1 = rack.host('h1');
    expect(h1.dmaChannels).toHaveLength(3);
    expect(h1.dma).toBe(h1.dmaChannels[0]);
    const rings = h1.dmaChannels.map((c) => c.ringBase);
    expect(new Set(rings).size).toBe(3);
    for (let i = 1; i < 3; i++) expect(Math.abs(rings[i]! - rings[i - 1]!)).toBeGreaterThanOrEqual(DEFAULT_HRDMA.ringSlots * Desc.BYTES);
    expect(bootedRack(1).host('h1').dmaChannels).toHaveLength(1);
  });
});
