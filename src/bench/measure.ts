/**
 * From what the generators recorded to a point's numbers: the throughput window, frames per
 * second, latency percentiles, and the PCIe limit the throughput is compared with.
 *
 * Throughput counts application bytes of complete messages delivered to the receiving
 * application over a window [T0, T1] in which every flow is past warm-up and still running, and
 * only messages that crossed the links entirely inside it: T0 is when the message that ends
 * warm-up was handed to the sending interface, a message counts if its first frame was handed
 * over at or after T0 and it was delivered by the time the first flow finished, and T1 is the
 * last counted delivery. Every counted byte therefore crossed the bottleneck link inside the
 * window, so the goodput can never exceed what the links can carry in that time, the PCIe limit
 * (`limitOf`): no batch is ever counted without its time. Latencies are per message, from the
 * send call to the receiving application, warm-up dropped.
 */
import { WC_TLP_BYTES } from '../host/cpu-copy.js';
import { TLP_HEADER_32, TLP_HEADER_64, effectiveWriteGbps, type LinkConfig } from '../pcie/link.js';
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
  const t0 = d[warm]!.firstTx;
  let tEnd = Infinity;
  for (const t of rec.lastByFlow) if (t < tEnd) tEnd = t;
  let bytes = 0;
  let frames = 0;
  let t1 = t0;
  for (let i = warm; i < d.length; i++) {
    const x = d[i]!;
    if (x.t > tEnd) break;
    if (x.firstTx < t0) continue; // partly on the links before the window opened
    bytes += x.bytes;
    frames += x.frames;
    t1 = x.t;
  }
  if (t1 <= t0) return { gbps: 0, framesPerSec: 0 };
  return { gbps: (bytes * 8) / (t1 - t0), framesPerSec: (frames * 1e9) / (t1 - t0) };
}

/** p50 and p99 in µs (3 decimals) of samples in ns, the first `warmupFraction` of them dropped. */
export function percentilesUs(samplesNs: Ns[], warmupFraction: number): Percentiles {
  const s = Float64Array.from(samplesNs.slice(Math.floor(samplesNs.length * warmupFraction))).sort();
  return { p50: round(percentile(s, 50) / 1000, 3), p99: round(percentile(s, 99) / 1000, 3) };
}

/**
 * The best the links could do for the point's data, from link.ts's one-way write limit for the TLP
 * size the copy path writes — MPS for HRDMA, 64 B for the CPU's write-combined stores (the `cpu`
 * path, or a point whose data frames are all below the copy threshold). Every data byte crosses a
 * sender's up-link, where a remote write always carries a 4-DW header (path.ts), and a receiver's
 * down-link, where the header can be 3 DW: so the goodput is at most the lower of the senders'
 * up-links and the receivers' down-links added up (4 pairs side by side have 4 links' worth; 4
 * senders into one receiver share its down-link).
 */
export function limitOf(
  link: LinkConfig,
  flowEnds: Iterable<[number, number]>,
  copy: { cpuOnly: boolean } = { cpuOnly: false },
): { gbps: Gbps; links: number; tlpBytes: number } {
  const senders = new Set<number>();
  const receivers = new Set<number>();
  for (const [a, b] of flowEnds) {
    senders.add(a);
    receivers.add(b);
  }
  const tlpBytes = copy.cpuOnly ? WC_TLP_BYTES : link.mpsBytes;
  const up = senders.size * effectiveWriteGbps(link, { tlpBytes, headerBytes: TLP_HEADER_64 });
  const down = receivers.size * effectiveWriteGbps(link, { tlpBytes, headerBytes: TLP_HEADER_32 });
  return up <= down ? { gbps: up, links: senders.size, tlpBytes } : { gbps: down, links: receivers.size, tlpBytes };
}

export function round(x: number, d: number): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}
