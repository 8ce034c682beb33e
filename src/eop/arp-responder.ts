/**
 * The EOP interface's ARP responder (`eop.arpResponder`, off by default): an ARP request for an
 * address the rack's directory knows is answered by the sender's own EOP interface instead of being
 * flooded to every peer, and the owner's MAC is placed behind the owner's queue pair at once.
 *
 * Why: ARP requests are broadcasts, and EOP floods a broadcast as one copy per peer. A rack of n
 * hosts in which every host resolves every other (`ping-all`) therefore moves n·(n−1)² frames
 * before the first ping leaves: 16.6 million for 256 hosts, against 130 thousand pings. Large L2
 * overlays meet the same storm and answer it the same way: OpenStack Neutron's ARP responder
 * (l2population), EVPN ARP suppression, Linux bridge's `neigh_suppress`. The directory plays the
 * management host's part: it knows which host owns which address because the rack file says so.
 *
 * Off by default because it answers from the rack file, not from the host: a namespace whose address
 * was changed by hand behind EOP's back would be answered wrongly. Requests it does not answer
 * (unknown address, a probe from 0.0.0.0, a gratuitous ARP, an owner whose queue pair is down) are
 * flooded as usual, so the owner can still answer or defend its address.
 */
import { ARP_FRAME_LEN, ArpOp, ArpView, buildArp } from '../wire/arp.js';
import { ETH_HEADER_LEN, EtherType } from '../wire/ethernet.js';
import { readMac } from '../wire/mac.js';

export interface ArpOwner {
  mac: number;
  /** The owner's host index (its queue pair on every other interface). */
  hostIndex: number;
}

/** The rack's IPv4 addresses and their owners, shared by every interface of the rack. */
export class ArpDirectory {
  private readonly byIp = new Map<number, ArpOwner>();

  add(ipv4: number, mac: number, hostIndex: number): void {
    this.byIp.set(ipv4 >>> 0, { mac, hostIndex });
  }

  lookup(ipv4: number): ArpOwner | undefined {
    return this.byIp.get(ipv4 >>> 0);
  }

  get size(): number {
    return this.byIp.size;
  }
}

/** A reply built for a request, and whose it is. */
export interface ArpAnswer {
  reply: Uint8Array;
  owner: ArpOwner;
}

/**
 * The reply to `frame` when it is an Ethernet/IPv4 ARP request for an address `dir` knows, asked by
 * someone else than its owner; else null (the frame is flooded as usual). Never throws: anything
 * that is not a well-formed request is simply not answered.
 */
export function answerArp(frame: Uint8Array, dir: ArpDirectory): ArpAnswer | null {
  if (frame.length < ARP_FRAME_LEN) return null;
  if (((frame[12]! << 8) | frame[13]!) !== EtherType.ARP) return null;
  const a = new ArpView(frame.subarray(ETH_HEADER_LEN));
  if (a.htype() !== 1 || a.ptype() !== EtherType.IPv4 || frame[ETH_HEADER_LEN + 4] !== 6 || frame[ETH_HEADER_LEN + 5] !== 4) return null;
  if (a.op() !== ArpOp.Request) return null;
  const senderIp = a.senderIp();
  const targetIp = a.targetIp();
  // A probe (duplicate address detection) or a gratuitous ARP must reach the owner.
  if (senderIp === 0 || senderIp === targetIp) return null;
  const owner = dir.lookup(targetIp);
  const asker = a.senderMac();
  if (!owner || owner.mac === asker || owner.mac === readMac(frame, 6)) return null;
  const reply = new Uint8Array(ARP_FRAME_LEN);
  buildArp(reply, { dstMac: asker, op: ArpOp.Reply, senderMac: owner.mac, senderIp: targetIp, targetMac: asker, targetIp: senderIp });
  return { reply, owner };
}
