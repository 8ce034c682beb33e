/**
 * A path through the fabric, and the reservation of TLP trains along it.
 *
 * A path is the list of link directions a transfer crosses, in order (the requester's up-link,
 * the ToR → spine and spine → ToR links if it leaves its rack switch, the target's down-link), with
 * the fixed latency between consecutive links (PHY/data-link traversal of the link just crossed,
 * the switch hop, NTB translation at the ends).
 *
 * A train of n TLPs is modelled analytically (DOMAIN.md §6a): on each link it takes its wire time;
 * cut-through means link i+1 starts as soon as the first TLP is through (its start plus one TLP's
 * share plus the gap), and cannot finish before the last TLP left link i plus the gap plus one
 * TLP's time there. A busy direction makes the train queue. Every link acknowledges what it
 * carried (`LinkDirection.acknowledge`), charging ACK and UpdateFC DLLPs to its reverse direction.
 *
 * Headers: a write's TLP carries on each link the address as that link sees it (link.ts). On the
 * target's down-link it is the target-local address, given per write. On the requester's up-link a
 * compute host writes into its NTB's outbound window, which the address map puts at OUTBOUND_BASE
 * = 2^47, and the management host writes global addresses, 64 GiB × host index and up: above 4 GiB
 * either way, so always 4 DW (`UPSTREAM_HEADER_BYTES`, checked in the tests). Between switches the
 * global address travels, 4 DW unless it falls in the management host's first 4 GiB. Completions
 * carry no address: 3 DW everywhere.
 */
import { HOST_APERTURE_BYTES, OUTBOUND_BASE } from '../mem/address-map.js';
import type { Bytes, Ns } from '../time/units.js';
import { ADDR_4DW_FROM, CPLD_HEADER_BYTES, headerBytesFor, tlpOverheadBytes, type Link, type LinkDirection } from './link.js';

/** Header of every remote write on its requester's up-link (see the comment above). */
export const UPSTREAM_HEADER_BYTES: Bytes = headerBytesFor(Math.min(OUTBOUND_BASE, HOST_APERTURE_BYTES));

export class Path {
  readonly dirs: LinkDirection[];
  /** Fixed latency after crossing link i, before link i+1 (length: links − 1). */
  readonly gapsNs: Ns[];
  /** Sum of the gaps: the path's latency without serialization. */
  readonly fixedNs: Ns;
  /** Largest TLP payload every link on the path accepts. */
  readonly mps: Bytes;
  /** Per-TLP overhead of address-routed TLPs on every link but the last (whose header is per write). */
  readonly ohAddr: Bytes[];
  /** The last link's per-TLP overhead for targets below / above 4 GiB. */
  readonly ohLast32: Bytes;
  readonly ohLast64: Bytes;
  /** Per-TLP overhead of completions on each link. */
  readonly ohCpl: Bytes[];

  constructor(
    readonly links: Link[],
    /** true: the path goes down `links[i]` for i ≥ half (`ups` links go up, the rest down). */
    ups: number,
    gapsNs: Ns[],
    /** Global address base of the target (its aperture), for the headers between switches. */
    targetGlobalBase: number,
    /** Number of switch hops (for reports). */
    readonly hops: number,
  ) {
    this.dirs = links.map((l, i) => (i < ups ? l.up : l.down));
    this.gapsNs = gapsNs;
    this.fixedNs = gapsNs.reduce((a, b) => a + b, 0);
    this.mps = Math.min(...links.map((l) => l.cfg.mpsBytes));
    const midHeader = headerBytesFor(targetGlobalBase >= ADDR_4DW_FROM ? targetGlobalBase : 0);
    this.ohAddr = links.map((l, i) => tlpOverheadBytes(l.cfg, i === 0 ? UPSTREAM_HEADER_BYTES : midHeader));
    const last = links[links.length - 1]!;
    this.ohLast32 = last.tlpOverhead32;
    this.ohLast64 = last.tlpOverhead64;
    this.ohCpl = links.map((l) => tlpOverheadBytes(l.cfg, CPLD_HEADER_BYTES));
  }
}

/** Result of a reservation, in a struct the caller owns and reuses. */
export interface PathTimes {
  /** When the last TLP left the requester's (first) link. */
  leaveNs: Ns;
  /** When the last byte arrived at the far end. */
  landNs: Ns;
}

/**
 * Reserve a write of `len` bytes landing at target-local `addr`, in TLPs of at most `tlpMax` bytes
 * (the path's MPS applies too). Returns when the last byte lands (also `out.landNs`); `out.leaveNs`
 * when it left the first link.
 */
export function reserveWrite(p: Path, addr: number, len: Bytes, notBefore: Ns, tlpMax: Bytes, out: PathTimes): Ns {
  const mps = tlpMax < p.mps ? tlpMax : p.mps;
  // TLP count and dword-padded payload, as in link.ts (low 32 bits suffice for power-of-two grids).
  const lo = addr >>> 0;
  const head = (mps & (mps - 1)) === 0 ? lo & (mps - 1) : addr % mps;
  const n = Math.ceil((head + len) / mps) || 1;
  const payload = Math.ceil(((lo & 3) + len) / 4) * 4;
  return train(p, p.ohAddr, addr >= ADDR_4DW_FROM ? p.ohLast64 : p.ohLast32, payload, n, len, notBefore, out);
}

/** Reserve one header-only TLP (a read request) along `p`. Returns when it reaches the completer. */
export function reserveRequest(p: Path, addr: number, notBefore: Ns, out: PathTimes): Ns {
  return train(p, p.ohAddr, addr >= ADDR_4DW_FROM ? p.ohLast64 : p.ohLast32, 0, 1, 0, notBefore, out);
}

/** Reserve the completions of `len` bytes read at `addr`, cut at every `rcb` boundary. */
export function reserveCompletions(p: Path, addr: number, len: Bytes, rcb: Bytes, notBefore: Ns, out: PathTimes): Ns {
  const lo = addr >>> 0;
  const n = Math.ceil(((lo & (rcb - 1)) + len) / rcb) || 1;
  const payload = Math.ceil(((lo & 3) + len) / 4) * 4;
  const oh = p.ohCpl;
  return train(p, oh, oh[oh.length - 1]!, payload, n, len, notBefore, out);
}

function train(p: Path, oh: Bytes[], ohLast: Bytes, payload: Bytes, n: number, len: Bytes, notBefore: Ns, out: PathTimes): Ns {
  const dirs = p.dirs;
  const last = dirs.length - 1;
  const l0 = p.links[0]!;
  const ser0 = (payload + n * (last === 0 ? ohLast : oh[0]!)) * l0.nsPerByte;
  const d0 = dirs[0]!;
  let s = d0.reserve(notBefore, ser0);
  let e = s + ser0;
  let ser = ser0;
  d0.payloadBytes += len;
  d0.tlps += n;
  d0.acknowledge(s, e);
  out.leaveNs = e;
  for (let i = 1; i <= last; i++) {
    const gap = p.gapsNs[i - 1]!;
    const d = dirs[i]!;
    const serI = (payload + n * (i === last ? ohLast : oh[i]!)) * p.links[i]!.nsPerByte;
    const firstThrough = s + ser / n + gap;
    const sI = firstThrough > d.busyUntil ? firstThrough : d.busyUntil;
    let eI = sI + serI;
    const tailBound = e + gap + serI / n;
    if (tailBound > eI) eI = tailBound;
    d.busyUntil = eI;
    d.busyNs += serI;
    d.payloadBytes += len;
    d.tlps += n;
    d.acknowledge(sI, eI);
    s = sI;
    e = eI;
    ser = serI;
  }
  out.landNs = e;
  return e;
}

/** How long a train of `n` TLPs takes along an idle `p` (as `train`, nothing reserved). */
function idleTrainNs(p: Path, oh: Bytes[], ohLast: Bytes, payload: Bytes, n: number): Ns {
  const last = p.dirs.length - 1;
  let ser = (payload + n * (last === 0 ? ohLast : oh[0]!)) * p.links[0]!.nsPerByte;
  let s = 0;
  let e = ser;
  for (let i = 1; i <= last; i++) {
    const gap = p.gapsNs[i - 1]!;
    const serI = (payload + n * (i === last ? ohLast : oh[i]!)) * p.links[i]!.nsPerByte;
    const sI = s + ser / n + gap;
    let eI = sI + serI;
    const tailBound = e + gap + serI / n;
    if (tailBound > eI) eI = tailBound;
    s = sI;
    e = eI;
    ser = serI;
  }
  return e;
}

/**
 * The round trip of a read of `len` (≤ MRRS) bytes at completer-local `addr` on idle paths: one
 * header-only request along `req`, `completerNs` at the completer, completions cut at `rcb` along
 * `cpl`. Serialization on every link plus every fixed latency, each way; nothing is reserved.
 */
export function idleReadNs(req: Path, cpl: Path, addr: number, len: Bytes, rcb: Bytes, completerNs: Ns): Ns {
  const request = idleTrainNs(req, req.ohAddr, addr >= ADDR_4DW_FROM ? req.ohLast64 : req.ohLast32, 0, 1);
  const lo = addr >>> 0;
  const n = Math.ceil(((lo & (rcb - 1)) + len) / rcb) || 1;
  const payload = Math.ceil(((lo & 3) + len) / 4) * 4;
  const oh = cpl.ohCpl;
  return request + completerNs + idleTrainNs(cpl, oh, oh[oh.length - 1]!, payload, n);
}

/**
 * A read of `len` bytes at completer-local `addr`: requests of at most MRRS bytes go out on `req`
 * (requester → completer), each answered `completerNs` after it arrives by completions on `cpl`
 * (completer → requester), with at most `tags` requests outstanding: request k + tags waits for the
 * last completion of request k. `tagFree` is the requester's tag table (free times), reused across
 * reads. Returns when the last completion has arrived.
 */
export function reserveRead(
  req: Path,
  cpl: Path,
  addr: number,
  len: Bytes,
  notBefore: Ns,
  o: { mrrsBytes: Bytes; rcbBytes: Bytes; completerNs: Ns; tagFree: Float64Array },
  out: PathTimes,
): Ns {
  const tags = o.tagFree;
  let done = notBefore;
  let off = 0;
  do {
    const a = addr + off;
    const size = Math.min(len - off, o.mrrsBytes - ((a >>> 0) & (o.mrrsBytes - 1)));
    // The tag that has been free the longest.
    let t = 0;
    for (let i = 1; i < tags.length; i++) if (tags[i]! < tags[t]!) t = i;
    const issue = tags[t]! > notBefore ? tags[t]! : notBefore;
    const arrive = reserveRequest(req, a, issue, out);
    const back = reserveCompletions(cpl, a, size, o.rcbBytes, arrive + o.completerNs, out);
    tags[t] = back;
    if (back > done) done = back;
    off += size;
  } while (off < len);
  out.landNs = done;
  return done;
}
