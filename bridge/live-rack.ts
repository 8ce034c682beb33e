/**
 * A rack in live mode: the model of `src/topology/rack.ts` paced against the wall clock, with real
 * endpoints. What `eop up` runs.
 *
 * - Hosts with `attach: tap` get a TAP named after their EOP interface (`eop-<host>`), moved into a
 *   network namespace of their own (`<nsPrefix><host>`, default `eop-<host>`) and configured there
 *   (MAC, MTU, IPv4 and IPv6 addresses without DAD, txqueuelen, up; `lo` up too). A `TapBridge`
 *   joins the TAP and the host's EOP interface.
 * - Other hosts run the built-in stack (`HostStack`): they answer ARP/NDP, ICMP echo and UDP
 *   echo/discard.
 * - With `websocket: true` (what `eop serve` runs), hosts with `attach: websocket` get a `WsPort`
 *   (ws-port.ts) between their port and the built-in stack, which a WebSocket client can take
 *   over, and hosts with `attach: uplink` get an uplink `WsPort` (another rack). Without it such
 *   hosts run the built-in stack (uplinks: nothing) and a note says so.
 * - Time: the rack boots in virtual time, then a `LiveRunner` maps virtual time onto the wall clock.
 *   A frame from a TAP enters the model at the live time it was read (the scheduler is first brought
 *   up to that time), and frames leave the model from events that never run before their time. When
 *   events run more than `lagToleranceNs` late the emulator is slower than the modeled rack: that is
 *   counted (`lateBatches`, `maxLagNs`) and shown in the status, never hidden.
 * - Captures carry wall-clock timestamps (Unix epoch ns): virtual time t maps to epoch0 + t.
 *
 * Setup is synchronous and all-or-nothing: if any step fails, everything made so far is removed
 * before the error propagates. `stop()` removes every namespace and TAP this rack made (idempotent).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { CaptureSet } from '../src/capture/capture-set.js';
import type { EopNic } from '../src/eop/eop-nic.js';
import { EopError, ErrorCode } from '../src/errors.js';
import type { LogSink } from '../src/log.js';
import { HostPorts, installCaptures, installFaults, installStacks, installTraffic, type InstalledFaults, type TrafficRuns } from '../src/topology/install.js';
import { formatDropCounts, splitStackCounts } from '../src/run/report.js';
import type { HostStack } from '../src/stack/host-stack.js';
import { LiveRunner, type RecentLag, type WallClock } from '../src/time/live-runner.js';
import { rackSpecFromTopology } from '../src/topology/build.js';
import { Rack } from '../src/topology/rack.js';
import type { HostConfig, Topology } from '../src/topology/schema.js';
import { KernelCounterReader, type KernelCounters } from './kernel-counters.js';
import { ip, linkExists, linkSetNetns, netnsAdd, netnsExists, netnsWriteHosts, removeQuietly } from './netns.js';
import { NO_OFFLOADS, offloadCountsOf, offloadWords, type OffloadCounts } from './offload-words.js';
import { TapBridge } from './tap-bridge.js';
import { tsoReadBatchBytes } from './tso-segment.js';
import { tierUpSooner, WARM_UP_FRAMES, warmUpFramePath, type WarmUpResult } from './warm-up.js';
import { WsPort, type WsLimits } from './ws-port.js';
import { RackServices } from './ws-services.js';
import { ADDON_BUILD_HINT, TapDevice, tapAddonAvailable, tapAddonPath } from './tap-device.js';

export interface LiveRackOptions {
  /** Write captures (default: the topology's captures.enabled). */
  captures?: boolean;
  captureDir?: string;
  /** Namespace name prefix (default 'eop-'). */
  nsPrefix?: string;
  /** TAP txqueuelen: frames the kernel holds while the bridge is paused (default 5000). */
  txQueueLen?: number;
  /** Lag beyond which an event batch counts as late (default 1 ms). */
  lagToleranceNs?: number;
  logSink?: LogSink;
  /** A TAP failed (deleted underneath): one sentence naming it. The rest keeps running. */
  onTapFailure?: (message: string) => void;
  /**
   * Open the TAPs with a virtio_net_hdr and merge TCP segments on their way into the namespace, as
   * a NIC's GRO does (default true). What crosses the fabric is unchanged either way.
   */
  gro?: boolean;
  /**
   * Keep turning the event loop this long after the last frame came in (default
   * DEFAULT_BUSY_POLL_MS, i.e. off; 0: sleep in epoll at once). Sparse traffic (a ping every 10 ms)
   * then finds the emulator running instead of asleep; it stops while the process is preempted
   * (see LiveRunner.busyPollNs). Worth it only with a core to spare (see DEFAULT_BUSY_POLL_MS).
   */
  busyPollMs?: number;
  /**
   * Frames carried through a throwaway copy of the frame path before the rack is built, so that the
   * JIT has compiled it (warm-up.ts; default WARM_UP_FRAMES, 0: none).
   */
  warmUpFrames?: number;
  /** Wall clock (default process.hrtime.bigint). */
  clock?: WallClock;
  /** Capture snap length (default: whole frames); e.g. HEADERS_SNAPLEN for long runs. */
  snaplenBytes?: number;
  /** An I/O error stopped a capture (a full disk): said once, the rack keeps running. */
  onCaptureError?: (message: string) => void;
  /** Serve `attach: websocket` and `attach: uplink` hosts through WsPorts (eop serve). */
  websocket?: boolean;
  /** Connection limits of the WebSocket ports. */
  wsHostLimits?: Partial<WsLimits>;
  wsUplinkLimits?: Partial<WsLimits>;
}

export interface HostStatus {
  name: string;
  attach: 'tap' | 'builtin' | 'websocket' | 'uplink';
  /** Namespace (TAP hosts). */
  netns: string | null;
  txFrames: number;
  rxFrames: number;
  txBytes: number;
  rxBytes: number;
  /** Rates since the previous status() call. */
  txGbps: number;
  rxGbps: number;
  /** Drops by reason: the EOP interface's and the bridge's (or the stack's, as `eop run` counts them). */
  drops: Record<string, number>;
  /** Frames the built-in stack ignored by design (`eop run`'s "stack ignored"). */
  ignored: Record<string, number>;
  /** Queue pairs up / total, and the names of peers whose link is not up. */
  linksUp: number;
  links: number;
  linksDown: string[];
  /** TAP failure, if any. */
  failure: string | null;
  /** Frames the TAP addon could not write into the kernel (its write queue full, or EAGAIN). */
  tapWriteDropped: number;
  /**
   * Kernel-side losses read inside the namespace (TAP hosts; null until first read or if unreadable):
   * TAP TX/RX dropped and UDP receive-buffer errors. See bridge/kernel-counters.ts.
   */
  kernel: KernelCounters | null;
  paused: boolean;
  /** Times reading from the TAP paused because the EOP interface was full (back-pressure). */
  tapPauses: number;
  /** TSO reads, GRO and UDP GSO writes, and checksums passed on to the kernel (offload-words.ts); zeros without a TAP. */
  offloads: OffloadCounts;
}

export interface LiveStatus {
  uptimeS: number;
  hosts: HostStatus[];
  /** Event batches that ran later than the tolerance: the emulator was slower than the model. */
  lateBatches: number;
  maxLagNs: number;
  lastLagNs: number;
  batches: number;
  /** "Behind now": lateness over the last `recent.windowNs` of wall time (the totals above are since start). */
  recent: RecentLag;
  eventsRun: number;
  captureFrames: number;
  captureDrops: number;
  /** Of captureDrops: the capture writer thread had every buffer (disk slower than the frames). */
  captureQueueFull: number;
  /** Frames captured, then deleted with the oldest file by rotation. */
  captureRotatedOut: number;
  /** One sentence per capture file that stopped on an I/O error (a full disk). */
  captureErrors: string[];
  /** The rack file's `traffic:` run by built-in hosts, one line each (progress so far). */
  traffic: string[];
}

/** Address resolution of built-in hosts in live mode: Linux's defaults (retrans_time 1 s, 3 solicits). */
const LIVE_NEIGHBOR_TIMING = { retryNs: 1_000_000_000, maxTries: 3 } as const;

/**
 * Busy polling after the last frame (LiveRackOptions.busyPollMs), off by default. Measured on the
 * 2-vCPU VM this project is built on (ping every 10 ms, 300 pings, two TAP hosts, quiet machine):
 * at 20 ms it almost never polled, since the ping that eop's write wakes preempts eop, which counts
 * as a preemption and backs polling off (`pollBackoffs` grew about 5 a second); with the back-off
 * disabled it polled all the time and the RTT median did not improve (0.51-0.54 ms against
 * 0.43-0.53 asleep in epoll) while the TAP writes got slower: a spinning vCPU slows its sibling.
 * On a machine with a core to spare for eop, `--busy-poll-ms 20` keeps it awake between sparse
 * frames; bench:live measures both.
 */
export const DEFAULT_BUSY_POLL_MS = 0;

/** The virtio_net_hdr in front of every TAP frame (with GRO): struct virtio_net_hdr, without num_buffers. */
const VNET_HDR_BYTES = 10;

/** Spin for batches of at most this many frames read from a TAP. */
const SPIN_MAX_FRAMES = 2;
/** Spin only while the next event is due within this much (modeled) time. */
const SPIN_WINDOW_NS = 50_000;
/** At most this long per batch. */
const SPIN_BUDGET_NS = 200_000;

export const hrClock: WallClock = { nowNs: () => Number(process.hrtime.bigint()) };

const CAP_NET_ADMIN = 1n << 12n;
const CAP_SYS_ADMIN = 1n << 21n;

/** This process's effective capabilities (Linux), or null if unknown. */
function effectiveCaps(): bigint | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

/** Why `eop up` cannot run here, as one sentence; null if it can. */
export function liveRackPreflight(): string | null {
  if (process.platform !== 'linux') return 'needs Linux (TAP devices and network namespaces).';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'needs root (to create TAP devices and network namespaces): run it as root, e.g. with sudo.';
  }
  const caps = effectiveCaps();
  if (caps !== null && (!(caps & CAP_NET_ADMIN) || !(caps & CAP_SYS_ADMIN))) {
    return 'runs as root but without CAP_NET_ADMIN and CAP_SYS_ADMIN, which TAP devices and network namespaces need (in a container: --cap-add NET_ADMIN --cap-add SYS_ADMIN, or --privileged).';
  }
  if (!existsSync('/dev/net/tun')) {
    return '/dev/net/tun is missing: load the tun module (modprobe tun) or give the container the device (--device /dev/net/tun).';
  }
  if (!tapAddonAvailable()) return `the TAP addon is not built (${tapAddonPath()}): ${ADDON_BUILD_HINT}.`;
  try {
    ip(['-V']);
  } catch {
    return 'the ip command (iproute2) is not installed.';
  }
  return null;
}

interface TapHost {
  cfg: HostConfig;
  ns: string;
  nic: EopNic;
  bridge: TapBridge;
}

export class LiveRack {
  readonly rack: Rack;
  readonly runner: LiveRunner;
  readonly tapHosts: TapHost[] = [];
  readonly stacks: Map<string, HostStack>;
  /** WebSocket host and uplink ports (eop serve). */
  readonly wsPorts = new Map<string, WsPort>();
  readonly captures: CaptureSet | null = null;
  readonly capturePaths: readonly string[] = [];
  readonly notes: string[] = [];
  /** The rack file's `faults:` schedule, counted from the end of boot (logged as it happens). */
  readonly faults: InstalledFaults;
  /** Unix epoch ns at virtual time 0. */
  /** Unix epoch ns at virtual time 0; set again when the runner starts (that fixes the mapping). */
  epoch0Ns: number;
  private readonly clock: WallClock;
  private readonly madeNs: string[] = [];
  private readonly madeTaps: TapDevice[] = [];
  private stopped = false;
  private started = false;
  private readonly startWallNs: number;
  private readonly lagTol: number;
  private prev = new Map<string, { t: number; tx: number; rx: number }>();
  private readonly kernel = new Map<string, KernelCounters>();
  private readonly kernelReaders = new Map<string, KernelCounterReader>();
  /** Frames the bridges wrote into TAPs, all hosts together (ends a spin: afterInject), and the last bridge written. */
  private readonly deliveries: { frames: number; last: TapBridge | null } = { frames: 0, last: null };
  /** True while afterInject carries an answer picked up from a TAP (answers to answers wait for the loop). */
  private pickingUp = false;
  /** What the JIT warm-up did (warm-up.ts); null with warmUpFrames 0. */
  readonly warmUp: WarmUpResult | null = null;

  constructor(
    readonly topo: Topology,
    opts: LiveRackOptions = {},
  ) {
    this.clock = opts.clock ?? hrClock;
    this.lagTol = opts.lagToleranceNs ?? 1_000_000;
    const prefix = opts.nsPrefix ?? 'eop-';
    // Before the live rack is built: its objects then take the shapes the warm-up settled on, and the
    // code compiled for the throwaway rack serves them as it is (built after, many would not match).
    const warmFrames = opts.warmUpFrames ?? WARM_UP_FRAMES;
    if (warmFrames > 0) {
      tierUpSooner();
      try {
        this.warmUp = warmUpFramePath(topo, (opts.gro ?? true) ? VNET_HDR_BYTES : 0, warmFrames);
      } catch (e) {
        // Only a speed-up: a rack the throwaway copy cannot be made of still runs, said once.
        this.notes.push(`JIT warm-up skipped (${e instanceof Error ? e.message : String(e)}): the first frames run slower`);
      }
    }
    this.rack = new Rack(rackSpecFromTopology(topo));
    if (opts.logSink) this.rack.log.setSink(opts.logSink);
    this.runner = new LiveRunner(this.rack.sched, this.clock, this.lagTol);
    this.runner.busyPollNs = (opts.busyPollMs ?? DEFAULT_BUSY_POLL_MS) * 1e6;
    this.runner.preemptions = () => process.resourceUsage().involuntaryContextSwitches;
    this.startWallNs = this.clock.nowNs();
    // Until boot sets it; the capture timestamps read it per frame, so a later value applies.
    this.epoch0Ns = 0;
    const ports = new HostPorts(this.rack);
    try {
      // Captures wrap the ports before the TAP bridges and stacks take them.
      if (opts.captures ?? topo.captures.enabled) {
        const sched = this.rack.sched;
        // Written by a worker thread (never blocking frames), flushed 4 times a second. Frames are
        // stamped with virtual time; the files add the epoch origin as an exact integer (start()).
        const c = installCaptures(topo, this.rack, ports, {
          ...(opts.captureDir !== undefined ? { dir: opts.captureDir } : {}),
          stampNs: () => sched.now,
          note: 'live, wall-clock timestamps',
          threaded: true,
          ...(opts.onCaptureError ? { onError: opts.onCaptureError } : {}),
          ...(opts.snaplenBytes !== undefined ? { snaplenBytes: opts.snaplenBytes } : {}),
        });
        this.captures = c.set;
        this.capturePaths = c.paths;
      }
      for (const h of topo.hosts) {
        if (h.attach === 'tap') this.attachTap(h, `${prefix}${h.name}`, ports, opts);
        else if (h.attach === 'websocket' && opts.websocket) this.attachWebSocket(h, ports, opts);
        else if (h.attach === 'uplink' && opts.websocket) this.attachUplink(h, ports, opts);
        else if (h.attach === 'websocket') this.notes.push(`${h.name} has attach: websocket, which eop up does not serve (eop serve does); it runs the built-in stack`);
        else if (h.attach === 'uplink') this.notes.push(`${h.name} has attach: uplink, which eop up does not serve (eop serve does); it carries nothing`);
      }
      if ((opts.gro ?? true) && this.tapHosts.some((t) => t.bridge.tap.usoWrite !== true)) {
        this.notes.push('this kernel does not take UDP GSO writes into a TAP (Linux 6.2 and later do): UDP datagrams go into the namespaces one write each (status: udp-gso-unsupported)');
      }
      // Built-in hosts resolve namespaces' addresses from real kernels, which answer in real time
      // (ms on a busy machine): Linux's own patience (1 s between 3 tries), not the fabric's 1 ms.
      this.stacks = installStacks(this.rack, ports, topo.hosts.filter((h) => h.attach !== 'tap' && h.attach !== 'uplink'), LIVE_NEIGHBOR_TIMING);
      // Boot in virtual time (the rack reaches "all links up" in a few hundred µs), then go live.
      this.rack.boot();
      this.faults = installFaults(topo, this.rack);
      if (this.captures) this.faults.markCaptures(this.captures.entries().map(([, f]) => f));
      // Epoch at virtual 0: now (epoch) minus the virtual time the live runner will start at.
      this.epoch0Ns = (performance.timeOrigin + performance.now()) * 1e6 - this.rack.sched.now;
      this.captures?.setTimeOrigin(this.epoch0());
    } catch (e) {
      // Anything failing after the first TAP (a capture directory we cannot write…) still
      // removes every namespace and TAP made so far.
      this.cleanup();
      throw e;
    }
  }

  private attachTap(h: HostConfig, ns: string, ports: HostPorts, opts: LiveRackOptions): void {
    if (netnsExists(ns)) {
      throw new EopError(ErrorCode.TAP_OPEN, `network namespace ${ns} already exists (left over from a crash? run "eop down")`);
    }
    if (linkExists(h.ifName)) {
      throw new EopError(ErrorCode.TAP_OPEN, `an interface named ${h.ifName} already exists (left over from a crash? run "eop down")`);
    }
    const gro = opts.gro ?? true;
    // With the vnet header, offloads on: the kernel hands us TCP super-frames and unfinished
    // checksums, which the bridge segments and finishes (tso-segment.ts); a wake-up reads at most
    // tsoReadBatchBytes so one batch's segments fit the bridge's holding queue.
    const tap = TapDevice.open(h.ifName, gro ? { vnetHdr: true, vnetHdrSize: VNET_HDR_BYTES, offload: true, batchBytes: tsoReadBatchBytes(h.mtu) } : {});
    this.madeTaps.push(tap);
    netnsAdd(ns);
    this.madeNs.push(ns);
    // Names: `ping h2` inside any namespace (removed with the namespace by removeQuietly).
    netnsWriteHosts(
      ns,
      this.topo.hosts.filter((o) => o.attach !== 'uplink').map((o) => ({ name: o.name, addrs: [o.ipv4.text, o.ipv6.text] })),
    );
    linkSetNetns(h.ifName, ns);
    const dev = h.ifName;
    ip(['link', 'set', 'dev', 'lo', 'up'], { ns });
    ip(['link', 'set', 'dev', dev, 'address', h.mac.text, 'mtu', String(h.mtu), 'txqueuelen', String(opts.txQueueLen ?? 5000)], { ns });
    ip(['addr', 'add', h.ipv4.cidr, 'dev', dev], { ns });
    ip(['-6', 'addr', 'add', h.ipv6.cidr, 'dev', dev, 'nodad'], { ns });
    ip(['link', 'set', 'dev', dev, 'up'], { ns });
    this.kernelReaders.set(h.name, new KernelCounterReader(ns, dev));
    const nic = this.rack.nic(h.name);
    const bridge = new TapBridge(h.name, tap, ports.take(h.name), {
      sync: this.sync,
      poke: this.afterInject,
      deliveries: this.deliveries,
      onFailure: (msg) => {
        this.rack.log.error(`bridge ${h.name}`, msg, ErrorCode.TAP_IO);
        opts.onTapFailure?.(msg);
      },
    });
    this.tapHosts.push({ cfg: h, ns, nic, bridge });
  }

  /** A WebSocket host: the WsPort sits on the host's port; the built-in stack sits on the WsPort. */
  private attachWebSocket(h: HostConfig, ports: HostPorts, opts: LiveRackOptions): void {
    ports.wrap(h.name, (inner) => {
      const port = new WsPort(h.name, inner, {
        kind: 'host',
        services: new RackServices(h, this.topo),
        sync: this.sync,
        poke: this.afterInject,
        ...(opts.wsHostLimits ? { limits: opts.wsHostLimits } : {}),
      });
      this.wsPorts.set(h.name, port);
      return port.stackPort;
    });
  }

  private attachUplink(h: HostConfig, ports: HostPorts, opts: LiveRackOptions): void {
    const nic = this.rack.nic(h.name);
    const port = new WsPort(h.name, ports.take(h.name), {
      kind: 'uplink',
      sync: this.sync,
      poke: this.afterInject,
      isLocalMac: (mac) => nic.macTable.has(mac),
      ...(opts.wsUplinkLimits ? { limits: opts.wsUplinkLimits } : {}),
    });
    this.wsPorts.set(h.name, port);
  }

  /** Brings the model up to the current live time (runs every due event). */
  readonly sync = (): void => {
    if (!this.started || this.stopped) return;
    this.runner.syncNow();
  };

  /**
   * After frames were injected: a lone frame (ping, a request) is carried through the model at
   * once by spinning on the wall clock while its next event is due within `SPIN_WINDOW_NS` (a few
   * µs of modeled fabric time), for at most `SPIN_BUDGET_NS`, instead of going round the event loop
   * once per event. Busy batches do not spin (that would take the CPU from the kernel and the
   * applications); they go through the live runner, which runs everything due on its next turn.
   * The spin ends once as many frames left the fabric into a TAP as were injected, and the trailing
   * events (credits) run on the runner's next turn. The kernel usually answers a frame written into
   * a namespace (ICMP echo, ARP) before the write returns: that answer is read from the TAP at once
   * and carried the same way (`pickUp`), instead of a loop turn and an epoll_wait later. One level
   * only: the answer's own delivery is not followed (that would be a ping-pong without end).
   */
  private readonly afterInject = (frames: number): void => {
    if (frames > 0 && frames <= SPIN_MAX_FRAMES && this.started && !this.stopped) {
      const d = this.deliveries;
      const want = d.frames + frames;
      d.last = null;
      this.runner.spin(SPIN_WINDOW_NS, SPIN_BUDGET_NS, () => d.frames >= want);
      const to = d.last as TapBridge | null;
      if (to !== null && !this.pickingUp) {
        this.pickingUp = true;
        try {
          to.pickUp();
        } finally {
          this.pickingUp = false;
        }
      }
    }
    // An answer picked up right after a write belongs to the exchange that started the polling.
    if (frames > 0 && !this.pickingUp) this.runner.keepPolling();
    this.runner.poke();
  };

  /**
   * The rack file's `traffic:` sent by built-in hosts, started with the live runner (so the
   * generators run against the wall clock); entries sent by TAP hosts are not started and are
   * listed in `traffic.skipped` with the reason (their traffic comes from programs in their
   * namespaces), for the caller to say.
   */
  traffic: TrafficRuns | null = null;

  /** Starts pacing the model against the wall clock, and the built-in hosts' traffic. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.topo.traffic.length > 0) {
      this.traffic = installTraffic(this.topo, this.stacks, this.rack.sched);
    }
    // The runner maps virtual time onto the wall clock from this moment on: so do the captures.
    this.epoch0Ns = (performance.timeOrigin + performance.now()) * 1e6 - this.rack.sched.now;
    this.captures?.setTimeOrigin(this.epoch0());
    this.runner.start();
  }

  /** Unix epoch ns at virtual time 0, as an exact integer (µs-accurate clock read). */
  private epoch0(): bigint {
    const nowUs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
    return nowUs * 1000n - BigInt(Math.floor(this.rack.sched.now));
  }

  /** Late event batches and the largest lag so far (cheap; status() has the rest). */
  lateness(): { lateBatches: number; maxLagNs: number } {
    const rs = this.runner.stats;
    return { lateBatches: rs.lateBatches, maxLagNs: rs.maxLagNs };
  }

  /**
   * Drops of one host by reason: its EOP interface's, plus its TAP bridge's, WebSocket port's or
   * built-in stack's; and what the stack ignored by design.
   */
  dropsOf(host: string): { drops: Record<string, number>; ignored: Record<string, number> } {
    const drops: Record<string, number> = { ...this.rack.nic(host).drops.toJSON() };
    const th = this.tapHosts.find((t) => t.cfg.name === host);
    const stack = splitStackCounts(this.stacks.get(host)?.drops.toJSON() ?? {});
    const extras = [th ? th.bridge.drops.toJSON() : stack.drops, this.wsPorts.get(host)?.drops.toJSON() ?? {}];
    for (const extra of extras) for (const [k, v] of Object.entries(extra)) drops[k] = (drops[k] ?? 0) + v;
    return { drops, ignored: th ? {} : stack.ignored };
  }

  /** The status view; rates are over the time since the previous call. */
  status(): LiveStatus {
    const now = this.clock.nowNs();
    const hosts: HostStatus[] = [];
    for (const h of this.topo.hosts) {
      const nic = this.rack.nic(h.name);
      const th = this.tapHosts.find((t) => t.cfg.name === h.name);
      const prev = this.prev.get(h.name);
      const dt = prev ? (now - prev.t) / 1e9 : (now - this.startWallNs) / 1e9;
      const txGbps = dt > 0 ? ((nic.c.txBytes - (prev?.tx ?? 0)) * 8) / dt / 1e9 : 0;
      const rxGbps = dt > 0 ? ((nic.c.rxBytes - (prev?.rx ?? 0)) * 8) / dt / 1e9 : 0;
      this.prev.set(h.name, { t: now, tx: nic.c.txBytes, rx: nic.c.rxBytes });
      const { drops, ignored } = this.dropsOf(h.name);
      let links = 0;
      let up = 0;
      const down: string[] = [];
      for (const qp of nic.qps) {
        if (!qp) continue;
        links++;
        if (qp.up) up++;
        else down.push(`${qp.peerName}:${qp.state}`);
      }
      const ts = th && !th.bridge.tap.closed ? th.bridge.tap.stats : null;
      hosts.push({
        name: h.name,
        attach: th ? 'tap' : this.wsPorts.has(h.name) ? h.attach : 'builtin',
        netns: th?.ns ?? null,
        txFrames: nic.c.txFrames,
        rxFrames: nic.c.rxFrames,
        txBytes: nic.c.txBytes,
        rxBytes: nic.c.rxBytes,
        txGbps,
        rxGbps,
        drops,
        ignored,
        linksUp: up,
        links,
        linksDown: down,
        failure: th?.bridge.failure ?? null,
        tapWriteDropped: ts?.writeDropped ?? 0,
        kernel: th ? (this.kernel.get(h.name) ?? null) : null,
        paused: th?.bridge.isPaused ?? false,
        tapPauses: th?.bridge.c.pauses ?? 0,
        offloads: th ? offloadCountsOf(th.bridge) : NO_OFFLOADS,
      });
    }
    const rs = this.runner.stats;
    let captureFrames = 0;
    let captureDrops = 0;
    let captureQueueFull = 0;
    let captureRotatedOut = 0;
    const captureErrors: string[] = [];
    for (const s of Object.values(this.captures?.stats() ?? {})) {
      captureFrames += s.frames;
      captureDrops += s.droppedFrames;
      captureQueueFull += s.queueFullFrames;
      captureRotatedOut += s.rotatedOutFrames;
      if (s.lastError) captureErrors.push(s.lastError);
    }
    return {
      uptimeS: (now - this.startWallNs) / 1e9,
      hosts,
      lateBatches: rs.lateBatches,
      maxLagNs: rs.maxLagNs,
      lastLagNs: rs.lastLagNs,
      batches: rs.batches,
      recent: this.runner.recent(),
      eventsRun: this.rack.sched.executed,
      captureFrames,
      captureDrops,
      captureQueueFull,
      captureRotatedOut,
      captureErrors,
      traffic: this.trafficLines(),
    };
  }

  private trafficLines(): string[] {
    if (!this.traffic) return [];
    const out: string[] = [];
    for (const p of this.traffic.pings) {
      const sp = p.spec;
      out.push(`ping ${sp.from} → ${sp.to}${sp.ipv6 ? ' (IPv6)' : ''}: ${p.pinger.sent} of ${sp.count} sent, ${p.pinger.received} replies${p.pinger.done ? ' (done)' : ''}`);
    }
    for (const u of this.traffic.streams) {
      const sp = u.spec;
      out.push(`udp ${sp.from} → ${sp.to}:${sp.dstPort}: ${u.stream.stats.sentFrames} datagrams sent${u.stream.stats.droppedByInterface ? `, ${u.stream.stats.droppedByInterface} dropped by the interface` : ''}${u.stream.done ? ' (done)' : ''}`);
    }
    return out;
  }

  /** The kernel-side loss counters of a TAP host as last read (null: not a TAP host, or not read yet). */
  kernelOf(host: string): KernelCounters | null {
    return this.kernel.get(host) ?? null;
  }

  /**
   * Reads the kernel-side loss counters of every TAP host (file reads through each namespace's
   * anchor process, see kernel-counters.ts); status() shows the latest values. Call it before the
   * namespaces go for the final figures.
   */
  async refreshKernelCounters(): Promise<void> {
    if (this.stopped) return;
    await Promise.all(
      this.tapHosts.map(async (t) => {
        const k = await this.kernelReaders.get(t.cfg.name)?.read();
        if (k) this.kernel.set(t.cfg.name, k);
      }),
    );
  }

  /** Removes every namespace and TAP this rack made; closes captures. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.runner.stop();
    this.cleanup();
  }

  private cleanup(): void {
    for (const r of this.kernelReaders.values()) r.close();
    this.kernelReaders.clear();
    for (const t of this.tapHosts) {
      try {
        t.bridge.close();
      } catch {
        // best effort
      }
    }
    for (const tap of this.madeTaps) {
      try {
        tap.close();
      } catch {
        // best effort
      }
    }
    // A TAP that never made it into its namespace vanishes with its fd; make sure.
    removeQuietly(
      this.madeNs.splice(0),
      this.madeTaps.splice(0).map((t) => t.name),
    );
    try {
      this.captures?.closeAll();
    } catch {
      // never let capture cleanup stop the rest
    }
  }
}

function fmtGbps(g: number): string {
  return g >= 10 ? g.toFixed(1) : g >= 0.01 ? g.toFixed(2) : g === 0 ? '0' : g.toFixed(4);
}

/** Kernel-side losses of a TAP host, only those that happened. */
function formatKernel(k: KernelCounters | null): string {
  if (!k) return '';
  return (
    (k.tapTxDropped ? `  kernel: tap-tx-dropped ${k.tapTxDropped} (namespace → EOP queue full)` : '') +
    (k.tapRxDropped ? `  kernel: tap-rx-dropped ${k.tapRxDropped}` : '') +
    (k.udpRcvbufErrors ? `  kernel: udp-rcvbuf-errors ${k.udpRcvbufErrors} (receiver too slow)` : '') +
    (k.udpInErrors > k.udpRcvbufErrors ? `  kernel: udp-in-errors ${k.udpInErrors}` : '')
  );
}

/** The status view: one line per host, then the live-mode health line. */
export function formatLiveStatus(s: LiveStatus): string {
  const lines: string[] = [];
  for (const h of s.hosts) {
    const links = h.linksUp === h.links ? `links ${h.linksUp}/${h.links} up` : `links ${h.linksUp}/${h.links} up (${h.linksDown.join(', ')})`;
    lines.push(
      `  ${h.name.padEnd(8)} ${(h.attach === 'tap' ? `tap ${h.netns}` : h.attach === 'builtin' ? 'built-in' : h.attach).padEnd(14)} ` +
        `tx ${h.txFrames} fr ${fmtGbps(h.txGbps)} Gb/s  rx ${h.rxFrames} fr ${fmtGbps(h.rxGbps)} Gb/s  ${links}` +
        `  drops ${formatDropCounts(h.drops)}` +
        (Object.keys(h.ignored).length ? `  stack ignored ${formatDropCounts(h.ignored)}` : '') +
        (h.tapWriteDropped ? `  tap-write-dropped ${h.tapWriteDropped}` : '') +
        formatKernel(h.kernel) +
        (h.tapPauses ? `  tap-read-pauses ${h.tapPauses}` : '') +
        offloadWords(h.offloads) +
        (h.failure ? `  FAILED: ${h.failure}` : ''),
    );
  }
  const w = `${(s.recent.windowNs / 1e9).toFixed(0)} s`;
  const now = s.recent.behind
    ? `BEHIND now: emulator slower than the model: ${s.recent.lateBatches} of ${s.recent.batches} event batches late in the last ${w}, max lag ${(s.recent.maxLagNs / 1e6).toFixed(2)} ms`
    : `keeping up now: 0 of ${s.recent.batches} event batches late in the last ${w}`;
  const totals = `totals: ${s.lateBatches} of ${s.batches} event batches late (beyond the lag tolerance), max lag ${(s.maxLagNs / 1e6).toFixed(3)} ms`;
  const cap =
    `captures ${s.captureFrames} frames` +
    (s.captureDrops ? `, ${s.captureDrops} not captured${s.captureQueueFull ? ` (${s.captureQueueFull} because the disk did not keep up)` : ''}` : '') +
    (s.captureRotatedOut ? `, ${s.captureRotatedOut} discarded by rotation` : '');
  lines.push(`  live: ${now}; ${totals}; ${s.eventsRun} events; ${cap}`);
  for (const e of s.captureErrors) lines.push(`  capture problem: ${e}`);
  for (const t of s.traffic) lines.push(`  traffic: ${t}`);
  return `status at ${s.uptimeS.toFixed(1)} s:\n${lines.join('\n')}`;
}
