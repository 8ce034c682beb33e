/**
 * The port each host's endpoint attaches to. It starts as the host's EOP interface; each wrapper a
 * helper installs (captures now, fault injection later) wraps the current port and takes its
 * place, so installation order is wrapping order. The endpoint (built-in stack, TAP bridge) takes
 * the outermost port last, after which the host's port is sealed: a wrapper installed after the
 * endpoint would never see its frames, and that is a bug in the caller, not a run-time condition.
 *
 * Order, innermost first: EOP interface → capture (what the host sends and receives, as tcpdump on
 * the host would see it) → endpoint. Faults (`installFaults`) need no port wrapper: they wrap the
 * link, NTB, HRDMA and interrupt objects beneath the interface, where the faults really happen.
 */
import type { FramePort } from '../eop/frame-port.js';
import type { Rack } from './rack.js';

export class HostPorts {
  private readonly ports = new Map<string, FramePort>();
  private readonly taken = new Set<string>();

  constructor(rack: Rack) {
    for (const nic of rack.nics) this.ports.set(nic.host.name, nic);
  }

  /** Hosts with an EOP interface, in rack order. */
  hosts(): IterableIterator<string> {
    return this.ports.keys();
  }

  /** Replace the port of `host` with `wrap(current port)`; returns the new port. */
  wrap(host: string, wrap: (inner: FramePort) => FramePort): FramePort {
    const inner = this.current(host);
    if (this.taken.has(host)) throw new Error(`${host}: a port wrapper installed after the endpoint would not see its frames`);
    const outer = wrap(inner);
    this.ports.set(host, outer);
    return outer;
  }

  /** The outermost port of `host`, for its endpoint; no wrapper may be added after this. */
  take(host: string): FramePort {
    const p = this.current(host);
    this.taken.add(host);
    return p;
  }

  private current(host: string): FramePort {
    const p = this.ports.get(host);
    if (!p) throw new Error(`${host} has no EOP interface`);
    return p;
  }
}
