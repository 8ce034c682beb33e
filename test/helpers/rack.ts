/**
 * Shared rack fixtures: a management host "mh" plus compute hosts h1…hn with the MACs the tests
 * use (02:e0:00:00:00:0n, as `MAC[n]` in raw-frame.ts), built, booted and settled.
 */
import { DEFAULT_EOP, type EopConfig } from '../../src/eop/eop-nic.js';
import { Rack, rackSpec, type HostSpec, type RackSpec } from '../../src/topology/rack.js';

/** MAC of compute host hN. */
export const hostMac = (n: number): number => 0x02e0_0000_0000 + n;

/** mh plus h1…hn; `perHost(n)` adds settings to host hN. */
export function rackHosts(n: number, perHost: (i: number) => Partial<HostSpec> = () => ({})): HostSpec[] {
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true }];
  for (let i = 1; i <= n; i++) hosts.push({ name: `h${i}`, mac: hostMac(i), ...perHost(i) });
  return hosts;
}

export interface RackOptions extends Partial<Omit<RackSpec, 'hosts' | 'eop'>> {
  eop?: Partial<EopConfig>;
  perHost?: (i: number) => Partial<HostSpec>;
  /**
   * Open every queue pair before the test (default true): tests of the steady state must not pay
   * the link setup that a queue pair's first frame pays. False: queue pairs open on first use.
   */
  openQueuePairs?: boolean;
}

/** A rack of `n` compute hosts, booted, with every control-path write landed (the fabric idle). */
export function bootedRack(n: number, opts: RackOptions = {}): Rack {
  const { eop, perHost, openQueuePairs = true, ...rest } = opts;
  const rack = new Rack(rackSpec(rackHosts(n, perHost), { ...rest, eop: { ...DEFAULT_EOP, ...eop } }));
  rack.boot();
  if (openQueuePairs) rack.openAllQueuePairs();
  rack.sched.run();
  return rack;
}
