/**
 * Stable error codes. Anything that comes from an edge (a frame, a config file, a CLI flag, a DMA
 * descriptor written by a driver) and is wrong gets one of these codes: as a thrown `EopError` where a
 * caller can report it, or as a counted drop where the emulation must carry on. Tests assert codes,
 * not messages. Broken internal invariants are plain `Error`s (bugs), never these.
 */
export const ErrorCode = {
  // wire formats
  FRAME_TOO_SHORT: 'ERR_FRAME_TOO_SHORT',
  FRAME_TOO_LONG: 'ERR_FRAME_TOO_LONG',
  BAD_LENGTH_FIELD: 'ERR_BAD_LENGTH_FIELD',
  BAD_VERSION: 'ERR_BAD_VERSION',
  BAD_CHECKSUM: 'ERR_BAD_CHECKSUM',
  UNSUPPORTED: 'ERR_UNSUPPORTED',
  // memory and address space
  ADDR_UNMAPPED: 'ERR_ADDR_UNMAPPED',
  ADDR_OUT_OF_RANGE: 'ERR_ADDR_OUT_OF_RANGE',
  // NTB
  NTB_OUT_OF_WINDOW: 'ERR_NTB_OUT_OF_WINDOW',
  NTB_LUT_DENIED: 'ERR_NTB_LUT_DENIED',
  NTB_LINK_DOWN: 'ERR_NTB_LINK_DOWN',
  NTB_BAD_REGISTER: 'ERR_NTB_BAD_REGISTER',
  // IOMMU
  IOMMU_BLOCKED: 'ERR_IOMMU_BLOCKED',
  // HRDMA
  DMA_BAD_DESCRIPTOR: 'ERR_DMA_BAD_DESCRIPTOR',
  DMA_RING_FULL: 'ERR_DMA_RING_FULL',
  // EOP driver
  EOP_RING_FULL: 'ERR_EOP_RING_FULL',
  EOP_TX_QUEUE_FULL: 'ERR_EOP_TX_QUEUE_FULL',
  EOP_LINK_DOWN: 'ERR_EOP_LINK_DOWN',
  EOP_BAD_SLOT: 'ERR_EOP_BAD_SLOT',
  EOP_SEQ_GAP: 'ERR_EOP_SEQ_GAP',
  EOP_NEGOTIATION: 'ERR_EOP_NEGOTIATION',
  EOP_NO_PEER: 'ERR_EOP_NO_PEER',
  // config / CLI
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'ERR_CONFIG_UNREADABLE',
  USAGE: 'ERR_USAGE',
  // captures
  CAPTURE_IO: 'ERR_CAPTURE_IO',
  // TAP devices (bridge/)
  TAP_OPEN: 'ERR_TAP_OPEN',
  TAP_IO: 'ERR_TAP_IO',
  TAP_ADDON_MISSING: 'ERR_TAP_ADDON_MISSING',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class EopError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EopError';
  }
}

/** Counts drops by stable code. One per component that can drop; printed by the CLI. */
export class DropCounters {
  private readonly counts = new Map<string, number>();
  total = 0;

  add(code: ErrorCode | string, n = 1): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + n);
    this.total += n;
  }

  get(code: ErrorCode | string): number {
    return this.counts.get(code) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries());
  }
}
