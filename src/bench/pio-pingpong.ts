/**
 * A SISCI-style ping-pong: two applications that each map a segment of the other's memory through
 * the NTB and poll a word of their own memory, with no driver, no interrupt and no stack between them
 * (Dolphin's scipp benchmark does this). One round: A's core stores a 4-byte word into B's memory
 * (one uncached store through the window: a posted write across the fabric), B's spinning core sees
 * it at its next poll iteration (`pollIntervalNs` of the polling profile, src/host/profile.ts) and
 * stores the answer into A's memory, which A's spinning core sees the same way. The one-way latency
 * is half the round trip, as scipp reports it.
 */
import type { Host } from '../host/host.js';
import { remoteAddr } from '../mem/address-map.js';
import { DEFAULT_LINK, type LinkConfig } from '../pcie/link.js';
import { Rack, rackSpec } from '../topology/rack.js';
import type { Ns } from '../time/units.js';

/** Where each side's polled word sits in its own memory (granted to the peer). */
const POLL_WORD_ADDR = 8 * 2 ** 30;

export interface PioPingPongResult {
  /** Half of the mean round trip. */
  oneWayNs: Ns;
  rounds: number;
}

/** `rounds` PIO ping-pongs between two polling hosts on links `link`, one switch hop of `hopLatencyNs`. */
export function pioPingPong(link: Partial<LinkConfig>, hopLatencyNs: Ns | undefined, rounds = 10): PioPingPongResult {
  const spec = rackSpec(
    [
      { name: 'mh', mac: 0, management: true },
      { name: 'a', mac: 0x02e000000001 },
      { name: 'b', mac: 0x02e000000002 },
    ],
    { link: { ...DEFAULT_LINK, ...link }, profile: 'polling' },
  );
  if (hopLatencyNs !== undefined) spec.switch = { ...spec.switch, hopLatencyNs };
  const rack = new Rack(spec);
  rack.boot();
  rack.sched.run();
  const a = rack.host('a');
  const b = rack.host('b');
  a.iommu.grant(b.rid, POLL_WORD_ADDR, 4096, 'sisci segment');
  b.iommu.grant(a.rid, POLL_WORD_ADDR, 4096, 'sisci segment');
  const sched = rack.sched;
  const word = new Uint8Array(4);
  let round = 0;
  const t0 = sched.now;
  let end = -1;
  // `from` stores the round number into `to`'s polled word; `to` sees it one poll iteration after it landed.
  const send = (from: Host, to: Host): void => {
    word[0] = round & 0xff;
    from.cpu.store(remoteAddr(to.index, POLL_WORD_ADDR), word, 0);
    from.cpu.commit((code) => {
      if (code) throw new Error(`PIO ping-pong: the store was refused (${code})`);
      sched.after(to.profile.pollIntervalNs, () => {
        if (to.memory.readU32(POLL_WORD_ADDR) !== (round & 0xff)) throw new Error('PIO ping-pong: the polled word did not change');
        if (to === a) {
          round++;
          if (round === rounds) {
            end = sched.now;
            return;
          }
        }
        send(to, to === a ? b : a);
      });
    });
  };
  send(a, b);
  sched.run();
  if (end < 0) throw new Error('PIO ping-pong did not finish');
  return { oneWayNs: (end - t0) / rounds / 2, rounds };
}
