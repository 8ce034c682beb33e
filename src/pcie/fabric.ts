/**
 * The rack fabric: every host's link to its top-of-rack switch (one, or several joined by a spine:
 * switch-tiers.ts), the global address map, and the one place where bytes cross from one host into
 * another.
 *
 * A write is handled in two steps, like a posted write in hardware:
 * 1. `resolve` + `reservePath` at issue time: the requester's address goes through its NTB's
 *    outbound window (or fails there), the switch routes the global address to the target port,
 *    and the write reserves wire time on the requester's up-link and the target's down-link.
 *    Cut-through: the target link starts as soon as the first TLP is through the switch, and
 *    cannot finish before the last TLP left the source plus the path latency. The slower link
 *    sets the pace; a busy direction makes the write queue.
 * 2. `land` at the land time (the caller schedules it): the target NTB's requester-ID table
 *    and the target IOMMU are checked, then the bytes are written into the target's memory, or
 *    an MSI is raised, or an NTB register is written. A refused write is dropped, counted under
 *    its stable code and logged; it never lands anywhere else.
 * Results go into structs the caller owns (`Route`, `PathTimes`), so the per-write path allocates
 * nothing and no result is left in a shared field for someone else to read by mistake.
 */
import { DropCounters, EopError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import {
  HOST_APERTURE_BYTES,
  NTB_REGS_BASE,
  NTB_REGS_STRIDE,
  isMsiAddr,
} from '../mem/address-map.js';
import type { SparseMemory } from '../mem/sparse-memory.js';
import { readU32le, writeU32le } from '../wire/bytes.js';
import type { Scheduler } from '../time/scheduler.js';
import type { Bytes, Ns } from '../time/units.js';
import type { Iommu } from './iommu.js';
import type { Ntb, NtbWindow } from './ntb.js';
import type { NtbPaths } from './ntb-paths.js';
import { Path, idleReadNs, reserveRead, reserveWrite, type PathTimes } from './path.js';
import type { SwitchTiers } from './switch-tiers.js';
import type { Link } from './link.js';

export interface SwitchConfig {
  /** Cut-through forwarding per switch hop (Marlin seed: 150 ns per hop). */
  hopLatencyNs: Ns;
  /** Address translation in each NTB port crossed. */
  ntbTranslateNs: Ns;
}

/**
 * 150 ns per hop is Marlin's figure (seed 002); PLX's briefs give ≤ 140 ns (PEX 8648, Gen2) and
 * ≤ 100 ns (PEX 8748, Gen3) x16 to x16. The NTB translation cost is an estimate with no source.
 */
export const DEFAULT_SWITCH: SwitchConfig = { hopLatencyNs: 150, ntbTranslateNs: 50 };

/**
 * Where NTB registers (scratchpads, doorbells) sit as a read sees them: in the register aperture
 * above 2^47, so a read request carries a 4-DW header.
 */
const SCRATCHPAD_ADDR = NTB_REGS_BASE;

/** What the fabric needs of a host. */
export interface Endpoint {
  readonly index: number;
  readonly name: string;
  readonly memory: SparseMemory;
  /** Null for the management host, which owns the global space directly. */
  readonly ntb: Ntb | null;
  readonly iommu: Iommu;
  readonly link: Link;
  /** Requester ID of this host's transactions as seen by other hosts. */
  readonly rid: number;
  /** An MSI write landed at this host. */
  deliverMsi(vector: number): void;
}

export const RouteKind = {
  ERROR: 0,
  LOCAL_MEM: 1,
  LOCAL_MSI: 2,
  REMOTE: 3,
  REMOTE_REG: 4,
} as const;
export type RouteKind = (typeof RouteKind)[keyof typeof RouteKind];

/** Result of `resolve`, in a struct the caller owns and reuses (`newRoute()`). */
export interface Route {
  kind: RouteKind;
  target: Endpoint | null;
  /** Target-local address (memory or MSI), or register offset for REMOTE_REG. */
  addr: number;
  code: ErrorCode | null;
}

export function newRoute(): Route {
  return { kind: RouteKind.ERROR, target: null, addr: 0, code: null };
}

export type { PathTimes } from './path.js';

/** A posted write as the fabric lands it (the issuer's pooled job implements this). */
export interface PostedWrite {
  readonly routeKind: RouteKind;
  readonly target: Endpoint;
  /** Target-local address, or register offset for REMOTE_REG. */
  readonly addr: number;
  readonly len: Bytes;
  /** Without `imm`: read the bytes from the requester's memory at `srcAddr` at land time. */
  readonly srcAddr: number;
  /** The write carries its bytes itself (≤ 16: headers, indices, interrupt words), as LE words. */
  readonly imm: boolean;
  readonly imm0: number;
  readonly imm1: number;
  readonly imm2: number;
  readonly imm3: number;
}

export class Fabric {
  readonly endpoints: Endpoint[] = [];
  readonly drops = new DropCounters();
  /** An immediate write's bytes, unpacked at land time. */
  private readonly immBytes = new Uint8Array(16);
  writesLanded = 0;
  bytesLanded: Bytes = 0;
  /** ToR switches and spine, when the rack has more than one switch (set by the topology builder). */
  tiers: SwitchTiers | null = null;
  /** Hosts with a second NTB path and how each requester maps them (ntb-paths.ts; set by the builder). */
  multipath: NtbPaths | null = null;

  constructor(
    readonly sched: Scheduler,
    readonly sw: SwitchConfig,
    readonly log: Logger,
  ) {}

  attach(ep: Endpoint): void {
    if (this.endpoints[ep.index]) throw new Error(`fabric: host index ${ep.index} attached twice`);
    this.endpoints[ep.index] = ep;
  }

  /** Count, log (rate-limited per code) and return a refused write's code. */
  refuse(code: ErrorCode, req: Endpoint, detail: string): ErrorCode {
    this.drops.add(code);
    this.log.warn(`fabric`, `${req.name}: ${detail}`, code);
    return code;
  }

  /** Where the requester-local range [addr, addr+len) leads. Fills and returns `r`. */
  resolve(req: Endpoint, addr: number, len: Bytes, r: Route): Route {
    r.target = null;
    r.code = null;
    r.addr = 0;
    if (isMsiAddr(addr)) {
      r.kind = RouteKind.LOCAL_MSI;
      r.target = req;
      r.addr = addr;
      return r;
    }
    if (req.memory.contains(addr, len)) {
      r.kind = RouteKind.LOCAL_MEM;
      r.target = req;
      r.addr = addr;
      return r;
    }
    // Fast path: the same window pair as the last remote write of this requester.
    const c = this.cache;
    if (
      c.req === req &&
      addr >= c.lo &&
      addr + len <= c.hi &&
      c.target!.ntb!.inbound === c.inWin &&
      req.ntb!.linkUp &&
      c.target!.ntb!.linkUp
    ) {
      if (this.multipath !== null && this.multipath.broken(req.index, c.target!.index)) return this.pathDown(r, req, c.target!);
      r.kind = RouteKind.REMOTE;
      r.target = c.target;
      r.addr = addr + c.delta;
      return r;
    }
    let g: number;
    let w: NtbWindow | null = null;
    if (req.ntb) {
      w = req.ntb.findOut(addr, len);
      if (!w) return this.fail(r, ErrorCode.NTB_OUT_OF_WINDOW, req, `write [0x${addr.toString(16)}, +${len}) is outside every NTB window`);
      if (!req.ntb.linkUp) return this.fail(r, ErrorCode.NTB_LINK_DOWN, req, `write through ${req.ntb.name} while its link is down`);
      g = addr - w.localBase + w.xlatBase;
    } else {
      g = addr; // the management host's addresses are global addresses
    }
    this.routeGlobal(req, g, len, r);
    const t = r.target as Endpoint | null;
    if (t && t !== req && r.kind !== RouteKind.ERROR && this.multipath !== null && this.multipath.broken(req.index, t.index)) {
      return this.pathDown(r, req, t);
    }
    if (w && r.kind === RouteKind.REMOTE && t!.ntb && t!.ntb.inbound) {
      // Remember the requester-local range that maps linearly onto this target's inbound window.
      const inw = t!.ntb.inbound;
      const gLo = Math.max(w.xlatBase, inw.localBase);
      const gHi = Math.min(w.xlatBase + w.sizeBytes, inw.localBase + inw.sizeBytes);
      c.req = req;
      c.target = t;
      c.inWin = inw;
      c.lo = gLo - w.xlatBase + w.localBase;
      c.hi = gHi - w.xlatBase + w.localBase;
      c.delta = w.xlatBase - w.localBase - inw.localBase + inw.xlatBase;
    }
    return r;
  }

  /** One-entry route cache; window objects are compared by identity on every hit. */
  private readonly cache: { req: Endpoint | null; target: Endpoint | null; inWin: NtbWindow | null; lo: number; hi: number; delta: number } = {
    req: null,
    target: null,
    inWin: null,
    lo: 0,
    hi: -1,
    delta: 0,
  };

  private routeGlobal(req: Endpoint, g: number, len: Bytes, r: Route): Route {
    if (g >= NTB_REGS_BASE) {
      const h = Math.floor((g - NTB_REGS_BASE) / NTB_REGS_STRIDE);
      const t = this.endpoints[h];
      if (!t || !t.ntb) return this.fail(r, ErrorCode.ADDR_UNMAPPED, req, `global 0x${g.toString(16)}: no NTB register aperture there`);
      r.kind = RouteKind.REMOTE_REG;
      r.target = t;
      r.addr = g - NTB_REGS_BASE - h * NTB_REGS_STRIDE;
      return r;
    }
    const h = Math.floor(g / HOST_APERTURE_BYTES);
    const t = this.endpoints[h];
    if (!t) return this.fail(r, ErrorCode.ADDR_UNMAPPED, req, `global 0x${g.toString(16)}: no host at aperture ${h}`);
    if (t === req) return this.fail(r, ErrorCode.ADDR_UNMAPPED, req, `global 0x${g.toString(16)} loops back to the requester`);
    let local: number;
    if (t.ntb) {
      local = t.ntb.translateIn(g, len);
      if (local < 0) return this.fail(r, ErrorCode.NTB_OUT_OF_WINDOW, req, `global 0x${g.toString(16)} is outside ${t.ntb.name}'s inbound window`);
      if (!t.ntb.linkUp) return this.fail(r, ErrorCode.NTB_LINK_DOWN, req, `${t.ntb.name} is down`);
    } else {
      local = g - h * HOST_APERTURE_BYTES;
    }
    r.kind = RouteKind.REMOTE;
    r.target = t;
    r.addr = local;
    return r;
  }

  private pathDown(r: Route, req: Endpoint, t: Endpoint): Route {
    return this.fail(r, ErrorCode.NTB_PATH_DOWN, req, `write to ${t.name} over a failed NTB path`);
  }

  private fail(r: Route, code: ErrorCode, req: Endpoint, detail: string): Route {
    r.kind = RouteKind.ERROR;
    r.code = this.refuse(code, req, detail);
    return r;
  }

  /** Fixed latency of a crossing from `src` to `dst`, excluding serialization. */
  pathLatencyNs(src: Endpoint, dst: Endpoint): Ns {
    return this.path(src, dst).fixedNs;
  }

  /** Paths by (src, dst) index pair, built on first use (see path.ts and switch-tiers.ts). */
  private paths: (Path | undefined)[] = [];
  private pathsFor = 0;
  private pathsVersion = 0;

  path(src: Endpoint, dst: Endpoint): Path {
    const n = this.endpoints.length;
    const v = this.multipath === null ? 0 : this.multipath.version;
    if (this.pathsFor !== n || this.pathsVersion !== v) {
      this.paths = [];
      this.pathsFor = n;
      this.pathsVersion = v;
    }
    const k = src.index * n + dst.index;
    return this.paths[k] ?? (this.paths[k] = this.buildPath(src, dst));
  }

  private buildPath(src: Endpoint, dst: Endpoint): Path {
    const hop = this.sw.hopLatencyNs;
    const tr = this.sw.ntbTranslateNs;
    const ntbIn = src.ntb ? tr : 0;
    const ntbOut = dst.ntb ? tr : 0;
    const base = dst.index * HOST_APERTURE_BYTES;
    const t = this.tiers;
    // A host with two NTB paths: the ports the requester's windows go through now (ntb-paths.ts).
    const pa = this.multipath?.pathFor(src.index, src.index) ?? null;
    const pb = this.multipath?.pathFor(src.index, dst.index) ?? null;
    const la = pa ? pa.link : src.link;
    const lb = pb ? pb.link : dst.link;
    const ta = pa ? pa.tor : t ? t.torOf[src.index] ?? 0 : 0;
    const tb = pb ? pb.tor : t ? t.torOf[dst.index] ?? 0 : 0;
    if (!t || ta === tb) {
      return new Path([la, lb], 1, [la.cfg.latencyNs + hop + ntbIn + ntbOut + lb.cfg.latencyNs], base, 1);
    }
    const ua: Link = t.uplinks[ta]!;
    const ub: Link = t.uplinks[tb]!;
    return new Path(
      [la, ua, ub, lb],
      2,
      [la.cfg.latencyNs + hop + ntbIn, ua.cfg.latencyNs + hop, ub.cfg.latencyNs + hop + ntbOut + lb.cfg.latencyNs],
      base,
      3,
    );
  }

  /**
   * Reserve wire time for a write of `len` bytes landing at target-local `addr`, in TLPs of at most
   * `tlpMax` bytes (the path's smallest MPS applies too). Fills `out` with when the last TLP leaves
   * the requester's link and when the last byte lands (path.ts `reserveWrite`).
   */
  reservePath(src: Endpoint, dst: Endpoint, addr: number, len: Bytes, notBefore: Ns, tlpMax: Bytes, out: PathTimes): void {
    reserveWrite(this.path(src, dst), addr, len, notBefore, tlpMax, out);
  }

  /**
   * Reserve a non-posted read by `req` of `len` bytes at `target`-local `addr`: requests out,
   * completions back (path.ts `reserveRead`), at most `tagFree.length` outstanding (the requester's
   * tag table, free times, reused across reads). `completerNs` is the target's time to answer
   * (memory or register access). Fills `out`; `out.landNs` is when the last completion arrived.
   */
  reserveRead(req: Endpoint, target: Endpoint, addr: number, len: Bytes, notBefore: Ns, completerNs: Ns, tagFree: Float64Array, out: PathTimes): void {
    const c = req.link.cfg;
    reserveRead(this.path(req, target), this.path(target, req), addr, len, notBefore, { mrrsBytes: c.mrrsBytes, rcbBytes: c.rcbBytes, completerNs, tagFree }, out);
  }

  /**
   * A non-posted read of `target`'s scratchpads (control path only). Returns a copy, or null if the
   * requester may not reach them.
   */
  readScratchpads(req: Endpoint, target: Endpoint): Uint32Array | null {
    const ntb = target.ntb;
    if (!ntb) return null;
    if (target !== req) {
      if (!ntb.lut.has(req.rid)) {
        this.refuse(ErrorCode.NTB_LUT_DENIED, req, `requester 0x${req.rid.toString(16)} is not in ${ntb.name}'s lookup table`);
        return null;
      }
      if (!ntb.linkUp || (req.ntb && !req.ntb.linkUp)) return null;
    }
    return ntb.scratchpads.slice();
  }

  /**
   * Round trip of a non-posted read of `len` bytes by `src` of `dst`'s scratchpads (control path),
   * on idle links: the request's serialization and the path's latency out, the completer's time
   * (the target NTB's register access: `ntbRegisterNs`), the completion back (path.ts `idleReadNs`).
   */
  readRoundTripNs(src: Endpoint, dst: Endpoint, len: Bytes = 4): Ns {
    return idleReadNs(this.path(src, dst), this.path(dst, src), SCRATCHPAD_ADDR, len, src.link.cfg.rcbBytes, this.ntbRegisterNs);
  }

  /**
   * An NTB register access at the switch (the completer's time of a register read): taken as one
   * switch hop, since the NTB port's registers sit in the switch (assumption, no published figure).
   */
  get ntbRegisterNs(): Ns {
    return this.sw.hopLatencyNs;
  }

  /** Paths from a host to its own port in the switch and back (one link each way), built on first use. */
  private ownPorts: ([Path, Path] | undefined)[] = [];

  private ownPort(host: Endpoint): [Path, Path] {
    let p = this.ownPorts[host.index];
    if (!p) {
      const base = host.index * HOST_APERTURE_BYTES;
      p = this.ownPorts[host.index] = [new Path([host.link], 1, [], base, 0), new Path([host.link], 0, [], base, 0)];
    }
    return p;
  }

  /**
   * A read of `len` bytes of `host`'s memory by a device in the switch at the host's port (a DMA
   * engine fetching a descriptor): the request goes down the host's link, its memory answers after
   * `memReadNs`, the completions come up (both directions' link latency included). Returns when the
   * last completion is in the switch.
   */
  reserveHostRead(
    host: Endpoint,
    notBefore: Ns,
    len: Bytes,
    memReadNs: Ns,
    tagFree: Float64Array,
    out: PathTimes,
    /** Host-local address read (its header size and MRRS/RCB cuts); a descriptor ring's by default. */
    addr = 0x1000_0000,
    /** The requester's Max_Read_Request_Size (default the link's). */
    mrrsBytes: Bytes = host.link.cfg.mrrsBytes,
  ): Ns {
    const [up, down] = this.ownPort(host);
    const c = host.link.cfg;
    return reserveRead(down, up, addr, len, notBefore, { mrrsBytes, rcbBytes: c.rcbBytes, completerNs: 2 * c.latencyNs + memReadNs, tagFree }, out);
  }

  /**
   * A posted write issued by a device in the switch (a DMA engine) to `target`'s memory at
   * target-local `addr`: through the switch (one hop, plus NTB translation when it goes out
   * through an NTB window: `viaNtb`), then down the target's link. Fills `out`
   * (`leaveNs` = when the last TLP left the down-link's start).
   */
  reserveFromSwitch(target: Endpoint, addr: number, len: Bytes, notBefore: Ns, tlpMax: Bytes, viaNtb: boolean, out: PathTimes): void {
    const down = this.ownPort(target)[1];
    const fixed = this.sw.hopLatencyNs + (viaNtb ? this.sw.ntbTranslateNs : 0) + target.link.cfg.latencyNs;
    reserveWrite(down, addr, len, notBefore + fixed, tlpMax, out);
  }

  /**
   * A read by `host` of a 32-bit register of its own NTB port (the doorbell register): the request
   * goes up the host's link, the switch answers after `ntbRegisterNs`, the completion comes down
   * (both links' PHY/data-link latency included). Reserves the link time; `out.landNs` is when the
   * value is back. The core that issued the load waits for it (an uncached read).
   */
  reserveOwnRegisterRead(host: Endpoint, notBefore: Ns, tagFree: Float64Array, out: PathTimes): Ns {
    const p = this.ownPort(host);
    const c = host.link.cfg;
    const completerNs = 2 * c.latencyNs + this.ntbRegisterNs;
    return reserveRead(p[0], p[1], SCRATCHPAD_ADDR, 4, notBefore, { mrrsBytes: c.mrrsBytes, rcbBytes: c.rcbBytes, completerNs, tagFree }, out);
  }

  private admit(req: Endpoint, target: Endpoint, addr: number, len: Bytes): ErrorCode | null {
    if (target !== req) {
      if (target.ntb && !target.ntb.lut.has(req.rid)) {
        return this.refuse(ErrorCode.NTB_LUT_DENIED, req, `requester 0x${req.rid.toString(16)} is not in ${target.ntb.name}'s lookup table`);
      }
      if (!target.iommu.allows(req.rid, addr, len)) {
        target.iommu.blocked++;
        return this.refuse(ErrorCode.IOMMU_BLOCKED, req, `${target.name}'s IOMMU blocks [0x${addr.toString(16)}, +${len}) for ${req.name}`);
      }
    }
    return null;
  }

  /** Land one posted write (at its land time); null, or the refusal code (already counted). */
  land(req: Endpoint, w: PostedWrite): ErrorCode | null {
    // Still in flight when a link of its route failed: it never arrives (see ntb-paths.ts).
    if (this.multipath !== null && w.target !== req && this.multipath.broken(req.index, w.target.index)) {
      return this.refuse(ErrorCode.NTB_PATH_DOWN, req, `write to ${w.target.name} lost in flight on a failed NTB path`);
    }
    switch (w.routeKind) {
      case RouteKind.REMOTE_REG:
        return this.landRegister(req, w.target, w.addr, w.imm0);
      case RouteKind.LOCAL_MSI:
        req.deliverMsi(w.imm ? w.imm0 : req.memory.readU32(w.srcAddr));
        return null;
      default: {
        if (!w.imm) return this.landFromMemory(req, w.target, w.addr, req.memory, w.srcAddr, w.len);
        const b = this.immBytes;
        writeU32le(b, 0, w.imm0);
        writeU32le(b, 4, w.imm1);
        writeU32le(b, 8, w.imm2);
        writeU32le(b, 12, w.imm3);
        return this.landBytes(req, w.target, w.addr, b, 0, w.len);
      }
    }
  }

  /** Land `len` bytes read from `srcMem` at `srcAddr` into `target` at target-local `addr`. */
  private landFromMemory(req: Endpoint, target: Endpoint, addr: number, srcMem: SparseMemory, srcAddr: number, len: Bytes): ErrorCode | null {
    const denied = this.admit(req, target, addr, len);
    if (denied) return denied;
    if (isMsiAddr(addr)) {
      target.deliverMsi(srcMem.readU32(srcAddr));
      return null;
    }
    try {
      srcMem.copyTo(target.memory, addr, srcAddr, len);
    } catch (e) {
      return this.refuseAccess(e, req);
    }
    this.writesLanded++;
    this.bytesLanded += len;
    return null;
  }

  /** Land immediate bytes (a slot header, a credit index, an MSI) into `target`. */
  private landBytes(req: Endpoint, target: Endpoint, addr: number, src: Uint8Array, off: number, len: Bytes): ErrorCode | null {
    const denied = this.admit(req, target, addr, len);
    if (denied) return denied;
    if (isMsiAddr(addr)) {
      target.deliverMsi(readU32le(src, off));
      return null;
    }
    try {
      target.memory.write(addr, src, off, len);
    } catch (e) {
      return this.refuseAccess(e, req);
    }
    this.writesLanded++;
    this.bytesLanded += len;
    return null;
  }

  /** A 32-bit MMIO write into `target`'s NTB registers. */
  private landRegister(req: Endpoint, target: Endpoint, offset: number, value: number): ErrorCode | null {
    const ntb = target.ntb;
    if (!ntb) return this.refuse(ErrorCode.ADDR_UNMAPPED, req, `${target.name} has no NTB registers`);
    if (target !== req && !ntb.lut.has(req.rid)) {
      return this.refuse(ErrorCode.NTB_LUT_DENIED, req, `requester 0x${req.rid.toString(16)} is not in ${ntb.name}'s lookup table`);
    }
    if (!ntb.writeRegister(offset, value)) {
      return this.refuse(ErrorCode.NTB_BAD_REGISTER, req, `${ntb.name}: no register at offset 0x${offset.toString(16)}`);
    }
    return null;
  }

  private refuseAccess(e: unknown, req: Endpoint): ErrorCode {
    if (e instanceof EopError) return this.refuse(e.code, req, e.message);
    throw e;
  }
}

