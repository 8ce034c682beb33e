/**
 * Input limits: bounds on what a valid file may ask for, checked before any work starts, so that a
 * typo (`durationMs: 1e12`) or an innocent-looking rack (254 hosts with `ping-all`) is refused in
 * a second with a clear error instead of running for hours or exhausting memory.
 *
 * | limit            | default  | raise it with        | bounds                                   |
 * |------------------|----------|----------------------|------------------------------------------|
 * | maxInputBytes    | 1 MiB    | --max-input-kib      | a rack or scenario file read from disk   |
 * | maxDurationMs    | 60000 ms | --max-duration-ms    | virtual time of `eop run` (durationMs)   |
 * | maxMemoryMiB     | 2048 MiB | --max-memory-mib     | estimated memory of the rack's rings and traffic |
 * | maxMatrixPoints  | 1000     | --max-points (bench) | points of an expanded bench scenario     |
 *
 * Why these values: the largest shipped rack file is 3 KB and the largest scenario 36 points; one
 * virtual minute of a saturated 4-host rack is minutes of wall time; 2 GiB leaves room on a
 * laptop. The memory estimate (`estimateRackMemory`) follows how the model lays out host memory:
 * every compute host holds a receive ring per host slot (`hosts × eop.ringSlots × slot size`,
 * touched page by page as frames land), a transmit staging pool and a DMA ring, and every ping
 * keeps per-sequence state. It is an upper bound for the rings (all of them touched, as `ping-all`
 * does) plus measured per-object overheads; `test/topology-limits.test.ts` checks it against a
 * real run.
 */
import { DEFAULT_EOP } from '../eop/eop-nic.js';
import { slotBytesFor } from '../eop/ring-layout.js';
import { DEFAULT_PAGE_BYTES } from '../mem/sparse-memory.js';
import { MiB, type Bytes } from '../time/units.js';
import type { ConfigProblem } from './problems.js';
import type { Topology } from './types.js';

export interface InputLimits {
  maxInputBytes: Bytes;
  maxDurationMs: number;
  maxMemoryMiB: number;
  maxMatrixPoints: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxInputBytes: 1 * MiB,
  maxDurationMs: 60_000,
  maxMemoryMiB: 2048,
  maxMatrixPoints: 1000,
});

/** The CLI flag that raises each limit (named in every limit error). */
export const LIMIT_FLAGS: Readonly<Record<keyof InputLimits, string>> = Object.freeze({
  maxInputBytes: '--max-input-kib',
  maxDurationMs: '--max-duration-ms',
  maxMemoryMiB: '--max-memory-mib',
  maxMatrixPoints: '--max-points',
});

/**
 * Measured cost of emulated memory per byte of ring touched: pages and their bookkeeping (n = 64
 * hosts, ping-all: 448 MiB measured with 32 slots against 158 MiB with 4 slots, for 224 MiB more of
 * ring bytes).
 */
const RING_COST_FACTOR = 1.3;
/** Host memory the model touches per DMA descriptor (see host/hrdma.ts). */
const DMA_DESCRIPTOR_BYTES: Bytes = 64;
/**
 * JS heap per object, fitted to `process.memoryUsage().rss` on ping-all racks of 16 to 64 hosts (Node 20):
 * a compute host with its NIC, stack and captures; a queue pair (one per host pair); a ping.
 */
const HOST_OVERHEAD_BYTES: Bytes = 512 * 1024;
const QUEUE_PAIR_OVERHEAD_BYTES: Bytes = 4 * 1024;
const PING_OVERHEAD_BYTES: Bytes = 2 * 1024;
/** Per ping sequence number: state byte, send time and timer (Float64). */
const PING_PER_SEQ_BYTES: Bytes = 17;
const UDP_STREAM_OVERHEAD_BYTES: Bytes = 256 * 1024;

export interface MemoryEstimate {
  ringsBytes: Bytes;
  stagingBytes: Bytes;
  trafficBytes: Bytes;
  overheadBytes: Bytes;
  totalBytes: Bytes;
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Upper estimate of what running `t` costs in memory (see the file comment). */
export function estimateRackMemory(t: Topology): MemoryEstimate {
  const slots = t.hosts.length + (t.management ? 1 : 0);
  let ringsBytes = 0;
  let stagingBytes = 0;
  for (const h of t.hosts) {
    const slotBytes = slotBytesFor(h.mtu);
    const page = Math.max(DEFAULT_PAGE_BYTES, slotBytes);
    ringsBytes += roundUp(slots * t.eop.ringSlots * slotBytes, page);
    ringsBytes += roundUp(t.dma.ringSlots * DMA_DESCRIPTOR_BYTES, DEFAULT_PAGE_BYTES);
    stagingBytes += roundUp(DEFAULT_EOP.stagingSlots * slotBytes, page);
  }
  let trafficBytes = 0;
  for (const x of t.traffic) {
    trafficBytes += x.kind === 'ping' ? PING_OVERHEAD_BYTES + PING_PER_SEQ_BYTES * (x.count + 1) + 2 * x.payloadBytes : UDP_STREAM_OVERHEAD_BYTES;
  }
  ringsBytes = Math.ceil(ringsBytes * RING_COST_FACTOR);
  const overheadBytes = t.hosts.length * (HOST_OVERHEAD_BYTES + slots * QUEUE_PAIR_OVERHEAD_BYTES);
  return { ringsBytes, stagingBytes, trafficBytes, overheadBytes, totalBytes: ringsBytes + stagingBytes + trafficBytes + overheadBytes };
}

const mib = (b: number): string => `${Math.ceil(b / MiB).toLocaleString('en-US')} MiB`;

/** Problems of a valid topology against the limits (empty when within them). */
export function limitProblems(t: Topology, limits: InputLimits = DEFAULT_INPUT_LIMITS): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (t.durationMs > limits.maxDurationMs) {
    out.push({
      path: ['durationMs'],
      pathText: 'durationMs',
      message:
        `${t.durationMs} ms of virtual time is above the limit of ${limits.maxDurationMs} ms (maxDurationMs); ` +
        `shorten durationMs or raise the limit with ${LIMIT_FLAGS.maxDurationMs} <ms>`,
      atKey: false,
    });
  }
  const est = estimateRackMemory(t);
  if (est.totalBytes > limits.maxMemoryMiB * MiB) {
    out.push({
      path: ['hosts'],
      pathText: 'hosts',
      message:
        `this rack needs an estimated ${mib(est.totalBytes)} (receive rings ${mib(est.ringsBytes)}, staging ${mib(est.stagingBytes)}, ` +
        `traffic ${mib(est.trafficBytes)}, objects ${mib(est.overheadBytes)}), above the limit of ${limits.maxMemoryMiB.toLocaleString('en-US')} MiB (maxMemoryMiB); ` +
        `rings grow with hosts² × eop.ringSlots (now ${t.hosts.length} compute hosts × ${t.eop.ringSlots} slots): ` +
        `use fewer hosts, a smaller eop.ringSlots or mtu, or raise the limit with ${LIMIT_FLAGS.maxMemoryMiB} <MiB>`,
      atKey: false,
    });
  }
  return out;
}
