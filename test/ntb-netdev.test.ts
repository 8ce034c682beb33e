import { describe, expect, it } from 'vitest';
import { EopError, ErrorCode } from '../src/errors.js';
import type { EopConfig } from '../src/eop/eop-nic.js';
import { NtbNetdevNic } from '../src/eop/ntb-netdev.js';
import { KERNEL_PROFILE } from '../src/host/profile.js';
import { DEFAULT_CPU } from '../src/host/cpu-copy.js';
import { DEFAULT_IRQ_HANDLER_NS, type Rack } from '../src/topology/rack.js';
import { parseTopology } from '../src/topology/load.js';
import { MAC, rawFrame } from './helpers/raw-frame.js';
import { bootedRack } from './helpers/rack.js';

function ntbRack(eop: Partial<EopConfig> = {}, hosts = 2): Rack {
  return bootedRack(hosts, { eop: { driver: 'ntb-netdev', mtu: 9000, ...eop } });
}

const nic = (rack: Rack, name: string): NtbNetdevNic => rack.nic(name) as NtbNetdevNic;

/** The configuration error `f` throws (it must throw one). */
function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EopError);
    expect((e as EopError).code).toBe(ErrorCode.CONFIG_INVALID);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

/** Frames delivered by `name`, with when. */
function sink(rack: Rack, name: string): { frames: Uint8Array[]; at: number[] } {
  const out = { frames: [] as Uint8Array[], at: [] as number[] };
  rack.nic(name).setReceiver((f) => {
    out.frames.push(f.slice());
    out.at.push(rack.sched.now);
  });
  return out;
}

describe('ntb-netdev driver profile (Linux ntb_transport + ntb_netdev)', () => {
  it('is what eop.driver ntb-netdev builds, with the 1 MiB window split into 15 entries of 64 KiB', () => {
    const rack = ntbRack();
    const n = nic(rack, 'h1');
    expect(n).toBeInstanceOf(NtbNetdevNic);
    expect(n.geo.entries).toBe(15);
    expect(n.geo.maxFrameBytes).toBe(65536);
    expect(n.freeEntries()).toBe(14); // the peer's index starts at entries − 1
    expect(n.qp(2)!.state).toBe('up');
  });

  it('receive: the tasklet copies each frame out of its own window; the time is the sum of its parts', () => {
    const rack = ntbRack();
    const h2 = rack.host('h2');
    let dbAt = -1;
    const ntb = h2.ntb!;
    const onDb = ntb.onDoorbell!;
    ntb.onDoorbell = (p) => {
      if (dbAt < 0) dbAt = rack.sched.now;
      onDb(p);
    };
    const got = sink(rack, 'h2');
    const f = rawFrame(MAC[2]!, MAC[1]!, 9014, 7);
    expect(rack.nic('h1').transmit(f)).toBe(true);
    rack.sched.run();
    expect(got.frames).toEqual([f]);
    // From the doorbell landing: interrupt delivery and entry (700), the tasklet's softirq (300),
    // one look at the entry's header in local DRAM (82), the driver's per-frame work (50), then
    // memcpy out of the window into the skb on the same core: setup 100 + 9,014 B × 8 / 100 Gb/s
    // (721.12): the frame goes up when the copy is done.
    const copyNs = DEFAULT_CPU.copySetupNs + (9014 * 8) / DEFAULT_CPU.copyGbps;
    expect(copyNs).toBeCloseTo(821.12, 6);
    const expected = DEFAULT_IRQ_HANDLER_NS + KERNEL_PROFILE.softirqNs + KERNEL_PROFILE.localReadNs + 50 + copyNs;
    expect(expected).toBeCloseTo(1953.12, 6);
    expect(got.at[0]! - dbAt).toBeCloseTo(expected, 6);
    const rx = nic(rack, 'h2');
    expect(rx.nc.rxMemcpy).toBe(1);
    expect(rx.nc.rxAsync).toBe(0);
    // The pass that found nothing more read the doorbell register (and the re-post ran one more pass).
    expect(rx.nc.rxRingEmpty).toBeGreaterThanOrEqual(1);
    expect(rx.nc.doorbellReads).toBeGreaterThanOrEqual(1);
  });

  it('one doorbell per frame, the entry index written back per frame, entries reused round the ring', () => {
    const rack = ntbRack();
    const got = sink(rack, 'h2');
    const sent: Uint8Array[] = [];
    for (let k = 0; k < 40; k++) {
      const f = rawFrame(MAC[2]!, MAC[1]!, 200 + 37 * k, k);
      sent.push(f);
      expect(rack.nic('h1').transmit(f)).toBe(true);
      rack.sched.run();
    }
    expect(got.frames).toEqual(sent);
    const tx = nic(rack, 'h1');
    expect(tx.qp(2)!.c.interruptsSent).toBe(40);
    expect(tx.qp(2)!.c.txFrames).toBe(40);
    expect(tx.nc.txMemcpy).toBe(40);
    // 40 frames into 15 entries: the receiver last consumed entry 39 mod 15 = 9, and said so.
    expect(rack.host('h1').memory.readU32(tx.qp(2)!.rxRingAddr + tx.geo.rxInfoOffset)).toBe(39 % 15);
    expect(tx.freeEntries()).toBe(14);
    expect(tx.drops.total + nic(rack, 'h2').drops.total + rack.fabric.drops.total).toBe(0);
  });

  it('a receiver that falls behind stops the queue below tx_stop free; only the timer restarts it, on a tick', () => {
    const rack = ntbRack();
    const got = sink(rack, 'h2');
    const h2 = rack.host('h2');
    const t0 = rack.sched.now;
    // h2's interrupt core is busy for 20 ms: its tasklet cannot run, nothing is consumed.
    h2.cores.occupy(h2.cores.irqCore, t0, t0 + 20e6);
    for (let k = 0; k < 12; k++) expect(rack.nic('h1').transmit(rawFrame(MAC[2]!, MAC[1]!, 600, k))).toBe(true);
    rack.sched.runUntil(t0 + 1e6);
    const tx = nic(rack, 'h1');
    // 14 free at the start; after 10 frames 4 are free (< tx_stop 5): the queue stops, 2 wait.
    expect(tx.nc.txMemcpy).toBe(10);
    expect(tx.nc.queueStops).toBe(1);
    expect(tx.txSpace(MAC[2]!)).toBeGreaterThan(0); // the qdisc still takes frames
    expect(got.frames.length).toBe(0);
    rack.sched.run();
    expect(got.frames.length).toBe(12);
    expect(got.frames.map((f) => f[14])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Its copies had all completed before h2 caught up: no completion could see tx_start free.
    expect(tx.nc.wakesByCompletion).toBe(0);
    expect(tx.nc.wakesByTimer).toBe(1);
    // Frame 10 left on a 4 ms tick (HZ 250) after h2 caught up at 20 ms: delivered just after 24 ms.
    expect(got.at[9]!).toBeLessThan(t0 + 20e6 + 100_000);
    expect(got.at[10]!).toBeGreaterThan(24e6);
    expect(got.at[10]! - 24e6).toBeLessThan(20_000);
  });

  it('with use_dma, frames of at least copy_bytes go by DMA both ways, smaller ones by memcpy, in order', () => {
    const rack = ntbRack({ ntbUseDma: true });
    const got = sink(rack, 'h2');
    const big = rawFrame(MAC[2]!, MAC[1]!, 9014, 1);
    const small = rawFrame(MAC[2]!, MAC[1]!, 100, 2);
    expect(rack.nic('h1').transmit(big)).toBe(true);
    expect(rack.nic('h1').transmit(small)).toBe(true);
    rack.sched.run();
    expect(got.frames).toEqual([big, small]);
    expect([nic(rack, 'h1').nc.txAsync, nic(rack, 'h1').nc.txMemcpy]).toEqual([1, 1]);
    expect([nic(rack, 'h2').nc.rxAsync, nic(rack, 'h2').nc.rxMemcpy]).toEqual([1, 1]);
  });

  it('refuses what ntb_transport cannot do, with a clear error', () => {
    expect(configError(() => ntbRack({}, 3))).toMatch(/exactly two hosts.*two-port NTBs/);
    expect(configError(() => ntbRack({ mtu: 65510, ntbWindowBytes: 64 << 10 }))).toMatch(/MTU 65510 is above ntb_netdev's 32740 for a 65536-byte window/);
    expect(configError(() => ntbRack({ ntbWindowBytes: 3 << 20 }))).toMatch(/power of two/);
  });

  it('counts a frame longer than the MTU as a drop, and sends nothing for it', () => {
    const rack = ntbRack();
    expect(rack.nic('h1').transmit(rawFrame(MAC[2]!, MAC[1]!, 9100, 1))).toBe(false);
    expect(rack.nic('h1').drops.get(ErrorCode.FRAME_TOO_LONG)).toBe(1);
    expect(nic(rack, 'h1').nc.txMemcpy).toBe(0);
  });

  it('a rack file is checked before it runs: two compute hosts, an MTU the window can carry', () => {
    const bad = (raw: unknown): string => configError(() => parseTopology(raw, '<test>'));
    expect(parseTopology({ hosts: ['a', 'b'], eop: { driver: 'ntb-netdev' } }, '<test>').eop.driver).toBe('ntb-netdev');
    expect(bad({ hosts: ['a', 'b', 'c'], eop: { driver: 'ntb-netdev' } })).toMatch(/eop\.driver: ntb-netdev joins exactly two compute hosts.*the rack has 3/);
    expect(bad({ hosts: ['a', 'b'], mtu: 65510, eop: { driver: 'ntb-netdev', ntbWindowBytes: 65536 } })).toMatch(/mtu: MTU 65510 is above ntb_netdev's 32740/);
    expect(bad({ hosts: ['a', 'b'], eop: { driver: 'ntb-netdev', ntbWindowBytes: 3000 } })).toMatch(/ntbWindowBytes: must be a power of 2/);
    expect(bad({ hosts: ['a', 'b'], eop: { driver: 'ntb-netdv' } })).toMatch(/did you mean "ntb-netdev"/);
  });
});

describe('ntb-netdev in a bench scenario', () => {
  it('a variant with more than two hosts is refused before anything runs', async () => {
    const { parseScenario } = await import('../src/bench/scenario.js');
    const msg = configError(() =>
      parseScenario({ name: 's', messageBytes: [1024], rack: { eop: { driver: 'ntb-netdev' } }, variants: [{ name: 'four', hosts: 4 }] }, '<test>'),
    );
    expect(msg).toMatch(/variant "four": eop.driver ntb-netdev joins exactly two hosts.*hosts: 4/);
  });
});
