/**
 * An in-process stand-in for an EOP interface (a `FramePort`), for the unit tests of what sits on
 * one (TAP bridge, WebSocket port): records what it is given, offers `space` frames of room (one
 * less per frame taken), and lets the test deliver frames (`receiver`) and drain (`drained`).
 */
import type { FramePort, FrameReceiver } from '../../src/eop/frame-port.js';

export class FakePort implements FramePort {
  readonly name = 'eop-f';
  readonly mac = 0x02e000000001;
  readonly mtu = 1500;
  space = 100;
  sent: Uint8Array[] = [];
  receiver: FrameReceiver = () => {};
  drained: (() => void)[] = [];
  transmit(frame: Uint8Array): boolean {
    if (frame.length < 14 || frame.length > this.mtu + 18) throw new Error('a bad frame was passed to the interface');
    this.sent.push(new Uint8Array(frame));
    this.space--;
    return true;
  }
  txSpace(): number {
    return this.space;
  }
  anyPeerUp(): boolean {
    return true;
  }
  onTxDrained(fn: () => void): void {
    this.drained.push(fn);
  }
  setReceiver(fn: FrameReceiver): void {
    this.receiver = fn;
  }
}
