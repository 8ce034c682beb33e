/**
 * Hosts with two NTB paths, as in Marlin (seed 002, "Multi-Path Configuration"): each such host has
 * a primary and a backup NTB port, each with its own PCIe link to a switch port (the same switch or
 * another ToR). Marlin maps the backup path into a second, backup address space (MH writes to 200G
 * take the primary path, to 1T+200G the backup path) and switches paths by remapping
 * virtual-to-physical addresses. Here each host that sends keeps a *view* per host it writes to:
 * which of that host's ports its window onto that host's aperture goes through (its own port for
 * what it sends out, the target's port for where it lands). Remapping a window is changing one view.
 * Both ports of a host are programmed alike (same windows, lookup table, scratchpads), so a remap
 * changes the links a write crosses, never where its bytes land.
 *
 * A failed path's link carries nothing: a write routed over it (as its requester maps it now) is
 * refused at issue, and one still in flight when it failed is dropped where it would land (the
 * fabric asks `broken` at both points). Writes issued before the failure land before the driver's
 * remap at the latest (`drainedNs`), so asking at land time which route the pair uses *now* is
 * asking which route the write took.
 */
import type { Ns } from '../time/units.js';
import type { Link } from './link.js';

/** Which of a host's two ports: 0 primary, 1 backup. */
export type PathIndex = 0 | 1;
export const PATH_NAMES = ['primary', 'backup'] as const;
export type PathName = (typeof PATH_NAMES)[number];

export interface NtbPath {
  readonly link: Link;
  /** The ToR switch the path's link ends at (index into the fabric's tiers; 0 with one switch). */
  readonly tor: number;
  /** Virtual time the link failed, or -1 while it works. */
  failedAtNs: Ns;
}

export class NtbPaths {
  /** Bumped whenever a route may change: the fabric rebuilds its cached paths. */
  version = 0;
  /** Paths currently failed: zero makes `broken` one comparison. */
  private failedCount = 0;
  private readonly byHost: (readonly [NtbPath, NtbPath] | undefined)[] = [];
  /** views[src][dst]: which of dst's paths src's window onto dst goes through (src = dst: its own way out). */
  private readonly views: (Uint8Array | undefined)[] = [];

  constructor(private readonly hostSlots: number) {}

  /** Give host `h` two paths (the primary's link is the host's own). */
  add(h: number, primary: { link: Link; tor: number }, backup: { link: Link; tor: number }): void {
    if (h < 0 || h >= this.hostSlots) throw new Error(`ntb paths: host index ${h} outside 0..${this.hostSlots - 1}`);
    this.byHost[h] = [
      { link: primary.link, tor: primary.tor, failedAtNs: -1 },
      { link: backup.link, tor: backup.tor, failedAtNs: -1 },
    ];
    this.version++;
  }

  has(h: number): boolean {
    return this.byHost[h] !== undefined;
  }

  paths(h: number): readonly [NtbPath, NtbPath] | undefined {
    return this.byHost[h];
  }

  /** The path of `dst` that `src` currently maps (0 for hosts with one path). */
  view(src: number, dst: number): PathIndex {
    const v = this.views[src];
    return v ? (v[dst]! as PathIndex) : 0;
  }

  /** The link and ToR of `dst` that `src`'s writes to `dst` cross, or null: `dst` has one path. */
  pathFor(src: number, dst: number): NtbPath | null {
    const ps = this.byHost[dst];
    return ps ? ps[this.view(src, dst)] : null;
  }

  /** Point `src`'s window onto `dst` at `dst`'s path `p` (src = dst: its own way out). */
  remap(src: number, dst: number, p: PathIndex): void {
    if (!this.byHost[dst]) throw new Error(`ntb paths: host ${dst} has one path`);
    let v = this.views[src];
    if (!v) v = this.views[src] = new Uint8Array(this.hostSlots);
    if (v[dst] === p) return;
    v[dst] = p;
    this.version++;
  }

  failed(h: number, p: PathIndex): boolean {
    const ps = this.byHost[h];
    return ps !== undefined && ps[p].failedAtNs >= 0;
  }

  /** The path's link stops carrying anything. False if it had failed already. */
  fail(h: number, p: PathIndex, nowNs: Ns): boolean {
    const path = this.byHost[h]?.[p];
    if (!path) throw new Error(`ntb paths: host ${h} has one path`);
    if (path.failedAtNs >= 0) return false;
    path.failedAtNs = nowNs;
    this.failedCount++;
    this.version++;
    return true;
  }

  /** The path's link works again. False if it was working. */
  restore(h: number, p: PathIndex): boolean {
    const path = this.byHost[h]?.[p];
    if (!path) throw new Error(`ntb paths: host ${h} has one path`);
    if (path.failedAtNs < 0) return false;
    path.failedAtNs = -1;
    this.failedCount--;
    this.version++;
    return true;
  }

  /** True when a write from `src` to `dst` would cross a failed link, as `src` maps the route now. */
  broken(src: number, dst: number): boolean {
    if (this.failedCount === 0) return false;
    return this.failed(src, this.view(src, src)) || this.failed(dst, this.view(src, dst));
  }
}

/**
 * When everything already queued on `links` (each direction's busy-until) has left them, plus
 * `latencyNs` for the rest of the way: a remap no earlier than this never lets a write that took the
 * old route land after the route changed.
 */
export function drainedNs(links: readonly Link[], latencyNs: Ns): Ns {
  let t = 0;
  for (const l of links) t = Math.max(t, l.up.busyUntil, l.down.busyUntil);
  return t + latencyNs;
}
