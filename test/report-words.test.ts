/**
 * Every word the reports print is explained in the README ("Reading the report"), and a frame
 * gets the same name in `eop run` and `eop up`: both print drop counts with one formatter and
 * split the stack's counts into drops and ignored the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLiveStatus, type LiveStatus } from '../bridge/live-rack.js';
import { buildReport, formatDropCounts, formatReport, splitStackCounts } from '../src/run/report.js';
import { runTopology } from '../src/run/run-rack.js';
import { BridgeDrop, NeighborDrop, StackDrop } from '../src/errors.js';
import { DEFAULT_RACK } from '../src/topology/default-rack.js';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const glossary = readme.slice(readme.indexOf('## Reading the report'), readme.indexOf('## Running your own rack'));

function liveStatus(drops: Record<string, number>, ignored: Record<string, number>): LiveStatus {
  return {
    uptimeS: 1,
    hosts: [
      { name: 'h1', attach: 'builtin', netns: null, txFrames: 1, rxFrames: 1, txBytes: 60, rxBytes: 60, txGbps: 0, rxGbps: 0, drops, ignored, linksUp: 1, links: 1, linksDown: [], failure: null, tapWriteDropped: 1, kernel: { tapTxDropped: 1, tapRxDropped: 1, udpRcvbufErrors: 1, udpInErrors: 2 }, paused: false, tapPauses: 1, offloads: { groWrites: 1, groFrames: 2, badChecksumToKernel: 1, tsoReads: 1, tsoFrames: 2, udpGsoWrites: 1, udpGsoFrames: 3, udpGsoUnsupported: 1 } },
    ],
    lateBatches: 0,
    maxLagNs: 0,
    lastLagNs: 0,
    batches: 1,
    recent: { windowNs: 5e9, lateBatches: 0, batches: 1, maxLagNs: 0, behind: false },
    eventsRun: 1,
    captureFrames: 1,
    captureDrops: 1,
    captureQueueFull: 1,
    captureRotatedOut: 1,
    captureErrors: ['capture x.pcapng: write failed: ENOSPC'],
    traffic: [],
  };
}

describe('report words', () => {
  it('the README glossary has a row for every column of eop run', () => {
    const text = formatReport(buildReport(runTopology(DEFAULT_RACK, { captures: false })));
    // Table headers: the line after each section title; columns are separated by 2+ spaces.
    const lines = text.split('\n');
    const headers = lines.filter((l, i) => i > 0 && !l.startsWith(' ') && lines[i - 1]!.trim() !== '' && /^[A-Z][a-z]/.test(lines[i - 1]!) && !lines[i - 1]!.includes('  '));
    const words = headers.flatMap((h) => h.trim().split(/\s{2,}/)).filter((w) => !['host', 'peer', 'interface', 'link', 'from', 'to', 'ip', 'avg', 'p50', 'p99', 'max'].includes(w));
    expect(words.length).toBeGreaterThan(20);
    for (const w of words.map((x) => x.replace(/:$/, ''))) expect(glossary, w).toContain(`\`${w.replace(/ µs$/, ' µs')}`);
  });

  it('the glossary names every drop and ignore reason', () => {
    for (const code of [...Object.values(StackDrop), ...Object.values(NeighborDrop), ...Object.values(BridgeDrop)]) expect(glossary, code).toContain(`\`${code}\``);
  });

  it('the same frame gets the same name in eop run and eop up', () => {
    const counts = { ERR_FRAME_TOO_SHORT: 2, [StackDrop.ARP_OTHER_TARGET]: 6, [StackDrop.ECHO_TO_GROUP]: 1 };
    const { drops, ignored } = splitStackCounts(counts);
    expect(drops).toEqual({ ERR_FRAME_TOO_SHORT: 2, [StackDrop.ECHO_TO_GROUP]: 1 });
    expect(ignored).toEqual({ [StackDrop.ARP_OTHER_TARGET]: 6 });
    const up = formatLiveStatus(liveStatus(drops, ignored));
    expect(up).toContain(`drops ${formatDropCounts(drops)}`);
    expect(up).toContain('drops ERR_FRAME_TOO_SHORT=2 echo-to-group=1  stack ignored arp-other-target=6');
    // eop run on the default rack: every host sees the others' ARP requests, in "stack ignored".
    const run = formatReport(buildReport(runTopology(DEFAULT_RACK, { captures: false })));
    expect(run).toMatch(/eop-h1 .* arp-other-target=6$/m);
  });

  it('the glossary explains every word of the eop up status line', () => {
    const up = formatLiveStatus(liveStatus({ ERR_EOP_NO_PEER: 1 }, { [StackDrop.NOT_FOR_US]: 1 }));
    for (const w of ['links 1/1 up', 'tap-write-dropped', 'tap-read-pauses', 'gro 2 fr in 1 writes', 'tso 2 fr from 1 reads', 'udp-gso 3 dg in 1 writes', 'udp-gso-unsupported 1', 'keeping up now', 'totals', 'max lag', 'captures 1 frames, 1 not captured', 'discarded by rotation', 'capture problem', 'kernel: tap-tx-dropped', 'kernel: tap-rx-dropped', 'kernel: udp-rcvbuf-errors', 'kernel: udp-in-errors', 'stack ignored', 'bad-csum-to-kernel 1']) expect(up, w).toContain(w);
    for (const w of ['`links a/b up`', '`tap-write-dropped`', '`tap-read-pauses`', '`gro N fr in M writes`', '`tso N fr from M reads`', '`udp-gso N dg in M writes`', '`udp-gso-unsupported`', '`keeping up now`', '`totals`', '`captures N frames, D not captured`', '`discarded by rotation`', '`capture problem`', '`kernel: tap-tx-dropped`', '`kernel: tap-rx-dropped`', '`kernel: udp-rcvbuf-errors`', '`kernel: udp-in-errors`', '`stack ignored`', '`bad-csum-to-kernel`']) expect(glossary, w).toContain(w);
  });
});
