/**
 * Which driver a host's EOP interface runs (`eop.driver`): EOP's own (eop-nic.ts) or Linux's
 * ntb_transport + ntb_netdev as a modelled profile (ntb-netdev.ts). Both are an `EopNic` to the rest
 * of the emulator (reports, captures, ports, the bench).
 */
import type { Host } from '../host/host.js';
import { EopNic, type EopConfig, type PeerDirectory } from './eop-nic.js';
import { NtbNetdevNic } from './ntb-netdev.js';

export function makeNic(host: Host, cfg: EopConfig, mac: number, peers: PeerDirectory, hostSlots: number, ifName?: string): EopNic {
  if (cfg.driver === 'ntb-netdev') return new NtbNetdevNic(host, cfg, mac, peers, hostSlots, ifName);
  return new EopNic(host, cfg, mac, peers, hostSlots, ifName);
}
