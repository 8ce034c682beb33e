/**
 * NTB path failover in the model (src/eop/path-failover.ts, src/pcie/ntb-paths.ts): a host with two
 * NTB paths loses its primary link in the middle of a frame stream in both directions. Every frame
 * is delivered or counted lost by its receiver, never both and never neither; no frame whose credit
 * had come back to its sender is lost; traffic moves to the backup link; the switch-over time is the
 * modeled detection, remap and resync.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { Credit } from '../src/eop/ring-layout.js';
import type { Rack } from '../src/topology/rack.js';
import { NS_PER_US } from '../src/time/units.js';
import { BCAST, MAC, rawFrame } from './helpers/raw-frame.js';
import { bootedRack } from './helpers/rack.js';

const FAILOVER = { linkDownDetectNs: 40 * NS_PER_US, aerHandlerNs: 5 * NS_PER_US, remapNs: 2 * NS_PER_US };

/** h1 (two NTB paths), h2, h3; every host has sent one broadcast, so every MAC is learned (no floods). */
function multipathRack(failover = FAILOVER): Rack {
  const rack = bootedRack(3, { failover, perHost: (i) => (i === 1 ? { backupPath: {} } : {}) });
  for (const n of [1, 2, 3]) rack.nic(`h${n}`).transmit(rawFrame(BCAST, MAC[n]!, 60, 0xffff));
  rack.sched.run();
  return rack;
}

interface Stream {
  /** Tags of frames the sender's interface accepted, in order. */
  accepted: number[];
  /** Tags delivered at the receiver, in order. */
  got: number[];
}

/** `from` sends `count` tagged 1514-byte frames to `to`, one every `gapNs`, whenever its queue has room. */
function stream(rack: Rack, from: number, to: number, count: number, gapNs: number, base: number): Stream {
  const s: Stream = { accepted: [], got: [] };
  const nic = rack.nic(`h${from}`);
  const prev = rack.nic(`h${to}`);
  const old = (prev as unknown as { receiver: (f: Uint8Array) => void }).receiver;
  prev.setReceiver((f) => {
    const tag = f[14]! | (f[15]! << 8);
    const src = f[11]!;
    if (src === from) s.got.push(tag);
    old(f);
  });
  let k = 0;
  const t0 = rack.sched.now;
  const send = (): void => {
    if (k >= count) return;
    if (nic.txSpace(MAC[to]!) > 0) {
      const tag = base + k;
      if (nic.transmit(rawFrame(MAC[to]!, MAC[from]!, k % 3 === 0 ? 1514 : 300, tag))) s.accepted.push(tag);
      k++;
    }
    rack.sched.at(t0 + (k + 1) * gapNs + (rack.sched.now - t0 > k * gapNs ? rack.sched.now - t0 - k * gapNs : 0), send);
  };
  rack.sched.after(0, send);
  return s;
}

describe('NTB path failover', () => {
  it('h1 loses its primary path mid-stream: every frame delivered or counted lost, confirmed frames never lost, traffic on the backup', () => {
    const rack = multipathRack();
    // Two streams, both directions across h1, plus one that does not touch h1 (h2 → h3).
    const out = stream(rack, 1, 2, 3000, 300, 0);
    const back = stream(rack, 2, 1, 3000, 300, 10_000);
    const aside = stream(rack, 2, 3, 1000, 900, 20_000);
    const h1 = rack.host('h1');
    const fo = rack.failover!;
    const tFail = rack.sched.now + 200 * NS_PER_US;
    const confirmed0 = h1.memory.readU32(rack.nic('h1').qp(2)!.creditAddr + Credit.CONS);
    let confirmedAtDetect = -1;
    fo.onEvent((rec, phase) => {
      // What h1 saw confirmed (the credit word h2 writes into h1's memory) when the drivers hear of it.
      if (phase === 'detected') confirmedAtDetect = h1.memory.readU32(rack.nic('h1').qp(2)!.creditAddr + Credit.CONS);
    });
    rack.sched.at(tFail, () => fo.fail(h1, 0, 'test'));
    const prod0 = [rack.nic('h1').qp(2)!.prod, rack.nic('h2').qp(1)!.prod];
    rack.sched.run();

    const rec = fo.records[0]!;
    expect(rec.to).toBe('backup');
    expect(rec.failedAtNs).toBe(tFail);
    expect(rec.detectedAtNs - rec.failedAtNs).toBe(FAILOVER.linkDownDetectNs + FAILOVER.aerHandlerNs);
    expect(rec.doneAtNs).toBeGreaterThan(rec.detectedAtNs);
    // h1's two queue pairs, both directions each.
    expect(rec.queuePairs).toBe(4);

    const q12 = rack.nic('h1').qp(2)!;
    const r21 = rack.nic('h2').qp(1)!;
    const q21 = rack.nic('h2').qp(1)!;
    const r12 = rack.nic('h1').qp(2)!;
    for (const [s, sender, receiver, p0] of [
      [out, q12, r21, prod0[0]!],
      [back, q21, r12, prod0[1]!],
    ] as const) {
      // Every accepted frame was sent, and every sent frame was either delivered or counted lost.
      expect(s.accepted.length).toBe(3000);
      expect(sender.prod - p0).toBe(3000);
      expect(s.got.length + receiver.c.rxPathLost).toBe(3000);
      // Delivered in order, no duplicate.
      for (let i = 1; i < s.got.length; i++) expect(s.got[i]!).toBeGreaterThan(s.got[i - 1]!);
      expect(receiver.c.rxPathLost).toBeGreaterThan(0);
    }
    // Frames h1 saw confirmed by detection time were all delivered (tags are 0-based in send order).
    expect(confirmedAtDetect).toBeGreaterThan(confirmed0);
    const gotOut = new Set(out.got);
    for (let t = 0; t < confirmedAtDetect - confirmed0; t++) expect(gotOut.has(t)).toBe(true);
    // The lost ones are a run inside the outage, after the confirmed ones.
    const lostOut = out.accepted.filter((t) => !gotOut.has(t));
    expect(lostOut.length).toBe(rack.nic('h2').qp(1)!.c.rxPathLost);
    expect(Math.min(...lostOut)).toBeGreaterThanOrEqual(confirmedAtDetect - confirmed0);
    expect(rec.framesLost).toBe(q12.c.rxPathLost + r21.c.rxPathLost);
    // h2 → h3 never touched h1's link: nothing lost there.
    expect(aside.got.length).toBe(1000);
    // The traffic after the switch-over crossed h1's backup link.
    const paths = rack.fabric.multipath!.paths(h1.index)!;
    expect(paths[1].link.up.payloadBytes).toBeGreaterThan(1_000_000);
    expect(paths[1].link.down.payloadBytes).toBeGreaterThan(1_000_000);
    expect(rack.fabric.drops.get(ErrorCode.NTB_PATH_DOWN)).toBeGreaterThan(0);
    expect(rack.nic('h2').drops.get(ErrorCode.EOP_PATH_LOST)).toBe(r21.c.rxPathLost);
  });

  it('detected at once, while frames are still in the DMA engine and on the links: every frame delivered or counted lost, the rings stay in step', () => {
    // No detection delay: the drivers move while frames posted on the old route are still in the
    // DMA engine or on the links. Those must land or die before the route changes, or a late one
    // would land in a slot its receiver already counted lost.
    for (const detect of [0, 2_000, 7_000]) {
      const rack = multipathRack({ linkDownDetectNs: detect, aerHandlerNs: 0, remapNs: 100 });
      const out = stream(rack, 1, 2, 1500, 100, 0);
      const back = stream(rack, 2, 1, 1500, 100, 10_000);
      const p0 = [rack.nic('h1').qp(2)!.prod, rack.nic('h2').qp(1)!.prod];
      rack.sched.at(rack.sched.now + 40 * NS_PER_US, () => rack.failover!.fail(rack.host('h1'), 0, 'fast'));
      rack.sched.run();
      const rec = rack.failover!.records[0]!;
      expect(rec.doneAtNs, `detect ${detect}`).toBeGreaterThan(rec.detectedAtNs);
      for (const [s, sender, receiver, base] of [
        [out, rack.nic('h1').qp(2)!, rack.nic('h2').qp(1)!, p0[0]!],
        [back, rack.nic('h2').qp(1)!, rack.nic('h1').qp(2)!, p0[1]!],
      ] as const) {
        expect(sender.prod - base).toBe(1500);
        expect(s.got.length + receiver.c.rxPathLost).toBe(1500);
        expect([receiver.c.rxErrSeq, receiver.c.rxErrBadSlot]).toEqual([0, 0]);
        for (let i = 1; i < s.got.length; i++) expect(s.got[i]!).toBeGreaterThan(s.got[i - 1]!);
      }
    }
  });

  it('a failed path nobody uses moves nothing; both paths failed stops traffic until one returns', () => {
    const rack = multipathRack();
    const h1 = rack.host('h1');
    const fo = rack.failover!;
    const out = stream(rack, 1, 2, 2000, 500, 0);
    rack.sched.at(rack.sched.now + 50 * NS_PER_US, () => fo.fail(h1, 1, 'backup first'));
    rack.sched.at(rack.sched.now + 200 * NS_PER_US, () => fo.fail(h1, 0, 'then primary'));
    const tRestore = rack.sched.now + 400 * NS_PER_US;
    rack.sched.at(tRestore, () => {
      // Before the backup returns, the primary's failover is stuck: nowhere to move.
      expect(fo.records[1]).toMatchObject({ to: null, doneAtNs: -1 });
      fo.restore(h1, 1, 'backup back');
    });
    rack.sched.run();
    // The failover that found both paths down completes when the backup returns (same record).
    const [idle, moved] = fo.records;
    expect(fo.records).toHaveLength(2);
    expect(idle!.idle).toBe(true);
    expect(idle!.queuePairs).toBe(0);
    expect(moved!.origin).toBe('then primary');
    expect(moved!.to).toBe('backup');
    expect(moved!.detectedAtNs - moved!.failedAtNs).toBe(FAILOVER.linkDownDetectNs + FAILOVER.aerHandlerNs);
    expect(moved!.doneAtNs).toBeGreaterThan(tRestore);
    const r21 = rack.nic('h2').qp(1)!;
    expect(out.accepted.length).toBe(2000);
    expect(out.got.length + r21.c.rxPathLost).toBe(2000);
    expect(r21.c.rxPathLost).toBeGreaterThan(0);
  });
});
