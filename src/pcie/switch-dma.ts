/**
 * The data path of a DMA engine that sits in the switch (a Switchtec-style engine), not beside the
 * CPU: it must *read* its source across the source host's link before it can write anything.
 *
 * Per read request of at most `mrrsBytes` (cut at MRRS-aligned addresses, as every requester
 * does): the header-only request goes down the host's link, the host's root complex answers after
 * its memory read, the data comes up in completions cut at the root complex's RCB (64 B: 3-DW
 * header + 8 B framing each), and the engine writes the bytes on as posted writes through the
 * switch (and the NTB, for another host's memory) down the target's link. At most `tags` reads
 * are outstanding (the requester's tag table, shared by the engine's channels): a read waits for
 * the oldest tag to come back. So, with nothing else in the way, one engine moves at most
 *
 *   tags × mrrsBytes / read round trip
 *
 * and never more than the completions' share of the host's up-link (64 / (64 + 20) of it at RCB
 * 64) or the target's down-link at MPS-sized writes: whichever is lowest sets the pace. Nothing
 * else about the engine is assumed: it has no rate of its own (no published figure), it moves
 * what its reads bring. test/switch-dma.test.ts checks the tag bound against a hand calculation.
 */
import type { Bytes, Ns } from '../time/units.js';
import type { Endpoint, Fabric } from './fabric.js';
import type { PathTimes } from './path.js';

/** The TLPs of the engine's writes are bounded only by the path's MPS (PCIe's largest is 4096). */
const MAX_TLP_BYTES: Bytes = 4096;

export interface SwitchReadConfig {
  /** The engine's Max_Read_Request_Size (Switchtec: per channel, 1024 B by default). */
  mrrsBytes: Bytes;
  /** The source host's memory read time at its root complex (the completer's time). */
  memReadNs: Ns;
}

/** Result of `reserveSwitchCopy`, in a struct the caller owns and reuses. */
export interface SwitchCopyTimes {
  /** When the last read request could be issued (a tag was free): the engine goes on from there. */
  lastIssueNs: Ns;
  /** When the last byte landed at the target. */
  landNs: Ns;
}

/**
 * Reserve the reads of `len` bytes of `host`'s memory at `src` and the writes of the same bytes
 * to `target`-local `dstAddr` (through an NTB window when `viaNtb`), starting no earlier than
 * `notBefore`. `tagFree` is the engine's tag table (free times), reused across calls.
 */
export function reserveSwitchCopy(
  fabric: Fabric,
  host: Endpoint,
  target: Endpoint,
  src: number,
  dstAddr: number,
  len: Bytes,
  notBefore: Ns,
  viaNtb: boolean,
  cfg: SwitchReadConfig,
  tagFree: Float64Array,
  out: SwitchCopyTimes,
  scratch: PathTimes,
): void {
  const mrrs = cfg.mrrsBytes;
  let off = 0;
  let lastIssue = notBefore;
  let land = notBefore;
  while (off < len) {
    const a = src + off;
    const size = Math.min(len - off, mrrs - (a % mrrs));
    let free = tagFree[0]!;
    for (let i = 1; i < tagFree.length; i++) if (tagFree[i]! < free) free = tagFree[i]!;
    const issue = free > notBefore ? free : notBefore;
    if (issue > lastIssue) lastIssue = issue;
    const back = fabric.reserveHostRead(host, notBefore, size, cfg.memReadNs, tagFree, scratch, a, mrrs);
    // The bytes go on as soon as their completions are in the switch (posted writes, in order).
    fabric.reserveFromSwitch(target, dstAddr + off, size, back, MAX_TLP_BYTES, viaNtb, scratch);
    if (scratch.landNs > land) land = scratch.landNs;
    off += size;
  }
  out.lastIssueNs = lastIssue;
  out.landNs = land;
}
