/**
 * The soak's judge and rack (benchmarks/soak-report.ts, benchmarks/soak-rack.ts), on made-up
 * samples: each criterion fails on the pattern it exists to catch (RSS creeping up, descriptors left
 * open, captures over their cap, no rotation, the emulator gone) and passes on a flat run with
 * garbage-collection noise and a rotation's passing extra fd. The rack file the soak writes is
 * accepted by the rack validator, with every fault kind in it.
 */
import { describe, expect, it } from 'vitest';
import { CAP_BYTES, faultSchedule, rackYaml } from '../benchmarks/soak-rack.js';
import { formatSoakReport, judgeSoak, type SoakInput, type SoakSample } from '../benchmarks/soak-report.js';
import { parseTopologyText } from '../src/topology/load.js';

const MiB = 1024 * 1024;

function run(over: { rss?: (t: number) => number; fds?: (t: number) => number; disk?: (t: number) => number } = {}, extra: Partial<SoakInput> = {}): SoakInput {
  const samples: SoakSample[] = [];
  for (let t = 0; t <= 120; t++) {
    samples.push({
      tS: t,
      // flat at 100 MiB after a 10 s climb, with ±4 MiB of GC sawtooth
      rssBytes: over.rss ? over.rss(t) : (t < 10 ? 60 + 4 * t : 100 + ((t * 7) % 9) - 4) * MiB,
      // 30 fds, one more now and then (a rotation's new file before the old one is closed)
      fds: over.fds ? over.fds(t) : 30 + (t % 11 === 0 ? 1 : 0),
      diskBytes: over.disk ? over.disk(t) : Math.min(t, 10) * MiB,
    });
  }
  const totals = { txFrames: 1000, rxFrames: 1200, drops: { ERR_EOP_LINK_DOWN: 5, 'kernel:tapTxDropped': 0 }, captureFrames: 2200, captureDrops: 0 };
  return {
    seconds: 120,
    warmupS: 12,
    samples,
    start: { ...totals, txFrames: 100, rxFrames: 120 },
    end: totals,
    capBytes: 12 * MiB,
    rotated: true,
    faultsScheduled: { 'link-down': 3 },
    faults: { 'link-down': 3 },
    recoveries: 3,
    traffic: { tcpRuns: 2, tcpFailed: 0, tcpBytes: 1e9, tcpRetransmits: 10, udpRuns: 2, udpFailed: 0, udpPackets: 1000, udpLost: 3, failures: [] },
    emulatorAlive: true,
    load: { start: [1, 1, 1], end: [1, 1, 1] },
    ...extra,
  };
}

const failed = (inp: SoakInput): string[] => judgeSoak(inp).criteria.filter((c) => !c.ok).map((c) => c.name);

describe('soak judge', () => {
  it('a flat run passes, with its figures in the report', () => {
    const r = judgeSoak(run());
    expect(failed(run())).toEqual([]);
    expect(r.pass).toBe(true);
    expect(Math.abs(r.rssGrowthPct)).toBeLessThan(10);
    expect(r.frames).toEqual({ tx: 1000, rx: 1200, txSinceWarmup: 900, rxSinceWarmup: 1080 });
    expect(r.drops).toEqual({ ERR_EOP_LINK_DOWN: 5 });
    const text = formatSoakReport(r);
    expect(text).toMatch(/^emulator RSS: \d+\.\d MiB after warm-up, \d+\.\d MiB at the end/m);
    expect(text).toMatch(/^emulator open fds: \d+ after warm-up, \d+ at the end$/m);
    expect(text).toMatch(/^frames dropped by reason: ERR_EOP_LINK_DOWN=5$/m);
    expect(text).toMatch(/^soak: PASS$/m);
  });

  it('memory creeping up by 10 % or more after warm-up fails', () => {
    const creep = (t: number): number => (100 + Math.max(0, t - 12) * 0.15) * MiB; // +16 % by the end
    expect(failed(run({ rss: creep }))).toEqual(['memory growth < 10 % after warm-up']);
    expect(formatSoakReport(judgeSoak(run({ rss: creep })))).toMatch(/^ {2}FAIL memory growth/m);
  });

  it('descriptors left open fail, even one a minute', () => {
    expect(failed(run({ fds: (t) => 30 + Math.floor(t / 60) }))).toEqual(['no file descriptor leak']);
  });

  it('captures over their cap fail at any moment, not only at the end', () => {
    expect(failed(run({ disk: (t) => (t === 50 ? 13 : 10) * MiB }))).toEqual(['capture disk use under the cap']);
  });

  it('no rotation, or an emulator that died, fail', () => {
    expect(failed(run({}, { rotated: false }))).toEqual(['captures rotated']);
    expect(failed(run({}, { emulatorAlive: false }))).toEqual(['emulator ran to the end']);
  });

  it('too few samples is a failure, not a pass', () => {
    const inp = run();
    inp.samples = inp.samples.slice(0, 5);
    expect(failed(inp)).toEqual(['memory growth < 10 % after warm-up', 'no file descriptor leak']);
  });
});

describe('soak rack', () => {
  it('the rack file validates, with every fault kind, a recovery after each outage, and nothing after the end', () => {
    const { yaml, scheduled } = faultSchedule(600, 4);
    const topo = parseTopologyText(rackYaml(yaml), 'soak.yaml');
    expect(topo.hosts.filter((h) => h.attach === 'tap')).toHaveLength(4);
    expect(topo.captures.maxFiles * topo.captures.maxFileMiB * 4 * MiB).toBe(CAP_BYTES);
    expect(Object.keys(scheduled).sort()).toEqual(['dma-error', 'host-crash', 'host-restart', 'irq-lost', 'link-down', 'link-up', 'tlp-corrupt']);
    expect(scheduled['link-up']).toBe(scheduled['link-down']);
    expect(scheduled['host-restart']).toBe(scheduled['host-crash']);
    expect(Math.max(...topo.faults.map((f) => f.atUs))).toBeLessThanOrEqual((600 - 3) * 1e6);
    expect(topo.faults.length).toBeGreaterThan(140);
  });
});
