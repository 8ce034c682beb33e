import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/time/scheduler.js';
import { Rng } from '../src/time/rng.js';

describe('Scheduler', () => {
  it('runs events in time order, whatever order they were scheduled in', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(300, (x: string) => log.push(`${x}@${s.now}`), 'c');
    s.at(100, (x: string) => log.push(`${x}@${s.now}`), 'a');
    s.at(200, (x: string) => log.push(`${x}@${s.now}`), 'b');
    s.after(50, (x: string) => log.push(`${x}@${s.now}`), 'first');
    expect(s.pending).toBe(4);
    expect(s.nextTime()).toBe(50);
    expect(s.run()).toBe(4);
    expect(log).toEqual(['first@50', 'a@100', 'b@200', 'c@300']);
    expect(s.now).toBe(300);
    expect(s.executed).toBe(4);
    expect(s.nextTime()).toBe(Infinity);
  });

  it('runs simultaneous events in the order they were scheduled (many ties, heap-stressed)', () => {
    const s = new Scheduler();
    const log: number[] = [];
    // 50 events at t=10 interleaved with 50 at t=5 and t=20; within each time, scheduling order wins.
    for (let i = 0; i < 50; i++) {
      s.at(10, (v: number) => log.push(v), 1000 + i);
      s.at(20, (v: number) => log.push(v), 2000 + i);
      s.at(5, (v: number) => log.push(v), i);
    }
    s.run();
    const expected = [
      ...Array.from({ length: 50 }, (_, i) => i),
      ...Array.from({ length: 50 }, (_, i) => 1000 + i),
      ...Array.from({ length: 50 }, (_, i) => 2000 + i),
    ];
    expect(log).toEqual(expected);
  });

  it('an event scheduled for "now" from inside an event runs after the events already due now', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(10, () => {
      log.push('a');
      s.after(0, () => log.push('a-child'));
    });
    s.at(10, () => log.push('b'));
    s.run();
    expect(log).toEqual(['a', 'b', 'a-child']);
  });

  it('cancel removes exactly the cancelled event', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(10, () => log.push('a'));
    const id = s.at(20, () => log.push('b'));
    s.at(30, () => log.push('c'));
    s.cancel(id);
    expect(s.run()).toBe(2); // the cancelled one is not counted as run
    expect(log).toEqual(['a', 'c']);
    expect(s.executed).toBe(2);
  });

  it('cancel from inside an earlier event at the same time', () => {
    const s = new Scheduler();
    const log: string[] = [];
    let victim = 0;
    s.at(10, () => {
      log.push('killer');
      s.cancel(victim);
    });
    victim = s.at(10, () => log.push('victim'));
    s.run();
    expect(log).toEqual(['killer']);
  });

  it('runUntil runs events up to and including the limit and leaves now at the limit', () => {
    const s = new Scheduler();
    const log: number[] = [];
    s.at(100, () => log.push(s.now));
    s.at(150, () => log.push(s.now));
    s.at(151, () => log.push(s.now));
    expect(s.runUntil(150)).toBe(2);
    expect(log).toEqual([100, 150]);
    expect(s.now).toBe(150);
    // Nothing due before 140 more ns: time still advances to the limit.
    expect(s.runUntil(140)).toBe(0); // a limit in the past does not move time back
    expect(s.now).toBe(150);
    expect(s.runUntil(1000)).toBe(1);
    expect(log).toEqual([100, 150, 151]);
    expect(s.now).toBe(1000);
    expect(s.pending).toBe(0);
  });

  it('runUntil with an empty queue still moves now to the limit', () => {
    const s = new Scheduler();
    s.runUntil(12_345);
    expect(s.now).toBe(12_345);
  });

  it('stop() ends the run after the current event and does not move time to the limit', () => {
    const s = new Scheduler();
    const log: number[] = [];
    s.at(10, () => {
      log.push(10);
      s.stop();
    });
    s.at(20, () => log.push(20));
    expect(s.runUntil(1000)).toBe(1);
    expect(log).toEqual([10]);
    expect(s.now).toBe(10);
    expect(s.pending).toBe(1);
    s.run();
    expect(log).toEqual([10, 20]);
  });

  it('scheduling in the past clamps to now', () => {
    const s = new Scheduler();
    s.runUntil(500);
    const seen: number[] = [];
    s.at(100, () => seen.push(s.now));
    s.after(-50, () => seen.push(s.now));
    expect(s.nextTime()).toBe(500);
    s.run();
    expect(seen).toEqual([500, 500]);
    expect(s.now).toBe(500);
  });

  it('NaN times throw', () => {
    const s = new Scheduler();
    expect(() => s.at(NaN, () => {})).toThrow(/NaN/);
    expect(() => s.after(NaN, () => {})).toThrow(/NaN/);
    expect(s.pending).toBe(0);
  });

  it('passes the argument to the event function', () => {
    const s = new Scheduler();
    const got: unknown[] = [];
    const obj = { k: 1 };
    s.at(1, (a: { k: number }) => got.push(a), obj);
    s.at(2, (a: undefined) => got.push(a));
    s.run();
    expect(got[0]).toBe(obj);
    expect(got[1]).toBeUndefined();
  });
});

describe('Rng', () => {
  it('same seed gives the same sequence', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const sa = Array.from({ length: 100 }, () => a.nextU32());
    const sb = Array.from({ length: 100 }, () => b.nextU32());
    expect(sa).toEqual(sb);
    // and it is not a constant sequence
    expect(new Set(sa).size).toBe(100);
  });

  it('different seeds give different sequences', () => {
    const a = new Rng(1);
    const b = new Rng(2);
    const sa = Array.from({ length: 20 }, () => a.nextU32());
    const sb = Array.from({ length: 20 }, () => b.nextU32());
    expect(sa).not.toEqual(sb);
    // not merely shifted either: no value in common in the first 20 draws
    expect(sa.filter((v) => sb.includes(v))).toEqual([]);
  });

  it('the scheduler rng is seeded from the scheduler seed', () => {
    const a = new Scheduler(7).rng;
    const b = new Scheduler(7).rng;
    const c = new Scheduler(8).rng;
    const va = [a.nextU32(), a.nextU32(), a.nextU32()];
    expect([b.nextU32(), b.nextU32(), b.nextU32()]).toEqual(va);
    expect([c.nextU32(), c.nextU32(), c.nextU32()]).not.toEqual(va);
  });

  it('nextU32 is an unsigned 32-bit integer; next() is in [0, 1)', () => {
    const r = new Rng(3);
    for (let i = 0; i < 2000; i++) {
      const u = r.nextU32();
      expect(Number.isInteger(u)).toBe(true);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThanOrEqual(0xffffffff);
      const f = r.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });

  it('int(n) stays in [0, n) and hits every value', () => {
    const r = new Rng(99);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 7000; i++) {
      const v = r.int(7);
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(7);
      counts[v]!++;
    }
    // Each of the 7 values expected 1000 times; allow a wide ±25 % band.
    for (const c of counts) {
      expect(c).toBeGreaterThan(750);
      expect(c).toBeLessThan(1250);
    }
    // int(1) is always 0
    for (let i = 0; i < 100; i++) expect(r.int(1)).toBe(0);
  });

  it('uniform(lo, hi) stays in [lo, hi)', () => {
    const r = new Rng(5);
    for (let i = 0; i < 1000; i++) {
      const v = r.uniform(-3, 2);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThan(2);
    }
  });
});
