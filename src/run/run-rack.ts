/**
 * Runs a topology in virtual time: builds the rack, wraps the interfaces in captures and puts the
 * built-in stack on every host (the helpers of src/topology/install.ts, shared with `eop up` and the
 * benchmarks), boots the links, starts the traffic the file asks for and runs until it is done (or
 * the duration ends). Returns everything the report needs. No I/O here except the capture files
 * the topology asks for.
 */
import type { CaptureSet } from '../capture/capture-set.js';
import { ErrorCode } from '../errors.js';
import { HostPorts, installCaptures, installFaults, installStacks, installTraffic, trafficDone, type InstalledFaults, type PingRun, type UdpRun } from '../topology/install.js';
import type { LogLevel, LogSink } from '../log.js';
import type { HostStack } from '../stack/host-stack.js';
import { rackSpecFromTopology } from '../topology/build.js';
import { Rack } from '../topology/rack.js';
import type { Topology } from '../topology/schema.js';
import { NS_PER_MS, NS_PER_US, type Ns } from '../time/units.js';

export type { PingRun, UdpRun } from '../topology/install.js';

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

export interface RunResult {
  topology: Topology;
  rack: Rack;
  stacks: Map<string, HostStack>;
  pings: PingRun[];
  streams: UdpRun[];
  captures: CaptureSet | null;
  capturePaths: string[];
  /** The `faults:` schedule's record: every fault and recovery, counted. */
  faults: InstalledFaults;
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
  // Captures wrap the ports first, so that the stacks send and receive through them.
  const ports = new HostPorts(rack);
  const captures = (opts.captures ?? topo.captures.enabled)
    ? installCaptures(topo, rack, ports, {
        ...(opts.captureDir !== undefined ? { dir: opts.captureDir } : {}),
        // A full disk is said once (the log), the run goes on, and the report lists it as a problem.
        onError: (msg) => rack.log.error('capture', `${msg}; captures stop, the run goes on (the report lists what was lost)`, ErrorCode.CAPTURE_IO),
      })
    : null;
  if (captures && opts.exitHandlers) captures.set.installExitHandlers();
  const stacks = installStacks(rack, ports, topo.hosts);

  const bootNs = rack.boot();
  const t0 = rack.sched.now;
  // Faults count from the end of boot, as traffic does; marks go into every capture file.
  const faults = installFaults(topo, rack);
  if (captures) faults.markCaptures(captures.set.entries().map(([, f]) => f));
  const traffic = installTraffic(topo, stacks, rack.sched);
  const { pings, streams } = traffic;

  const end = t0 + topo.durationMs * NS_PER_MS;
  let finished = false;
  return {
    step(): boolean {
      if (rack.sched.now >= end) return true;
      rack.sched.runUntil(Math.min(end, rack.sched.now + SLICE_NS));
      opts.onSlice?.(rack);
      if (trafficDone(traffic) && quiescent(rack)) {
        finished = true;
        return true;
      }
      return rack.sched.now >= end;
    },
    finish(): RunResult {
      captures?.set.flushAll();
      return {
        topology: topo,
        rack,
        stacks,
        pings,
        streams,
        captures: captures?.set ?? null,
        capturePaths: captures?.paths ?? [],
        faults,
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
