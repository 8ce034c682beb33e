/**
 * `installStacks`: the built-in host stack on each given host, on the host's outermost port and
 * with the addresses of the rack file.
 */
import { HostStack } from '../stack/host-stack.js';
import type { NeighborCacheOptions } from '../stack/neighbor-cache.js';
import type { Rack } from './rack.js';
import type { HostConfig } from './types.js';
import type { HostPorts } from './host-ports.js';

/**
 * One HostStack per host of `hosts` (by name); each takes its host's port from `ports`. `neighbor`:
 * address-resolution timing (live mode answers real kernels, which need Linux-like patience).
 */
export function installStacks(rack: Rack, ports: HostPorts, hosts: Iterable<HostConfig>, neighbor?: NeighborCacheOptions): Map<string, HostStack> {
  const stacks = new Map<string, HostStack>();
  for (const h of hosts) {
    stacks.set(
      h.name,
      new HostStack({
        port: ports.take(h.name),
        sched: rack.sched,
        mac: h.mac.addr,
        ipv4: { addr: h.ipv4.addr, prefix: h.ipv4.prefix },
        ipv6: { bytes: h.ipv6.bytes, prefix: h.ipv6.prefix },
        log: rack.log,
        name: h.name,
        ...(neighbor ? { neighbor } : {}),
      }),
    );
  }
  return stacks;
}
