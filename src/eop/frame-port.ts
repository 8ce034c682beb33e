/**
 * The boundary between an EOP interface and whatever sits on top of it: the built-in host stack, a
 * TAP bridge or a WebSocket bridge. Frames are whole Ethernet frames (no FCS), carried unmodified.
 */
export type FrameReceiver = (frame: Uint8Array) => void;

export interface TxMeta {
  /**
   * Where the frame starts in the sender's memory relative to a 64-byte line (0 = aligned). Models
   * the alignment of a packet buffer; HRDMA is much slower on unaligned transfers (Marlin).
   */
  alignOffset?: number;
}

export interface FramePort {
  /** Interface name, e.g. `h1-eop0`. */
  readonly name: string;
  /** The interface's MAC address as a 48-bit integer (see wire/mac.ts). */
  readonly mac: number;
  /** IP MTU; the largest frame is mtu + 14 (+4 with an 802.1Q tag). */
  readonly mtu: number;
  /**
   * Hand a frame to the interface. The interface copies what it needs before returning, so the
   * caller may reuse `frame` at once. Returns false if the frame was dropped (the drop is counted by
   * the interface with a reason).
   */
  transmit(frame: Uint8Array, meta?: TxMeta): boolean;
  /** Frames the interface can queue now for `dstMac` without dropping. */
  txSpace(dstMac: number): number;
  /** True while at least one peer link is up: with none, `txSpace` is 0 but waiting is pointless. */
  anyPeerUp(): boolean;
  /**
   * Call `fn` once, after the interface's transmit queues have drained to half or less: how a
   * sender that offers frames as fast as they are taken waits without polling.
   */
  onTxDrained(fn: () => void): void;
  /**
   * Set who receives the frames the interface delivers. The view is valid only during the call
   * (it points into emulated host memory); copy it to keep it.
   */
  setReceiver(fn: FrameReceiver): void;
}
