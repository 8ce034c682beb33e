/**
 * `installTraffic`: starts the rack file's `traffic:` on the built-in stacks. The generators run
 * on scheduler events only, so the same call serves virtual time (the caller runs the scheduler)
 * and live mode (the LiveRunner runs it against the wall clock).
 *
 * Entries start in file order at the scheduler's current time (UDP streams at that time plus
 * `startUs`), so a seed gives the same run. An entry whose sender has no built-in stack (a TAP
 * host: its traffic comes from programs in its namespace) is not started and is returned in
 * `skipped` with the reason. The destination may be any host: its addresses come from the file.
 */
import type { HostStack } from '../stack/host-stack.js';
import { UDP_DISCARD_PORT, UDP_ECHO_PORT } from '../stack/host-stack.js';
import type { Pinger } from '../stack/ping.js';
import type { UdpStream } from '../stack/udp-stream.js';
import type { Scheduler } from '../time/scheduler.js';
import { NS_PER_US } from '../time/units.js';
import type { PingTraffic, Topology, TrafficSpec, UdpTraffic } from './types.js';

export interface PingRun {
  spec: PingTraffic;
  pinger: Pinger;
}

export interface UdpRun {
  spec: UdpTraffic;
  stream: UdpStream;
  /** The receiving built-in stack, whose sink checks the stream; null for a TAP host. */
  dstStack: HostStack | null;
}

export interface TrafficRuns {
  pings: PingRun[];
  streams: UdpRun[];
  skipped: { spec: TrafficSpec; reason: string }[];
}

export function installTraffic(topo: Topology, stacks: ReadonlyMap<string, HostStack>, sched: Scheduler): TrafficRuns {
  const t0 = sched.now;
  const runs: TrafficRuns = { pings: [], streams: [], skipped: [] };
  for (const spec of topo.traffic) {
    const from = stacks.get(spec.from);
    if (!from) {
      runs.skipped.push({ spec, reason: `${spec.from} does not run the built-in stack (attach: tap): its traffic comes from its namespace` });
      continue;
    }
    // Validation guarantees the host exists.
    const to = topo.hosts.find((h) => h.name === spec.to)!;
    if (spec.kind === 'ping') {
      const pinger = from.ping({
        dst: spec.ipv6 ? to.ipv6.bytes : to.ipv4.addr,
        count: spec.count,
        intervalNs: spec.intervalUs * NS_PER_US,
        payloadBytes: spec.payloadBytes,
      });
      runs.pings.push({ spec, pinger });
      continue;
    }
    const dstStack = stacks.get(spec.to) ?? null;
    if (dstStack && spec.dstPort !== UDP_DISCARD_PORT && spec.dstPort !== UDP_ECHO_PORT) dstStack.openSink(spec.dstPort);
    const stream = from.udpStream({
      dst: to.ipv4.addr,
      dstPort: spec.dstPort,
      messageBytes: spec.messageBytes,
      ...(spec.rateGbps !== null ? { rateGbps: spec.rateGbps } : {}),
      ...(spec.count !== null ? { count: spec.count } : {}),
      ...(spec.durationUs !== null ? { durationNs: spec.durationUs * NS_PER_US } : {}),
      alignOffsetBytes: spec.alignOffsetBytes,
      startNs: t0 + spec.startUs * NS_PER_US,
    });
    runs.streams.push({ spec, stream, dstStack });
  }
  return runs;
}

/** Every pinger and stream has finished (replies may still be in flight). */
export function trafficDone(runs: TrafficRuns): boolean {
  return runs.pings.every((p) => p.pinger.done) && runs.streams.every((s) => s.stream.done);
}
