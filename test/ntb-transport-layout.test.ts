import { describe, expect, it } from 'vitest';
import { NTB_DEFAULT_HZ, NTB_DEFAULT_WINDOW_BYTES, qpGeometry, txFreeEntries, txTimerFiresAt } from '../src/eop/ntb-transport-layout.js';

describe('ntb_transport window layout (ntb_transport_setup_qp_mw, by hand)', () => {
  it('a 1 MiB window: 15 entries of 64 KiB, MTU 65,510 (TrueNAS: "only 1MB, which means only 15 packets")', () => {
    // rx_size = 1,048,576 − 4 (rx_info) = 1,048,572; max_frame = min(65,536, 524,286) = 65,536;
    // entries = floor(1,048,572 / 65,536) = 15 (16 would need 4 more bytes); MTU = 65,536 − 12 − 14.
    expect(NTB_DEFAULT_WINDOW_BYTES).toBe(1 << 20);
    expect(qpGeometry(1 << 20)).toEqual({ rxBytes: 1048572, maxFrameBytes: 65536, entries: 15, rxInfoOffset: 1048572, maxPayloadBytes: 65524, maxMtu: 65510 });
  });

  it('a small window halves its frames ("at least 2 buffs"), which caps the MTU', () => {
    // 64 KiB: rx_size 65,532, max_frame = min(65,536, 32,766) = 32,766, 2 entries, MTU 32,766 − 26.
    const g = qpGeometry(64 << 10);
    expect([g.maxFrameBytes, g.entries, g.maxMtu]).toEqual([32766, 2, 32740]);
    // 4 MiB: 63 entries (4,194,300 / 65,536 = 63.99).
    expect(qpGeometry(4 << 20).entries).toBe(63);
  });

  it('two queue pairs in one window split it first', () => {
    // 1 MiB / 2 = 524,288 − 4 → 7 entries of 64 KiB.
    expect(qpGeometry(1 << 20, 2).entries).toBe(7);
  });

  it('free entries as ntb_transport_tx_free_entry counts them, quirk included', () => {
    // After setup the peer's index is entries − 1: 14 of 15 free.
    expect(txFreeEntries(0, 14, 15)).toBe(14);
    expect(txFreeEntries(10, 14, 15)).toBe(4); // below tx_stop (5): the netdev queue stops
    expect(txFreeEntries(14, 3, 15)).toBe(4);
    // head == tail (the ring really is full: ntb_process_tx refuses) reads as 15 free.
    expect(txFreeEntries(14, 14, 15)).toBe(15);
  });

  it('the restart timer fires on the tick after next: 4–8 ms at HZ 250', () => {
    expect(NTB_DEFAULT_HZ).toBe(250);
    expect(txTimerFiresAt(0, 250)).toBe(8e6);
    expect(txTimerFiresAt(3.9e6, 250)).toBe(8e6);
    expect(txTimerFiresAt(4e6, 250)).toBe(12e6);
    expect(txTimerFiresAt(0, 1000)).toBe(2e6);
  });
});
