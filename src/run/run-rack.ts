/**
 * Runs a topology in virtual time: builds the rack, puts the built-in stack on every host, wires
 * captures to the interfaces, boots the links, starts the traffic the file asks for and runs until
 * it is done (or the duration ends). Returns everything the report needs. No I/O here except the
 * capture files the topology asks for.
 */
import { join } from 'node:path';
import { CaptureSet } from '../capture/capture-set.js';
import type { EopNic } from '../eop/eop-nic.js';
import type { LogLevel, LogSink } from '../log.js';
import { HostStack } from '../stack/host-stack.js';
import type { Pinger } from '../stack/ping.js';
import type { UdpStream } from '../stack/udp-stream.js';
import { UDP_DISCARD_PORT, UDP_ECHO_PORT } from '../stack/host-stack.js';
import { rackSpecFromTopology } from '../topology/build.js';
import { Rack } from '../topology/rack.js';
import type { PingTraffic, Topology, UdpTraffic } from '../topology/schema.js';
import { NS_PER_MS, NS_PER_US, type Ns } from '../time/units.js';

export interface RunOptions {
  /** Override the topology's captures.enabled. */
  captures?: boolean;
  captureDir?: string;
  logSink?: LogSink;
  logLevel?: LogLevel;
  /** Install SIGINT/SIGTERM handlers that close the capture files (the CLI does). */
  exitHandlers?: boolean;
  /** Called between slices of virtual time (for progress and signals). */
  onSlice?: (rack: Rack) => void;
}

export interface PingRun {
  spec: PingTraffic;
  pinger: Pinger;
}

export interface UdpRun {
  spec: UdpTraffic;
  stream: UdpStream;
  dstStack: HostStack;
}

export interface RunResult {
  topology: Topology;
  rack: Rack;
  stacks: Map<string, HostStack>;
  pings: PingRun[];
  streams: UdpRun[];
  captures: CaptureSet | null;
  capturePaths: string[];
  bootNs: Ns;
  /** Virtual time from the end of boot to the end of the run. */
  trafficNs: Ns;
  finished: boolean;
  wallMs: number;
}

/** Virtual time between checks for "all traffic done". */
const SLICE_NS: Ns = 50 * NS_PER_US;

/** Run to the end in one go (tests, benchmarks). */
export function runTopology(topo: Topology, opts: RunOptions = {}, wallClockMs: () => number = () => 0): RunResult {
  const run = startRun(topo, opts, wallClockMs);
  while (!run.step()) {
    /* keep going */
  }
  return run.finish();
}

/**
 * Run to the end, giving the event loop a turn every `yieldEveryMs` of wall-clock time so that
 * signals (Ctrl-C) are handled and captures can be closed cleanly while a long run is going.
 */
export async function runTopologyAsync(
  topo: Topology,
  opts: RunOptions,
  wallClockMs: () => number,
  yieldEveryMs = 50,
): Promise<RunResult> {
  const run = startRun(topo, opts, wallClockMs);
  let last = wallClockMs();
  while (!run.step()) {
    if (wallClockMs() - last >= yieldEveryMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      last = wallClockMs();
    }
  }
  return run.finish();
}

interface Run {
  /** Advance one slice of virtual time; true when the run is over. */
  step(): boolean;
  finish(): RunResult;
}

function startRun(topo: Topology, opts: RunOptions, wallClockMs: () => number): Run {
  const wall0 = wallClockMs();
  const rack = new Rack(rackSpecFromTopology(topo));
  if (opts.logSink) rack.log.setSink(opts.logSink, opts.logLevel);
  const stacks = new Map<string, HostStack>();
  for (const h of topo.hosts) {
    const nic = rack.nic(h.name);
    stacks.set(
      h.name,
      new HostStack({
        port: nic,
        sched: rack.sched,
        mac: h.mac.addr,
        ipv4: { addr: h.ipv4.addr, prefix: h.ipv4.prefix },
        ipv6: { bytes: h.ipv6.bytes, prefix: h.ipv6.prefix },
        log: rack.log,
        name: h.name,
      }),
    );
  }

  let captures: CaptureSet | null = null;
  const capturePaths: string[] = [];
  if (opts.captures ?? topo.captures.enabled) {
    captures = new CaptureSet();
    const dir = opts.captureDir ?? topo.captures.dir;
    for (const nic of rack.nics) {
      const path = join(dir, `${nic.name}.${topo.captures.format}`);
      const file = captures.open({
        path,
        format: topo.captures.format,
        interfaceName: nic.name,
        description: `EOP interface of ${nic.host.name} (${topo.name})`,
        maxFileBytes: Math.floor(topo.captures.maxFileMiB * 1024 * 1024),
        maxFiles: topo.captures.maxFiles,
      });
      capturePaths.push(path);
      attachCapture(nic, file);
    }
    if (opts.exitHandlers) captures.installExitHandlers();
  }

  const bootNs = rack.boot();
  const t0 = rack.sched.now;
  const pings: PingRun[] = [];
  const streams: UdpRun[] = [];
  for (const spec of topo.traffic) {
    const from = stacks.get(spec.from)!;
    const toHost = topo.hosts.find((h) => h.name === spec.to)!;
    const dstStack = stacks.get(spec.to)!;
    if (spec.kind === 'ping') {
      const pinger = from.ping({
        dst: spec.ipv6 ? toHost.ipv6.bytes : toHost.ipv4.addr,
        count: spec.count,
        intervalNs: spec.intervalUs * NS_PER_US,
        payloadBytes: spec.payloadBytes,
      });
      pings.push({ spec, pinger });
    } else {
      if (spec.dstPort !== UDP_DISCARD_PORT && spec.dstPort !== UDP_ECHO_PORT) dstStack.openSink(spec.dstPort);
      const stream = from.udpStream({
        dst: toHost.ipv4.addr,
        dstPort: spec.dstPort,
        messageBytes: spec.messageBytes,
        ...(spec.rateGbps !== null ? { rateGbps: spec.rateGbps } : {}),
        ...(spec.count !== null ? { count: spec.count } : {}),
        ...(spec.durationUs !== null ? { durationNs: spec.durationUs * NS_PER_US } : {}),
        alignOffsetBytes: spec.alignOffsetBytes,
        startNs: t0 + spec.startUs * NS_PER_US,
      });
      streams.push({ spec, stream, dstStack });
    }
  }

  const end = t0 + topo.durationMs * NS_PER_MS;
  let finished = false;
  return {
    step(): boolean {
      if (rack.sched.now >= end) return true;
      rack.sched.runUntil(Math.min(end, rack.sched.now + SLICE_NS));
      opts.onSlice?.(rack);
      if (pings.every((p) => p.pinger.done) && streams.every((s) => s.stream.done) && quiescent(rack)) {
        finished = true;
        return true;
      }
      return rack.sched.now >= end;
    },
    finish(): RunResult {
      captures?.flushAll();
      return {
        topology: topo,
        rack,
        stacks,
        pings,
        streams,
        captures,
        capturePaths,
        bootNs,
        trafficNs: rack.sched.now - t0,
        finished,
        wallMs: wallClockMs() - wall0,
      };
    },
  };
}

/** No frame still queued or in flight (replies to the last requests have arrived). */
function quiescent(rack: Rack): boolean {
  for (const nic of rack.nics) for (const qp of nic.qps) if (qp && qp.txCount > 0) return false;
  return rack.sched.pending === 0 || rack.sched.nextTime() > rack.sched.now + 10 * NS_PER_MS;
}

function attachCapture(nic: EopNic, file: { write(t: number, f: Uint8Array, d?: 'in' | 'out'): void }): void {
  nic.trace = {
    tx: (frame, t) => file.write(t, frame, 'out'),
    rx: (frame, t) => file.write(t, frame, 'in'),
  };
}
