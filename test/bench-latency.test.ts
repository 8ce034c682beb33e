/**
 * One 64-byte frame, h1 → h2 on Gen2 x8 (the CPU-copy path: 64 B is below the 1,024-byte copy
 * threshold, and with an MSI), measured by the bench's ping-pong as the one-way latency from the
 * application's send call to the receiving application. It must equal the sum of its modeled
 * parts, written out here term by term from the documented parameters.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CPU } from '../src/host/cpu-copy.js';
import { KERNEL_PROFILE, POLLING_PROFILE } from '../src/host/profile.js';
import { DEFAULT_SWITCH } from '../src/pcie/fabric.js';
import { DEFAULT_LINK, nsPerWireByte } from '../src/pcie/link.js';
import { DEFAULT_IRQ_HANDLER_NS } from '../src/topology/rack.js';
import { parseScenario } from '../src/bench/scenario.js';
import { DEFAULT_STACK, UDP_FRAME_OVERHEAD } from '../src/bench/stack-model.js';
import { runPoint } from '../src/bench/point.js';

const payload = 64 - UDP_FRAME_OVERHEAD; // 22 bytes of message in a 64-byte frame

function pingPong(profile: 'kernel' | 'polling') {
  const s = parseScenario(
    {
      name: 'one-frame',
      messageBytes: [payload],
      measure: { pingRounds: 20 },
      stack: { jitterNs: 0 },
      variants: [{ name: 'ping', traffic: 'pingpong', gen: 2, width: 8, mpsBytes: 256, rack: { profile } }],
    },
    '<test>',
  );
  return runPoint({ scenario: s.name, variant: s.variants[0]!, messageBytes: payload, seed: 1, measure: s.measure });
}

describe('bench: latency of one 64-byte frame', () => {
  it('polling: no interrupt entry, softirq, wake-up or context switch; one poll iteration instead', () => {
    const kernel = pingPong('kernel').latencyUs.p50 * 1000;
    const polling = pingPong('polling').latencyUs.p50 * 1000;
    const k = KERNEL_PROFILE;
    // The kernel path's interrupt (700 + 300) and the receiver's wake-up (500 + 1,070) go; the
    // poller sees the frame 100 ns after its MSI-sized notification lands. 4998.93 − 2570 + 100.
    const saved = DEFAULT_IRQ_HANDLER_NS + k.softirqNs + k.wakeNs + k.contextSwitchNs - POLLING_PROFILE.pollIntervalNs;
    expect(kernel - polling).toBeCloseTo(saved, 0);
    expect(polling).toBeCloseTo(2528.93, 0);
  });

  it('equals the sum of its modeled parts', () => {
    const p = pingPong('kernel');
    expect(p.frameBytes).toBe(64);

    const st = DEFAULT_STACK;
    const cpu = DEFAULT_CPU;
    const l = DEFAULT_LINK;
    const nsPerByte = nsPerWireByte({ gen: 2, width: 8 }); // 8 / (32 × 1534/1538) = 0.2506519 ns (SKP included)
    // One TLP each (every write here is < 64 B). Up-links carry 4-DW headers (the requester's NTB
    // window is above 4 GiB), h2's down-link 3-DW ones (its ring and MSI address are below 4 GiB).
    const up = (bytes: number): number => (bytes + 16 + 8) * nsPerByte;
    const down = (bytes: number): number => (bytes + 12 + 8) * nsPerByte;
    const path = l.latencyNs + DEFAULT_SWITCH.hopLatencyNs + 2 * DEFAULT_SWITCH.ntbTranslateNs + l.latencyNs; // 450 ns

    // Sender application: one send call, the message copied from user space.
    const send = st.sendCallNs + (payload * 8) / st.userCopyGbps;
    // Driver: the CPU copies the frame into the peer's ring through the window (setup, then stores).
    const copySetup = cpu.copySetupNs;
    // The frame (one 64-byte TLP) crosses the sender's up-link, the switch and both NTBs.
    const frameUpAndAcross = up(64) + path;
    // On h2's down-link the frame, its 12-byte slot header and the 4-byte MSI follow back to back:
    // the down-link, not the sending CPU, paces them at Gen2 x8. Each is one TLP (CPU stores leave
    // through a write-combining buffer: 64-byte TLP grid).
    const downLink = down(64) + down(12) + down(4);
    // The CPU's MSI store (storeNs) outlasts its TLP on the up-link; the model adds the difference
    // to the time the write lands.
    const storeTail = cpu.storeNs - up(4);
    // Interrupt delivery and entry on h2 (its IRQ core is idle), then the deferred part (softirq);
    // the driver hands the frame up (rxFrameNs is charged after delivery).
    const irq = DEFAULT_IRQ_HANDLER_NS + KERNEL_PROFILE.softirqNs;
    // Receiving stack: per-datagram protocol work on the IRQ core; the application slept, so the IRQ
    // core wakes it and its core switches to it; then the copy to user space.
    const recv = st.rxSegmentNs + KERNEL_PROFILE.wakeNs + KERNEL_PROFILE.contextSwitchNs + (payload * 8) / st.userCopyGbps;
    const expected = send + copySetup + frameUpAndAcross + downLink + storeTail + irq + recv;
    // 1004.4 + 100 + (22.0574 + 450) + (21.0548 + 8.0209 + 6.0156) + 12.9817 + (700 + 300)
    //   + (800 + 500 + 1070 + 4.4) = 4998.93 ns
    expect(expected).toBeCloseTo(4998.93, 1);
    expect(p.latencyUs.p50 * 1000).toBeCloseTo(expected, 0);
    expect(p.latencyUs.p99 * 1000).toBeCloseTo(expected, 0);
    // The round trip is about two such one-way trips (the server answers with a 64-byte frame too;
    // the credit write-backs of the previous leg may still occupy a link for a few ns: within 1 %).
    expect(Math.abs(p.rttUs!.p50 * 1000 - 2 * expected) / (2 * expected)).toBeLessThan(0.01);
  });
});
