/**
 * A capture wrapped around a FramePort, as smoltcp's PcapWriter wraps a device: whatever sits on
 * top (the built-in stack, a TAP bridge) uses this port, and every frame it hands down and
 * accepted by the interface is written `out`, every frame coming up is written `in`, stamped by
 * `stampNs` (the scheduler's time, or that time mapped onto the epoch in live mode).
 *
 * The wrapped port knows nothing of it: `installCaptures` (src/topology/install.ts) puts it there.
 * A frame the interface refuses is not written (it never reached the wire); the interface counts
 * why.
 * Receiving is captured from construction on, even before anything attaches on top, so a capture
 * shows every frame the interface delivered.
 */
import type { FramePort, FrameReceiver, TxMeta } from '../eop/frame-port.js';
import type { Ns } from '../time/units.js';
import type { CaptureDirection } from './capture-file.js';

/** Where captured frames go (a CaptureFile). */
export interface FrameRecorder {
  write(timeNs: Ns, frame: Uint8Array, direction?: CaptureDirection): void;
}

export class CapturePort implements FramePort {
  readonly name: string;
  readonly mac: number;
  readonly mtu: number;
  private receiver: FrameReceiver = () => {};

  constructor(
    readonly inner: FramePort,
    private readonly file: FrameRecorder,
    private readonly stampNs: () => Ns,
  ) {
    this.name = inner.name;
    this.mac = inner.mac;
    this.mtu = inner.mtu;
    inner.setReceiver(this.up);
  }

  transmit(frame: Uint8Array, meta?: TxMeta): boolean {
    if (!this.inner.transmit(frame, meta)) return false;
    this.file.write(this.stampNs(), frame, 'out');
    return true;
  }

  txSpace(dstMac: number): number {
    return this.inner.txSpace(dstMac);
  }

  anyPeerUp(): boolean {
    return this.inner.anyPeerUp();
  }

  onTxDrained(fn: () => void): void {
    this.inner.onTxDrained(fn);
  }

  setReceiver(fn: FrameReceiver): void {
    this.receiver = fn;
  }

  private readonly up = (frame: Uint8Array): void => {
    this.file.write(this.stampNs(), frame, 'in');
    this.receiver(frame);
  };
}
