/**
 * A TAP host's offload work, as `eop up`'s status line and `eop status` both read and print it (the words are
 * in the README glossary): TSO reads, GRO and UDP GSO writes, datagrams written one by one on a
 * kernel without UDP GSO, and segments or datagrams passed on unmerged because their checksum was
 * wrong. Counters at zero are left out.
 */
import type { TapBridge } from './tap-bridge.js';

export interface OffloadCounts {
  /** TCP super-frames read with TSO, and the segments cut from them. */
  tsoReads: number;
  tsoFrames: number;
  /** TAP writes that merged TCP segments, and the segments they carried. */
  groWrites: number;
  groFrames: number;
  /** TAP writes that merged UDP datagrams, and the datagrams they carried. */
  udpGsoWrites: number;
  udpGsoFrames: number;
  /** Datagrams written one by one because the kernel takes no UDP GSO writes (Linux < 6.2). */
  udpGsoUnsupported: number;
  badChecksumToKernel: number;
}

export const NO_OFFLOADS: Readonly<OffloadCounts> = Object.freeze({
  tsoReads: 0, tsoFrames: 0, groWrites: 0, groFrames: 0, udpGsoWrites: 0, udpGsoFrames: 0, udpGsoUnsupported: 0, badChecksumToKernel: 0,
});

/** A TAP bridge's counts (its segmenter's and coalescers'; zeros for those it has not, e.g. with --no-gro). */
export function offloadCountsOf(b: TapBridge): OffloadCounts {
  return {
    tsoReads: b.tso?.c.superFrames ?? 0,
    tsoFrames: b.tso?.c.segments ?? 0,
    groWrites: b.gro?.c.superFrames ?? 0,
    groFrames: b.gro?.c.mergedFrames ?? 0,
    udpGsoWrites: b.uso?.c.superFrames ?? 0,
    udpGsoFrames: b.uso?.c.mergedFrames ?? 0,
    udpGsoUnsupported: b.uso?.c.unsupported ?? 0,
    badChecksumToKernel: (b.gro?.c.badChecksum ?? 0) + (b.uso?.c.badChecksum ?? 0),
  };
}

export function offloadWords(o: OffloadCounts): string {
  return (
    (o.tsoReads ? `  tso ${o.tsoFrames} fr from ${o.tsoReads} reads` : '') +
    (o.groWrites ? `  gro ${o.groFrames} fr in ${o.groWrites} writes` : '') +
    (o.udpGsoWrites ? `  udp-gso ${o.udpGsoFrames} dg in ${o.udpGsoWrites} writes` : '') +
    (o.udpGsoUnsupported ? `  udp-gso-unsupported ${o.udpGsoUnsupported}` : '') +
    (o.badChecksumToKernel ? `  bad-csum-to-kernel ${o.badChecksumToKernel}` : '')
  );
}
