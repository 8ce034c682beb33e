/**
 * From what the generators recorded to a point's numbers: the throughput window, frames per
 * second, latency percentiles, and the PCIe limit the throughput is compared with.
 *
 * Throughput counts application bytes of complete messages delivered to the receiving
 * application, over the window in which every flow is past warm-up and still running: from the
 * delivery that ends warm-up to the moment the first flow finished. Latencies are per message,
 * from the send call to the receiving application, warm-up dropped.
 */
import { effectiveWriteGbps, type LinkConfig } from '../pcie/link.js';
import { percentile } from '../stack/stats.js';
import type { Gbps, Ns } from '../time/units.js';
import type { Recorder } from './recorder.js';

export interface Percentiles {
  p50: number;
  p99: number;
}

export interface Throughput {
  gbps: Gbps;
  framesPerSec: number;
}

export function throughputOf(rec: Recorder, warmupFraction: number): Throughput {
  const d = rec.deliveries;
  const warm = Math.min(d.length - 2, Math.floor(d.length * warmupFraction));
  if (warm < 0 || d.length < 2) return { gbps: 0, framesPerSec: 0 };
  const tStart = d[warm]!.t;
  let tEnd = Infinity;
  for (const t of rec.lastByFlow) if (t < tEnd) tEnd = t;
  let bytes = 0;
  let frames = 0;
  let last = tStart;
  for (let i = warm + 1; i < d.length; i++) {
    const x = d[i]!;
    if (x.t > tEnd) break;
    bytes += x.bytes;
    frames += x.frames;
    last = x.t;
  }
  if (last <= tStart) return { gbps: 0, framesPerSec: 0 };
  return { gbps: (bytes * 8) / (last - tStart), framesPerSec: (frames * 1e9) / (last - tStart) };
}

/** p50 and p99 in µs (3 decimals) of samples in ns, the first `warmupFraction` of them dropped. */
export function percentilesUs(samplesNs: Ns[], warmupFraction: number): Percentiles {
  const s = Float64Array.from(samplesNs.slice(Math.floor(samplesNs.length * warmupFraction))).sort();
  return { p50: round(percentile(s, 50) / 1000, 3), p99: round(percentile(s, 99) / 1000, 3) };
}

/**
 * The best the links could do: one link's write limit per link that no other flow shares (4 pairs
 * side by side have 4 links' worth; 4 senders into one receiver share its down-link).
 */
export function limitOf(link: LinkConfig, flowEnds: Iterable<[number, number]>): { gbps: Gbps; links: number } {
  const senders = new Set<number>();
  const receivers = new Set<number>();
  for (const [a, b] of flowEnds) {
    senders.add(a);
    receivers.add(b);
  }
  const links = Math.min(senders.size, receivers.size);
  return { gbps: effectiveWriteGbps(link) * links, links };
}

export function round(x: number, d: number): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}
