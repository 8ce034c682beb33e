/**
 * `installCaptures`: one capture file per EOP interface, as the rack file's `captures:` section
 * says, each written by a CapturePort wrapped around the host's port.
 */
import { join } from 'node:path';
import { CaptureSet } from '../capture/capture-set.js';
import { CapturePort } from '../capture/capture-port.js';
import type { Ns } from '../time/units.js';
import type { Rack } from './rack.js';
import type { Topology } from './types.js';
import type { HostPorts } from './host-ports.js';

export interface CaptureInstallOptions {
  /** Directory for the files (default: the file's `captures.dir`). */
  dir?: string;
  /**
   * A frame's timestamp, called per frame (default: the scheduler's virtual time). Live mode maps
   * virtual time onto the epoch here.
   */
  stampNs?: () => Ns;
  /** Added to each interface's description in the file, e.g. `live, wall-clock timestamps`. */
  note?: string;
  /** Write from a worker thread (live mode: a slow disk never blocks frames; see CaptureSet). */
  threaded?: boolean;
  /** Told once when an I/O error (a full disk) stops a capture. */
  onError?: (message: string) => void;
  /** Bytes kept of each frame (default: whole frames). */
  snaplenBytes?: number;
}

export interface InstalledCaptures {
  set: CaptureSet;
  /** The files opened, in rack order. */
  paths: string[];
}

/** Opens the files (throws EopError if one cannot be opened; the caller closes `set` on failure). */
export function installCaptures(topo: Topology, rack: Rack, ports: HostPorts, o: CaptureInstallOptions = {}): InstalledCaptures {
  const set = new CaptureSet({ ...(o.threaded ? { threaded: true } : {}), ...(o.onError ? { onError: o.onError } : {}) });
  const paths: string[] = [];
  const dir = o.dir ?? topo.captures.dir;
  const sched = rack.sched;
  const stampNs = o.stampNs ?? ((): Ns => sched.now);
  const where = o.note ? `${topo.name}, ${o.note}` : topo.name;
  try {
    for (const nic of rack.nics) {
      const path = join(dir, `${nic.name}.${topo.captures.format}`);
      const file = set.open({
        path,
        format: topo.captures.format,
        interfaceName: nic.name,
        description: `EOP interface of ${nic.host.name} (${where})`,
        maxFileBytes: Math.floor(topo.captures.maxFileMiB * 1024 * 1024),
        maxFiles: topo.captures.maxFiles,
        ...(o.snaplenBytes !== undefined ? { snaplenBytes: o.snaplenBytes } : {}),
      });
      paths.push(path);
      ports.wrap(nic.host.name, (inner) => new CapturePort(inner, file, stampNs));
    }
  } catch (e) {
    set.closeAll();
    throw e;
  }
  return { set, paths };
}
