/**
 * What every generator shares: the recorder into which flows write deliveries and latencies; the
 * point's numbers are computed from it. (Their work runs on the hosts' cores: stack-cpu.ts.)
 */
import type { Bytes, Gbps, Ns } from '../time/units.js';

export interface Delivery {
  /** When the receiving application had the whole message. */
  t: Ns;
  /** When the message's first frame was handed to the sending interface (nothing of it was on a link before). */
  firstTx: Ns;
  bytes: Bytes;
  frames: number;
  flow: number;
}

export class Recorder {
  /** Complete messages delivered to a receiving application, in time order. */
  readonly deliveries: Delivery[] = [];
  /** Per message, send call to receiving application (ns). */
  readonly oneWay: Ns[] = [];
  /** Per segment (TCP) or round (ping-pong), send to acknowledgement or reply (ns). */
  readonly rtt: Ns[] = [];
  lost = 0;
  /** Per flow, the time of its last delivery. */
  lastByFlow: Ns[] = [];
}

/** Time for one core to copy `bytes` at `gbps`. */
export const copyNs = (bytes: Bytes, gbps: Gbps): Ns => (bytes * 8) / gbps;
