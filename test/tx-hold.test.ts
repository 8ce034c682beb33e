/**
 * bridge/tx-hold.ts, the back-pressure between an EOP interface and the source feeding it (the
 * TAP bridge and the WebSocket port): frames wait while the interface is full and go in order
 * when it drains; the 200 ms watchdog ends a pause that no drain ends (the interface then takes or
 * drops and counts); a full holding queue drops and says so; `clear` forgets a pause without
 * resuming a gone source.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TxHold } from '../bridge/tx-hold.js';
import { FakePort } from './helpers/fake-port.js';
import { MAC, rawFrame } from './helpers/raw-frame.js';

function setup(holdFrames = 4) {
  const nic = new FakePort();
  const src = { paused: false, pause: () => (src.paused = true), resume: () => (src.paused = false) };
  let drops = 0;
  let pokes = 0;
  const hold = new TxHold(nic, src, { holdFrames, ingest: (f) => nic.transmit(f), onDrop: () => drops++, poke: () => pokes++ });
  const offer = (i: number): void => {
    const f = rawFrame(MAC[2]!, MAC[1]!, 60, i);
    if (hold.mustWait(MAC[2]!)) hold.hold(f);
    else nic.transmit(f);
  };
  return { nic, src, hold, offer, drops: () => drops, pokes: () => pokes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('TxHold', () => {
  it('waits while full, pauses the source once, and the drain sends in order, then resumes', () => {
    const { nic, src, hold, offer } = setup();
    nic.space = 0;
    for (let i = 0; i < 3; i++) offer(i);
    expect(src.paused).toBe(true);
    expect(hold.c).toMatchObject({ pauses: 1, held: 3, stalls: 0 });
    nic.space = 1;
    nic.drained.shift()!(); // room for one: it goes, the rest waits for the next drain
    expect(nic.sent.map((f) => f[14])).toEqual([0]);
    expect(src.paused).toBe(true);
    nic.space = 10;
    nic.drained.shift()!();
    expect(nic.sent.map((f) => f[14])).toEqual([0, 1, 2]);
    expect(src.paused).toBe(false);
    offer(3); // room again: straight through
    expect(hold.size).toBe(0);
    expect(nic.sent).toHaveLength(4);
  });

  it('a full holding queue drops (counted by the caller); the watchdog ends a pause no drain ends', () => {
    vi.useFakeTimers();
    const { nic, src, hold, offer, drops, pokes } = setup(2);
    nic.space = 0;
    for (let i = 0; i < 5; i++) offer(i);
    expect(hold.size).toBe(2);
    expect(drops()).toBe(3);
    vi.advanceTimersByTime(199);
    expect(src.paused).toBe(true);
    vi.advanceTimersByTime(1);
    expect(nic.sent.map((f) => f[14])).toEqual([0, 1]); // offered anyway: the interface takes or drops
    expect(src.paused).toBe(false);
    expect(hold.c.stalls).toBe(1);
    expect(pokes()).toBe(1);
  });

  it('clear forgets the frames and the pause without resuming; a later drain does nothing', () => {
    vi.useFakeTimers();
    const { nic, src, hold, offer } = setup();
    nic.space = 0;
    offer(0);
    hold.clear();
    expect(src.paused).toBe(true); // the source is going away: not resumed
    nic.space = 10;
    nic.drained.shift()!();
    vi.advanceTimersByTime(1000);
    expect(nic.sent).toHaveLength(0);
    expect(hold.isPaused).toBe(false);
  });
});
