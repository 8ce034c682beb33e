/**
 * benchmarks/cpu-profile.ts: which stage a profile sample is charged to, and the shares of the busy
 * samples inside a time window (what bench:ws prints as "where the time goes").
 */
import { describe, expect, it } from 'vitest';
import { formatSplit, stageOf, stageShares, type CpuProfile } from '../benchmarks/cpu-profile.js';

describe('stageOf', () => {
  // [url, function name, stage]: scripts by where they live; V8's pseudo-frames by name.
  const cases: [string, string, string | null][] = [
    ['file:///x/node_modules/ws/lib/receiver.js', 'getData', 'ws library (framing, masking)'],
    ['node:net', 'onStreamRead', 'Node sockets and streams'],
    ['file:///x/dist/bridge/ws-port.js', 'fromClient', 'WebSocket edge (bridge/ws-*)'],
    ['file:///x/dist/bridge/tap-bridge.js', 'onBatch', 'TAP bridge and addon'],
    ['file:///x/dist/src/eop/eop-nic.js', 'transmit', 'EOP driver'],
    ['file:///x/dist/src/pcie/fabric.js', 'write', 'PCIe and memory model'],
    ['file:///x/dist/src/mem/sparse-memory.js', 'write', 'PCIe and memory model'],
    ['file:///x/dist/src/time/live-runner.js', 'tick', 'scheduler and live runner'],
    ['', 'writev', 'native calls (syscalls, copies)'],
    ['', '(program)', 'native calls (syscalls, copies)'],
    ['', '(garbage collector)', 'GC'],
    ['', '(idle)', 'idle'],
    ['', '(root)', null],
    ['file:///x/dist/src/cli/main.js', 'main', 'other'],
  ];
  it.each(cases)('%s %s → %s', (url, fn, stage) => {
    expect(stageOf(url, fn)).toBe(stage);
  });
});

describe('stageShares', () => {
  // Samples 1 ms apart from t = 1000 µs: ws, ws, idle, eop, GC, eop (at 2000 .. 7000 µs).
  const p: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '' } },
      { id: 2, callFrame: { functionName: 'getData', url: 'file:///x/node_modules/ws/lib/receiver.js' } },
      { id: 3, callFrame: { functionName: '(idle)', url: '' } },
      { id: 4, callFrame: { functionName: 'transmit', url: 'file:///x/dist/src/eop/eop-nic.js' } },
      { id: 5, callFrame: { functionName: '(garbage collector)', url: '' } },
    ],
    startTime: 1000,
    samples: [2, 2, 3, 4, 5, 4],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('counts busy samples only, within the window', () => {
    const all = stageShares(p, 0, 10_000);
    expect(all.busySamples).toBe(5);
    expect(Object.fromEntries(all.shares)).toEqual({ 'ws library (framing, masking)': 0.4, 'EOP driver': 0.4, GC: 0.2 });
    const late = stageShares(p, 4500, 7000); // the last three: eop, GC, eop
    expect(late.busySamples).toBe(3);
    expect(late.shares.get('EOP driver')).toBeCloseTo(2 / 3);
    expect(late.shares.has('ws library (framing, masking)')).toBe(false);
    expect(stageShares(p, 8000, 9000).busySamples).toBe(0);
  });

  it('formatSplit divides a total by the shares, largest first', () => {
    expect(formatSplit(stageShares(p, 0, 10_000).shares, 10)).toBe('ws library (framing, masking) 4.0, EOP driver 4.0, GC 2.0');
  });
});
