/**
 * Shared by the link-down tests of both driver profiles: faults that take a host's link down and
 * up again, and the check that nothing a sender accepted was lost uncounted.
 */
import { expect } from 'vitest';
import type { EopNic } from '../../src/eop/eop-nic.js';
import type { Rack } from '../../src/topology/rack.js';
import { installFaults } from '../../src/topology/install-faults.js';
import type { FaultSpec } from '../../src/topology/types.js';
import { MAC, rawFrame } from './raw-frame.js';

const US = 1000;

const fault = (atUs: number, kind: 'link-down' | 'link-up', host: string): FaultSpec => ({ origin: 'test', atUs, kind, host, count: 1, pollUs: 0, path: 'primary' });

/** `host`'s link down `downUs` from now and up again at `upUs` (the rack file's faults). */
export function downThenUp(rack: Rack, host: string, downUs: number, upUs: number): void {
  installFaults({ faults: [fault(downUs, 'link-down', host), fault(upUs, 'link-up', host)] }, rack);
}

/** The tag rawFrame writes into a frame. */
export const tagOf = (f: Uint8Array): number => f[14]! | (f[15]! << 8);

/**
 * After the link-down and link-up are over: three fresh frames from h1 to h2 arrive last; every
 * frame h2 got (`got`) is one h1 accepted (`sent`, by tag), once and intact; and delivered +
 * counted drops = accepted. Bounded runs: a wedged queue keeps its restart timer ticking for ever.
 */
export function expectAllAccountedFor(rack: Rack, h1: EopNic, h2: EopNic, sent: Map<number, Uint8Array>, got: Uint8Array[], label: string): void {
  rack.sched.runUntil(rack.sched.now + 50_000 * US);
  const after = [100, 101, 102].map((k) => rawFrame(MAC[2]!, MAC[1]!, 3000, k));
  for (const f of after) {
    expect(h1.transmit(f), label).toBe(true);
    sent.set(tagOf(f), f);
  }
  rack.sched.runUntil(rack.sched.now + 50_000 * US);
  const tags = got.map(tagOf);
  expect(new Set(tags).size, label).toBe(tags.length);
  for (const f of got) expect(f, label).toEqual(sent.get(tagOf(f)));
  expect(tags.slice(-3), label).toEqual([100, 101, 102]);
  expect(got.length + h1.drops.total + h2.drops.total, label).toBe(sent.size);
}
