/**
 * Management-host failover, after Marlin's "Control Plane Failover": the master management host
 * (MMH) owns virtual switch 1 and every downstream port; the backup (BMH) owns virtual switch 2.
 * When the master fails, the backup takes over all the downstream ports by port re-assignment.
 * Peer-to-peer routing is untouched, so compute hosts keep exchanging data through the windows
 * they already have; only configuration (telling peers about link changes, restarts) waits until
 * the ports have a live manager again (`ControlPlane`).
 *
 * Time of a takeover = detection + work, each modelled step by step:
 * - Detection: the master writes a heartbeat every `heartbeatNs` (PLX's dual-host failover sends
 *   heartbeat messages through the switch; a scratchpad or mailbox register does the same). The
 *   backup's fail-detect timer expires `missedHeartbeats` periods after the last heartbeat it saw,
 *   so detection takes between (missed − 1) and missed periods after the failure, depending on
 *   where in the period the master failed. Heartbeats start at virtual time 0.
 * - Work: `takeoverBaseNs` once (upstream-port demotion of the failed side and promotion on the
 *   backup's, the partition change), then `portTakeoverNs` per downstream port, one port after the
 *   other (re-assign it, read its NTB's link status, windows and lookup table back). A port is
 *   managed again as soon as its own step ends.
 * A restarted master whose ports nobody took rejoins them itself after the same work (no
 * detection: it knows it was down); one whose ports were taken becomes the backup. A backup that
 * restarts while the ports' owner is dead starts its detection timer from its own start.
 *
 * The defaults are assumptions, not measurements (Marlin gives no figure): a 100 ms heartbeat and 3
 * missed beats (HA products use 250 ms × 16, or five periods; PLX leaves the timer to software),
 * 100 ms of partition change (the PCIe base specification's wait after a reset before the first
 * configuration request) and 100 µs per port (about 100 configuration accesses of ~1 µs each). The
 * Ladon prototype of the same authors measured under 40 s of control-plane disruption with no data
 * plane impact, dominated by the operating system's re-enumeration; a rack file sets these to model
 * that instead.
 */
import type { VirtualSwitches } from '../pcie/virtual-switches.js';
import type { Scheduler } from '../time/scheduler.js';
import { NS_PER_MS, NS_PER_US, type Ns } from '../time/units.js';
import type { ControlPlane } from './control-plane.js';

export interface MgmtFailoverConfig {
  heartbeatNs: Ns;
  missedHeartbeats: number;
  takeoverBaseNs: Ns;
  portTakeoverNs: Ns;
}

export const DEFAULT_MGMT_FAILOVER: MgmtFailoverConfig = {
  heartbeatNs: 100 * NS_PER_MS,
  missedHeartbeats: 3,
  takeoverBaseNs: 100 * NS_PER_MS,
  portTakeoverNs: 100 * NS_PER_US,
};

/** One completed move of the control plane: who took which ports, and how long it took. */
export interface Takeover {
  /** Management host whose failure started it, and the one that owns the ports now. */
  from: string;
  to: string;
  failedAt: Ns;
  /** When the new owner started working (its fail-detect timer expired, or it restarted). */
  detectedAt: Ns;
  doneAt: Ns;
  ports: number;
  /** Ports whose link changes waited for this takeover and were told at its end. */
  portsWithHeldEvents: number;
}

export const takeoverNs = (t: Takeover): Ns => t.doneAt - t.failedAt;

export class ManagementFailover {
  readonly takeovers: Takeover[] = [];
  private readonly listeners: ((t: Takeover) => void)[] = [];
  /** Per virtual switch: bumped at every failure, so work of a host that failed again stops. */
  private readonly lives: number[];
  private readonly failedAt: Ns[];

  constructor(
    private readonly sched: Scheduler,
    readonly vs: VirtualSwitches,
    private readonly control: ControlPlane,
    readonly cfg: MgmtFailoverConfig,
  ) {
    this.lives = vs.switches.map(() => 0);
    this.failedAt = vs.switches.map(() => -1);
  }

  onTakeover(fn: (t: Takeover) => void): void {
    this.listeners.push(fn);
  }

  /** Names of the management hosts, master (owner of the ports) first. */
  names(): string[] {
    return this.vs.switches.map((s) => s.upstreamName);
  }

  /** Management host `name` stops. Returns what happened, as a sentence. */
  fail(name: string): string {
    const i = this.indexOf(name);
    const s = this.vs.switches[i]!;
    if (!s.alive) return `no effect: ${name} is already down`;
    s.alive = false;
    this.lives[i]!++;
    this.failedAt[i] = this.sched.now;
    const ports = this.vs.portsOf(i);
    if (ports.length === 0) return `${name} (the backup, ${s.name}) failed: no ports of its own; a master failure now would leave the ports unmanaged`;
    const b = this.standbyFor(i);
    const what = `${name} failed: the ${ports.length} downstream ports of ${s.name} have no manager; data keeps flowing through the windows already set`;
    if (b < 0) return `${what}; no live backup, so configuration changes wait until a management host returns`;
    const hb = this.cfg.heartbeatNs;
    const lastBeat = Math.floor(this.sched.now / hb) * hb;
    const detectAt = lastBeat + this.cfg.missedHeartbeats * hb;
    this.detect(b, i, detectAt);
    return `${what}; ${this.vs.switches[b]!.upstreamName} will miss its heartbeats (every ${fmtMs(hb)}, ${this.cfg.missedHeartbeats} missed) and take over`;
  }

  /** Management host `name` starts again. Returns what happened, as a sentence. */
  restart(name: string): string {
    const i = this.indexOf(name);
    const s = this.vs.switches[i]!;
    if (s.alive) return `no effect: ${name} is running`;
    s.alive = true;
    const mine = this.vs.portsOf(i);
    if (mine.length > 0) {
      for (const p of mine) this.vs.enumerate(p);
      this.work(i, i, mine, this.failedAt[i]!, this.sched.now);
      return `${name} restarted: nobody took its ${mine.length} ports, it enumerates them again`;
    }
    // Its ports belong to another switch now: it is the backup; if their owner is dead, it notices.
    const owner = this.vs.switches.findIndex((o, j) => j !== i && !o.alive && this.vs.portsOf(j).length > 0);
    if (owner >= 0) {
      this.detect(i, owner, this.sched.now + this.cfg.missedHeartbeats * this.cfg.heartbeatNs);
      return `${name} restarted as the backup; ${this.vs.switches[owner]!.upstreamName}, which owns the ports, is down: it will take over once its heartbeats are missed`;
    }
    return `${name} restarted as the backup of ${this.names().filter((n) => n !== name).join(', ')}`;
  }

  private indexOf(name: string): number {
    const i = this.vs.byUpstream(name);
    if (i < 0) throw new Error(`${name} is not a management host (have ${this.names().join(', ')})`);
    return i;
  }

  /** A live switch other than `i` (the backup), or -1. */
  private standbyFor(i: number): number {
    return this.vs.switches.findIndex((s, j) => j !== i && s.alive);
  }

  private detect(backup: number, failed: number, at: Ns): void {
    const life = this.lives[backup]!;
    const failedLife = this.lives[failed]!;
    this.sched.at(at, () => {
      // The backup failed meanwhile, or the master came back before the timer expired.
      if (this.lives[backup] !== life || !this.vs.switches[backup]!.alive) return;
      if (this.lives[failed] !== failedLife || this.vs.switches[failed]!.alive) return;
      this.work(failed, backup, this.vs.portsOf(failed), this.failedAt[failed]!, at);
    });
  }

  /** `to` takes `ports` (from `from`'s switch, or its own again), one after the other. */
  private work(from: number, to: number, ports: number[], failedAt: Ns, startAt: Ns): void {
    const life = this.lives[to]!;
    let held = 0;
    const step = (k: number): void => {
      if (this.lives[to] !== life || !this.vs.switches[to]!.alive) return; // failed mid-way: the ports stay as they are
      const p = ports[k]!;
      this.vs.reassign(p, to);
      if (this.control.portManaged(p)) held++;
      if (k + 1 < ports.length) {
        this.sched.after(this.cfg.portTakeoverNs, step, k + 1);
        return;
      }
      const t: Takeover = {
        from: this.vs.switches[from]!.upstreamName,
        to: this.vs.switches[to]!.upstreamName,
        failedAt,
        detectedAt: startAt,
        doneAt: this.sched.now,
        ports: ports.length,
        portsWithHeldEvents: held,
      };
      this.takeovers.push(t);
      for (const fn of this.listeners) fn(t);
    };
    if (ports.length > 0) this.sched.at(startAt + this.cfg.takeoverBaseNs + this.cfg.portTakeoverNs, step, 0);
  }
}

function fmtMs(ns: Ns): string {
  return `${+(ns / NS_PER_MS).toFixed(3)} ms`;
}
