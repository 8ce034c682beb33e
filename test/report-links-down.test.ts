import { describe, expect, it } from 'vitest';
import { buildReport } from '../src/run/report.js';
import { runTopology } from '../src/run/run-rack.js';
import type { Rack } from '../src/topology/rack.js';
import { parseTopology } from '../src/topology/load.js';

/** Three hosts, a ping a → b; `act` runs between slices of virtual time (slice 1, 2, …). */
function run(act: (rack: Rack, slice: number) => void) {
  const topo = parseTopology({ hosts: ['a', 'b', 'c'], traffic: [{ kind: 'ping', from: 'a', to: 'b', count: 5 }] }, 'test');
  let slice = 0;
  return buildReport(runTopology(topo, { captures: false, onSlice: (rack) => act(rack, ++slice) }));
}

describe('report problems: links left down', () => {
  it('a host that crashed and stayed down is a problem, and so is every link to it', () => {
    const rep = run((rack, slice) => {
      if (slice === 1) rack.nic('c').stop(false);
    });
    expect(rep.problems).toContain('c: crashed and not restarted; its links are down');
    expect(rep.problems).toContain("a ↔ c: link down (c's link went down) at the end of the run");
    // a's ARP flood opened a ↔ c; b and c never sent each other a frame, so they have no queue pair to be down.
    expect(rep.queuePairs.some((q) => (q.host === 'b' && q.peer === 'c') || (q.host === 'c' && q.peer === 'b'))).toBe(false);
    expect(rep.problems).toHaveLength(2);
  });

  it('a crashed host that restarted leaves no problem once its links are back', () => {
    const rep = run((rack, slice) => {
      if (slice === 1) rack.nic('c').stop(false);
      if (slice === 2) rack.nic('c').start();
    });
    expect(rep.queuePairs.every((q) => q.state === 'up')).toBe(true);
    expect(rep.problems).toEqual([]);
  });

  it('a clean stop is deliberate: its links are down but not listed as problems', () => {
    const rep = run((rack, slice) => {
      if (slice === 1) rack.nic('c').stop(true);
    });
    expect(rep.queuePairs.filter((q) => q.host === 'a' && q.peer === 'c')[0]!.state).toBe('down');
    expect(rep.problems).toEqual([]);
  });
});
