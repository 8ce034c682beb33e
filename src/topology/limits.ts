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
 * laptop. The memory estimate (`estimateRackMemory`) follows what the model allocates: queue
 * pairs open on first use, so it works out from the traffic which pairs of hosts exchange frames
 * (every pair of a host that floods), and charges each opened queue pair end its objects and the
 * ring pages its frames touch, each host its objects, staging and DMA pages as far as its traffic
 * reaches, every broadcast copy its transient cost, and every ping its state, with per-object
 * costs measured on real runs. `test/system/memory-estimate.test.ts` runs racks from 16 to 128
 * hosts and checks the estimate against their peak RSS within a stated factor.
 */
import { DEFAULT_EOP, RELEASE_RX_PAGES_ABOVE_HOSTS } from '../eop/eop-nic.js';
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
 * Memory the estimate charges, measured (`process.resourceUsage().maxRSS` less the RSS before the
 * rack was built, Node 20, `benchmarks/engine.ts --rack`), for 16 to 256 hosts:
 * - per compute host: its Host, NIC, stack and memory maps, plus per host slot of the rack (its
 *   interrupt vectors and per-peer tables: 256 idle hosts 38 MiB, 64 hosts 4 MiB);
 * - per queue pair end opened (QueuePair and counters, IOMMU grants, fabric path, transmit queue);
 *   its receive-ring pages are counted apart (ringBytesFor);
 * - per broadcast copy: its entry in a queue pair's transmit queue (three typed arrays that grow
 *   by doubling); the ring pages the copies land in are counted with the rings (64 hosts resolving
 *   every other by flooded ARP: 250,000 copies, about 80 MiB more at the peak than with the ARP
 *   responder, nearly all of it ring pages);
 * - the process's own part: V8's heap headroom and the page pool (src/mem/sparse-memory.ts).
 */
const HOST_BYTES: Bytes = 40 * 1024;
const HOST_PER_SLOT_BYTES: Bytes = 512;
const QUEUE_PAIR_END_BYTES: Bytes = 8 * 1024;
const FLOOD_COPY_BYTES: Bytes = 16;
const PROCESS_BYTES: Bytes = 16 * MiB;
/** Host memory the model touches per DMA descriptor (see host/hrdma.ts). */
const DMA_DESCRIPTOR_BYTES: Bytes = 64;
const PING_OVERHEAD_BYTES: Bytes = 2 * 1024;
/** Per ping sequence number: state byte, send time and timer (Float64). */
const PING_PER_SEQ_BYTES: Bytes = 17;
const UDP_STREAM_OVERHEAD_BYTES: Bytes = 256 * 1024;

export interface MemoryEstimate {
  /** Receive-ring pages of the queue pairs the traffic opens. */
  ringsBytes: Bytes;
  /** Transmit staging and HRDMA descriptor rings, as far as the traffic touches them. */
  stagingBytes: Bytes;
  trafficBytes: Bytes;
  /** Hosts, opened queue pairs, broadcast copies in flight, the process's own part. */
  overheadBytes: Bytes;
  totalBytes: Bytes;
  /** Queue pair ends the traffic opens (two per pair of hosts that exchange a frame). */
  queuePairEnds: number;
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * Which queue pairs the rack's traffic opens, and how many frames land in each ring (queue pairs
 * open on first use, src/eop/eop-nic.ts): a unicast pair opens its two ends; a host that resolves
 * its peers by broadcast (ARP without the EOP ARP responder, IPv6 neighbour discovery) floods each
 * request to every peer, opening its queue pairs with all of them; a host attached to a TAP, a
 * WebSocket or an uplink sends what its owner sends, so it is taken to flood.
 */
function openedPairs(t: Topology): { framesInto: Map<number, number>; floodCopies: number; staged: number[] } {
  const n = t.hosts.length;
  const index = new Map(t.hosts.map((h, i) => [h.name, i]));
  // Frames that land in host b's ring for host a, keyed a * n + b (both ends exist once a key does).
  const framesInto = new Map<number, number>();
  const add = (a: number, b: number, frames: number): void => {
    framesInto.set(a * n + b, (framesInto.get(a * n + b) ?? 0) + frames);
    if (!framesInto.has(b * n + a)) framesInto.set(b * n + a, 0);
  };
  const broadcasts = new Array<number>(n).fill(0);
  // Frames a host holds staged at once: a ping's request, a bulk stream's whole transmit queue.
  const staged = new Array<number>(n).fill(0);
  t.hosts.forEach((h, i) => {
    if (h.attach !== 'builtin') broadcasts[i] = Math.max(broadcasts[i]!, 1);
  });
  for (const x of t.traffic) {
    const a = index.get(x.from);
    const b = index.get(x.to);
    if (a === undefined || b === undefined) continue;
    const frames = x.kind === 'ping' ? x.count : (x.count ?? t.eop.ringSlots);
    add(a, b, frames);
    if (x.kind === 'ping') add(b, a, x.count);
    staged[a]! += x.kind === 'ping' ? 1 : t.eop.txQueueFrames;
    // One resolution per destination: by broadcast unless the responder answers it (IPv4 only).
    if (!t.eop.arpResponder || (x.kind === 'ping' && x.ipv6)) broadcasts[a]!++;
  }
  let floodCopies = 0;
  broadcasts.forEach((k, a) => {
    if (k === 0) return;
    for (let b = 0; b < n; b++) if (b !== a) add(a, b, k);
    floodCopies += k * (n - 1);
  });
  return { framesInto, floodCopies, staged };
}

/** Estimated peak memory of running `t` (see the file comment); `test/system/memory-estimate.test.ts` checks it against real runs. */
export function estimateRackMemory(t: Topology): MemoryEstimate {
  const n = t.hosts.length;
  const slots = n + (t.management ? 1 : 0);
  const { framesInto, floodCopies, staged } = openedPairs(t);
  // A ring's pages are made as frames land; racks above RELEASE_RX_PAGES_ABOVE_HOSTS give them back
  // once consumed, so there a ring holds about one batch at a time.
  const ringHolds = n + 1 > RELEASE_RX_PAGES_ABOVE_HOSTS ? Math.min(t.eop.ringSlots, t.eop.batchFrames) : t.eop.ringSlots;
  let ringsBytes = 0;
  for (const [key, frames] of framesInto) {
    const h = t.hosts[key % n]!;
    const slotBytes = slotBytesFor(h.mtu);
    const page = Math.max(DEFAULT_PAGE_BYTES, slotBytes);
    ringsBytes += roundUp(Math.min(ringHolds, Math.max(1, frames)) * slotBytes, page);
  }
  let stagingBytes = 0;
  t.hosts.forEach((h, i) => {
    const slotBytes = slotBytesFor(h.mtu);
    const page = Math.max(DEFAULT_PAGE_BYTES, slotBytes);
    // Free staging buffers are reused last-in first-out: the pages touched are those of the most
    // frames staged at once (and two HRDMA descriptors per frame).
    const held = Math.min(DEFAULT_EOP.stagingSlots, staged[i]! + t.eop.batchFrames);
    stagingBytes += roundUp(held * slotBytes, page);
    stagingBytes += roundUp(Math.min(h.dma.ringSlots, held * 2) * DMA_DESCRIPTOR_BYTES, DEFAULT_PAGE_BYTES);
  });
  let trafficBytes = 0;
  for (const x of t.traffic) {
    trafficBytes += x.kind === 'ping' ? PING_OVERHEAD_BYTES + PING_PER_SEQ_BYTES * (x.count + 1) + 2 * x.payloadBytes : UDP_STREAM_OVERHEAD_BYTES;
  }
  const queuePairEnds = framesInto.size;
  const overheadBytes = PROCESS_BYTES + n * (HOST_BYTES + slots * HOST_PER_SLOT_BYTES) + queuePairEnds * QUEUE_PAIR_END_BYTES + floodCopies * FLOOD_COPY_BYTES;
  return { ringsBytes, stagingBytes, trafficBytes, overheadBytes, totalBytes: ringsBytes + stagingBytes + trafficBytes + overheadBytes, queuePairEnds };
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
        `its traffic opens ${est.queuePairEnds.toLocaleString('en-US')} queue pair ends (${t.hosts.length} compute hosts, ${t.eop.ringSlots} ring slots each; ` +
        `a host that resolves its peers by broadcast opens one with every host): ` +
        `use fewer hosts or less traffic, eop.arpResponder, a smaller eop.ringSlots or mtu, or raise the limit with ${LIMIT_FLAGS.maxMemoryMiB} <MiB>`,
      atKey: false,
    });
  }
  return out;
}
