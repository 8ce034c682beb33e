/**
 * The EOP interface's ARP responder (`eop.arpResponder`, src/eop/arp-responder.ts): requests for the
 * rack's own addresses are answered by the asker's interface instead of being flooded, which turns
 * the n³ broadcast copies of an all-pairs rack into none; everything else is flooded as before.
 */
import { describe, expect, it } from 'vitest';
import { answerArp, ArpDirectory } from '../src/eop/arp-responder.js';
import { buildReport } from '../src/run/report.js';
import { runTopology } from '../src/run/run-rack.js';
import { parseTopology } from '../src/topology/load.js';
import { ArpOp, ArpRepr, ArpView, buildArp } from '../src/wire/arp.js';
import { BROADCAST_MAC } from '../src/wire/mac.js';
import { bootedRack, hostMac } from './helpers/rack.js';

const A_MAC = 0x02e000000001;
const B_MAC = 0x02e000000002;
const A_IP = 0x0a0b0001;
const B_IP = 0x0a0b0002;

function request(senderMac: number, senderIp: number, targetIp: number): Uint8Array {
  const f = new Uint8Array(60);
  buildArp(f, { dstMac: BROADCAST_MAC, op: ArpOp.Request, senderMac, senderIp, targetMac: 0, targetIp });
  return f;
}

describe('answerArp', () => {
  const dir = new ArpDirectory();
  dir.add(A_IP, A_MAC, 1);
  dir.add(B_IP, B_MAC, 2);

  it('answers a request for a known address with the owner as sender, addressed to the asker', () => {
    const a = answerArp(request(A_MAC, A_IP, B_IP), dir)!;
    expect(a.owner).toEqual({ mac: B_MAC, hostIndex: 2 });
    expect(a.reply.length).toBe(42);
    expect(a.reply.subarray(0, 12)).toEqual(Uint8Array.of(2, 0xe0, 0, 0, 0, 1, 2, 0xe0, 0, 0, 0, 2));
    expect(ArpRepr.parse(ArpView.checked(a.reply.subarray(14)))).toEqual({ op: ArpOp.Reply, senderMac: B_MAC, senderIp: B_IP, targetMac: A_MAC, targetIp: A_IP });
  });

  it('leaves to flooding what the owner must see or the directory does not know', () => {
    expect(answerArp(request(A_MAC, A_IP, 0x0a0b0063), dir)).toBeNull(); // unknown address
    expect(answerArp(request(A_MAC, 0, B_IP), dir)).toBeNull(); // a probe (duplicate address detection)
    expect(answerArp(request(B_MAC, B_IP, B_IP), dir)).toBeNull(); // gratuitous ARP
    expect(answerArp(request(B_MAC, 0x0a0b0009, B_IP), dir)).toBeNull(); // the owner asking about itself
    const reply = request(A_MAC, A_IP, B_IP);
    reply[21] = ArpOp.Reply;
    expect(answerArp(reply, dir)).toBeNull();
    const ipv6Arp = request(A_MAC, A_IP, B_IP);
    ipv6Arp[16] = 0x86; // ptype not IPv4
    expect(answerArp(ipv6Arp, dir)).toBeNull();
    expect(answerArp(request(A_MAC, A_IP, B_IP).subarray(0, 41), dir)).toBeNull(); // truncated
    const notArp = request(A_MAC, A_IP, B_IP);
    notArp[13] = 0x00; // EtherType 0x0800
    expect(answerArp(notArp, dir)).toBeNull();
  });
});

describe('eop.arpResponder in a rack', () => {
  const allPairs = (arpResponder: boolean) =>
    runTopology(
      parseTopology(
        {
          name: 'arp',
          hosts: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'],
          captures: { enabled: false },
          eop: { arpResponder },
          traffic: [{ kind: 'ping-all', count: 2, intervalUs: 50 }],
        },
        '<test>',
      ),
    );

  it('every host pings every other: same pings answered, no ARP flooded (n² frames instead of n³)', () => {
    const on = allPairs(true);
    const off = allPairs(false);
    for (const r of [on, off]) {
      expect(r.pings).toHaveLength(30);
      for (const p of r.pings) expect(p.pinger.result).toMatchObject({ sent: 2, received: 2, lost: 0 });
    }
    const sum = (r: typeof on, f: (i: ReturnType<typeof buildReport>['interfaces'][number]) => number): number =>
      buildReport(r).interfaces.reduce((a, i) => a + f(i), 0);
    // Without it: each host floods one request per other host (ARP answers teach the asked one too,
    // so some requests are never needed), each seen and ignored by the four others.
    expect(sum(off, (i) => i.floods)).toBeGreaterThan(0);
    expect(sum(off, (i) => i.stackIgnored['arp-other-target'] ?? 0)).toBe(4 * sum(off, (i) => i.floods));
    // With it: nothing flooded, nothing ignored, every resolution answered locally.
    expect(sum(on, (i) => i.floods)).toBe(0);
    expect(sum(on, (i) => i.stackIgnored['arp-other-target'] ?? 0)).toBe(0);
    expect(on.rack.nics.reduce((a, n) => a + n.c.arpAnswered, 0)).toBe(30);
    expect(off.rack.nics.reduce((a, n) => a + n.c.arpAnswered, 0)).toBe(0);
    expect(sum(on, (i) => i.txFrames)).toBeLessThan(sum(off, (i) => i.txFrames));
  });

  it('a request for a host whose queue pair is down is flooded as usual (the responder never answers for the unreachable)', () => {
    const rack = bootedRack(3, { eop: { arpResponder: true }, perHost: (i) => ({ ipv4: 0x0a0b0000 + i }) });
    const h1 = rack.nic('h1');
    const got: Uint8Array[] = [];
    h1.setReceiver((f) => got.push(f.slice()));
    expect(h1.transmit(request(hostMac(1), A_IP, 0x0a0b0003))).toBe(true); // h3: up, answered here
    rack.sched.run();
    expect([h1.c.arpAnswered, h1.c.floods, got.length]).toEqual([1, 0, 1]);
    h1.onPeerLink(rack.host('h2').index, false); // h2's link went down
    expect(h1.transmit(request(hostMac(1), A_IP, B_IP))).toBe(true);
    rack.sched.run();
    expect([h1.c.arpAnswered, h1.c.floods, got.length]).toEqual([1, 1, 1]);
  });
});
