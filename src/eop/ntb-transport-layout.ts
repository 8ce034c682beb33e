/**
 * Linux ntb_transport's layout of a memory window, and ntb_netdev's constants: what the
 * `ntb-netdev` driver profile (ntb-netdev.ts) lays out in host memory and waits on. Everything here
 * is read from the kernel source, drivers/ntb/ntb_transport.c and drivers/net/ntb_netdev.c
 * (torvalds/linux; ntb_netdev 0.7):
 *
 * - One window per queue pair by default: probe sets qp_count = min(ilog2(db_valid_mask), mw_count)
 *   (unless `max_num_clients` says fewer), QP_TO_MW(qp) = qp % mw_count, so queue pair 0 (ntb_netdev
 *   creates one, NTB_NETDEV_DEFAULT_QUEUES 1) has window 0 to itself (`qpsPerWindow` 1).
 * - ntb_transport_setup_qp_mw / init_queue: the qp's share of the window, rx_size = window /
 *   num_qps_mw, less sizeof(struct ntb_rx_info) (4 B: the `entry` index the peer writes back, at the
 *   end of the share); rx_max_frame = min(transport_mtu, rx_size / 2) ("there must be at least 2
 *   buffs"); rx_max_entry = rx_size / rx_max_frame. transport_mtu defaults to 0x10000.
 * - Entry i is at i × max_frame; its `struct ntb_payload_header { ver, len, flags }` (12 B) sits at
 *   the END of the entry (max_frame − 12), written after the payload: len and ver first, DONE in
 *   `flags` last (after a wmb), then the peer's doorbell bit qp_num.
 * - The peer's `entry` index starts at rx_max_entry − 1; free entries =
 *   tail > head ? tail − head : max_entry + tail − head (ntb_transport_tx_free_entry), so at most
 *   max_entry − 1 frames are in flight.
 * - ntb_transport_max_size = max_frame − 12 (rounded down to the DMA engine's copy_align; 0 here);
 *   ntb_netdev's MTU = that − ETH_HLEN: 65,510 with the default transport_mtu.
 * - ntb_netdev: NTB_RXQ_SIZE 100 receive buffers posted; tx_stop 5 (stop the queue with fewer free
 *   entries), tx_start 10 (the transmit-completion handler wakes it with this many free), tx_time
 *   1 µs (the restart timer: mod_timer(jiffies + usecs_to_jiffies(1)), i.e. one tick).
 * - ntb_transport: copy_bytes 1024 (below it the CPU copies even with DMA), use_dma off by default,
 *   NTB_QP_DEF_NUM_ENTRIES 100 receive entries.
 *
 * Not from the kernel source (the hardware's and the distribution's, so defaults with their own
 * source): the window size (1 MiB, "very small NTB memory windows of only 1MB, which means only 15
 * packets queued", TrueNAS F-series, truenas/linux PR 313) and the tick (HZ 250, Debian's
 * CONFIG_HZ_250; the same PR: a stopped queue "may resume only 4-8ms (1-2 jiffies) later" — the
 * timer wheel rounds an expiry of one tick up to the tick after next).
 */
import type { Bytes, Ns } from '../time/units.js';

export const TRANSPORT_MTU: Bytes = 0x10000;
/** struct ntb_payload_header: three u32s. */
export const PAYLOAD_HEADER_BYTES: Bytes = 12;
export const PayloadHdr = { VER: 0, LEN: 4, FLAGS: 8 } as const;
export const NtbFlag = { DESC_DONE: 1, LINK_DOWN: 2 } as const;
/** struct ntb_rx_info: the receiver's last consumed entry, in the sender's window share. */
export const RX_INFO_BYTES: Bytes = 4;
export const ETH_HLEN: Bytes = 14;
/** ntb_netdev: receive buffers (skbs of MTU + ETH_HLEN) posted at open and re-posted per frame. */
export const NTB_RXQ_SIZE = 100;
/** ntb_netdev module parameters. */
export const TX_STOP = 5;
export const TX_START = 10;
export const TX_TIME_US = 1;
/** The doorbell bit of queue pair 0 (ntb_transport rings BIT(qp_num)). */
export const QP0_DB_BIT = 1;

export const NTB_DEFAULT_WINDOW_BYTES: Bytes = 1 << 20;
export const NTB_DEFAULT_USE_DMA = false;
export const NTB_DEFAULT_HZ = 250;
/** Window sizes a rack may ask for: powers of two (BAR sizes), 8 KiB to 1 GiB. */
export const NTB_MIN_WINDOW_BYTES: Bytes = 1 << 13;
export const NTB_MAX_WINDOW_BYTES: Bytes = 1 << 30;

export interface QpGeometry {
  /** The queue pair's share of the window, less the rx_info word. */
  rxBytes: Bytes;
  /** rx_max_frame / tx_max_frame: one entry, payload and header. */
  maxFrameBytes: Bytes;
  /** rx_max_entry / tx_max_entry. */
  entries: number;
  /** Where the peer's rx_info word sits in the share. */
  rxInfoOffset: Bytes;
  /** The largest Ethernet frame an entry carries (ntb_transport_max_size). */
  maxPayloadBytes: Bytes;
  /** ntb_netdev's MTU: maxPayloadBytes − ETH_HLEN. */
  maxMtu: number;
}

/** The geometry of queue pair 0 in a window of `windowBytes` shared by `qpsPerWindow` queue pairs. */
export function qpGeometry(windowBytes: Bytes, qpsPerWindow = 1, transportMtu: Bytes = TRANSPORT_MTU): QpGeometry {
  const share = Math.floor(windowBytes / qpsPerWindow);
  const rxBytes = share - RX_INFO_BYTES;
  const maxFrameBytes = Math.min(transportMtu, Math.floor(rxBytes / 2));
  const entries = Math.floor(rxBytes / maxFrameBytes);
  const maxPayloadBytes = maxFrameBytes - PAYLOAD_HEADER_BYTES;
  return { rxBytes, maxFrameBytes, entries, rxInfoOffset: rxBytes, maxPayloadBytes, maxMtu: maxPayloadBytes - ETH_HLEN };
}

/** ntb_transport_tx_free_entry: entries the sender may still fill, from its index and the peer's. */
export function txFreeEntries(head: number, tail: number, entries: number): number {
  return tail > head ? tail - head : entries + tail - head;
}

/**
 * When ntb_netdev's restart timer fires if armed at `nowNs`: mod_timer(jiffies + 1) on a tick of
 * 1/hz; the timer wheel never fires early, so it runs on the tick after the next one (1 to 2 ticks
 * from now: 4–8 ms at HZ 250).
 */
export function txTimerFiresAt(nowNs: Ns, hz: number): Ns {
  const tickNs = 1e9 / hz;
  const ticks = Math.max(1, Math.ceil((TX_TIME_US * 1000) / tickNs)); // usecs_to_jiffies rounds up
  return (Math.floor(nowNs / tickNs) + 1 + ticks) * tickNs;
}
