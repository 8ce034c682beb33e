/**
 * Link negotiation through NTB scratchpads, after ntb_transport's: each host publishes its own
 * parameters in its own port's scratchpads; a peer reads them across the fabric and brings a queue
 * pair up only when both sides agree. A host that comes back clears its scratchpads first (they
 * keep their values while it is away) and bumps GENERATION so peers can tell a restart.
 *
 * Readiness is two-sided: after agreeing, a host sets the peer's bit in its own QP_LINKS bitmap and
 * rings the peer's LINK doorbell; a queue pair carries frames only when each side has the other's
 * bit set, so nobody writes into a ring whose owner has not granted it yet.
 *
 * Queue pairs are negotiated on first use, not at boot: the LINK doorbell also carries the ringing
 * host's data bit (host p: bit p mod DATA_DOORBELL_BITS), so a peer that has no queue pair with it
 * yet knows whose scratchpads to read (every host sharing that bit, a round trip each) to find the
 * ones whose QP_LINKS name it, and opens its end of each.
 */
import { NTB_SCRATCHPADS } from '../pcie/ntb.js';

export const EOP_MAGIC = 0x454f5031; // "EOP1"

export const Spad = {
  MAGIC: 0,
  VERSION: 1,
  HOST_INDEX: 2,
  MTU: 3,
  RING_SLOTS: 4,
  SLOT_BYTES: 5,
  /** Receive-ring area base >> 12; the ring for peer p is at base + p × ringBytes. */
  RX_BASE_4K: 6,
  /** Credit-block area base >> 12; the block for peer p is at base + p × 64. */
  CREDIT_BASE_4K: 7,
  /** MSI vector for "data from peer p" is RX_VECTOR_BASE + p; credits CREDIT_VECTOR_BASE + p. */
  RX_VECTOR_BASE: 8,
  CREDIT_VECTOR_BASE: 9,
  /** 0 = MSI through the window, 1 = NTB doorbell. */
  IRQ_MODE: 10,
  STATUS: 11,
  GENERATION: 12,
  /** QP_LINKS bitmap: bit p set = "my queue pair with host p is ready to receive". */
  QP_LINKS0: 16,
} as const;

export const SpadStatus = { CLEAR: 0, READY: 1 } as const;
export const IrqMode = { MSI: 0, DOORBELL: 1 } as const;
/** Hosts addressable by the QP_LINKS bitmap. */
export const MAX_EOP_HOSTS = (NTB_SCRATCHPADS - Spad.QP_LINKS0) * 32;
/** Doorbell bit a peer rings after changing its QP_LINKS. */
export const LINK_DOORBELL_BIT = 31;
/** In doorbell mode, peer p signals data or credits on bit p mod 31. */
export const DATA_DOORBELL_BITS = 31;

export interface EopParams {
  version: number;
  hostIndex: number;
  mtu: number;
  ringSlots: number;
  slotBytes: number;
  rxBase: number;
  creditBase: number;
  rxVectorBase: number;
  creditVectorBase: number;
  irqMode: number;
  generation: number;
}

export function publish(spads: Uint32Array, p: EopParams): void {
  spads.fill(0);
  spads[Spad.MAGIC] = EOP_MAGIC;
  spads[Spad.VERSION] = p.version;
  spads[Spad.HOST_INDEX] = p.hostIndex;
  spads[Spad.MTU] = p.mtu;
  spads[Spad.RING_SLOTS] = p.ringSlots;
  spads[Spad.SLOT_BYTES] = p.slotBytes;
  spads[Spad.RX_BASE_4K] = p.rxBase / 4096;
  spads[Spad.CREDIT_BASE_4K] = p.creditBase / 4096;
  spads[Spad.RX_VECTOR_BASE] = p.rxVectorBase;
  spads[Spad.CREDIT_VECTOR_BASE] = p.creditVectorBase;
  spads[Spad.IRQ_MODE] = p.irqMode;
  spads[Spad.GENERATION] = p.generation;
  spads[Spad.STATUS] = SpadStatus.READY;
}

export function readParams(spads: ArrayLike<number>): EopParams {
  return {
    version: spads[Spad.VERSION]!,
    hostIndex: spads[Spad.HOST_INDEX]!,
    mtu: spads[Spad.MTU]!,
    ringSlots: spads[Spad.RING_SLOTS]!,
    slotBytes: spads[Spad.SLOT_BYTES]!,
    rxBase: spads[Spad.RX_BASE_4K]! * 4096,
    creditBase: spads[Spad.CREDIT_BASE_4K]! * 4096,
    rxVectorBase: spads[Spad.RX_VECTOR_BASE]!,
    creditVectorBase: spads[Spad.CREDIT_VECTOR_BASE]!,
    irqMode: spads[Spad.IRQ_MODE]!,
    generation: spads[Spad.GENERATION]!,
  };
}

/**
 * Why two hosts cannot link, or null if they agree. Both sides run the same comparison, so they
 * reach the same verdict.
 */
export function mismatch(localName: string, local: ArrayLike<number>, peerName: string, peer: ArrayLike<number>): string | null {
  if (peer[Spad.MAGIC] !== EOP_MAGIC || peer[Spad.STATUS] !== SpadStatus.READY) return `${peerName} has not published EOP parameters`;
  const fields: [keyof typeof Spad, string][] = [
    ['VERSION', 'protocol version'],
    ['MTU', 'MTU'],
    ['RING_SLOTS', 'ring slots'],
    ['SLOT_BYTES', 'slot size'],
  ];
  for (const [k, what] of fields) {
    const a = local[Spad[k]];
    const b = peer[Spad[k]];
    if (a !== b) return `${what} mismatch: ${localName} has ${a}, ${peerName} has ${b}`;
  }
  return null;
}

export function setQpLink(spads: Uint32Array, peer: number, on: boolean): void {
  const i = Spad.QP_LINKS0 + (peer >>> 5);
  const bit = 1 << (peer & 31);
  spads[i] = on ? (spads[i]! | bit) >>> 0 : (spads[i]! & ~bit) >>> 0;
}

export function hasQpLink(spads: ArrayLike<number>, peer: number): boolean {
  return ((spads[Spad.QP_LINKS0 + (peer >>> 5)]! >>> (peer & 31)) & 1) === 1;
}
