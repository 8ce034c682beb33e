import { describe, expect, it } from 'vitest';
import { pioPingPong } from '../src/bench/pio-pingpong.js';
import { DEFAULT_CPU } from '../src/host/cpu-copy.js';
import { POLLING_PROFILE } from '../src/host/profile.js';
import { DEFAULT_SWITCH } from '../src/pcie/fabric.js';
import { DEFAULT_LINK, wireTimeNs, type LinkConfig } from '../src/pcie/link.js';

describe('SISCI-style PIO ping-pong between polling applications (the Dolphin IX row)', () => {
  it('one way is a store, the fixed path, two TLPs on the wire and one poll iteration, by hand', () => {
    const link: LinkConfig = { ...DEFAULT_LINK, gen: 2, width: 8 };
    // The 4-byte store leaves through the window (above 4 GiB: 4-DW header, 28 wire bytes) up the
    // sender's link, crosses one hop and both NTBs cut-through, comes down the receiver's link with
    // a 3-DW header (24 B: shorter, so hidden behind the up-link's tail), and the spinning core sees
    // it within one poll iteration (100 ns).
    const expected =
      DEFAULT_CPU.storeNs +
      wireTimeNs(link, 2 ** 47, 4) +
      2 * link.latencyNs +
      DEFAULT_SWITCH.hopLatencyNs +
      2 * DEFAULT_SWITCH.ntbTranslateNs +
      POLLING_PROFILE.pollIntervalNs;
    expect(wireTimeNs(link, 0, 4)).toBeLessThan(wireTimeNs(link, 2 ** 47, 4));
    const r = pioPingPong({ gen: 2, width: 8 }, undefined, 6);
    expect(r.rounds).toBe(6);
    expect(r.oneWayNs).toBeCloseTo(expected, 6);
    expect(expected).toBeCloseTo(577.018, 2);
  });

  it('a switch hop more or less moves it by exactly the hop', () => {
    const a = pioPingPong({ gen: 2, width: 8 }, 0).oneWayNs;
    const b = pioPingPong({ gen: 2, width: 8 }, 150).oneWayNs;
    expect(b - a).toBeCloseTo(150, 6);
  });
});
