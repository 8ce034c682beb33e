/**
 * SYSTEM test of the live rack's answer pick-up (LiveRack over real TAPs in namespaces
 * eoptest-ph1/ph2): a frame written into a namespace is usually answered by its kernel before the
 * write returns (ICMP echo), and the rack reads that answer from the TAP at once, carrying it
 * through the fabric in the same turn of the event loop instead of a wake-up later. Every ping must
 * be answered, the answers picked up must be counted as read from the TAP like any other, and most
 * echo replies must have come that way (a loaded kernel may defer one to ksoftirqd: then the
 * ordinary wake-up reads it, which is also checked: nothing is lost or read twice).
 *
 * Needs root, /dev/net/tun, ip, ping and the built addon (skips with a reason, fails with CI=true).
 * Run inside /work/isolated.sh on a shared machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { netnsExecAsync, removeQuietly } from '../../bridge/netns.js';
import { LiveRack } from '../../bridge/live-rack.js';
import { parseTopologyText } from '../../src/topology/load.js';
import { liveReady, pingReplies, twoTapNamespaces, twoTapRack } from './live-helpers.js';

const ready = liveReady();
const PREFIX = 'eoptest-p';
const TOPO = twoTapRack('pickup');

describe.skipIf(!ready)('live rack: answers read at once after the write that caused them', () => {
  let live: LiveRack | null = null;

  afterAll(() => {
    live?.stop();
    removeQuietly(twoTapNamespaces(PREFIX));
  });

  it('20 pings are all answered; the replies were mostly picked up right after the request was written', async () => {
    removeQuietly(twoTapNamespaces(PREFIX));
    live = new LiveRack(parseTopologyText(TOPO, 'pickup.yaml'), { nsPrefix: PREFIX, captures: false });
    live.start();
    const h2ip = live.topo.hosts[1]!.ipv4.text;
    // Address resolution first (its own request and reply), then the counted pings.
    const warm = await netnsExecAsync(`${PREFIX}h1`, ['ping', '-c', '2', '-i', '0.05', '-w', '10', h2ip], 20_000);
    expect(pingReplies(warm.stdout), 'replies').toBeGreaterThanOrEqual(2);
    const [b1, b2] = live.tapHosts.map((t) => t.bridge);
    const before = { picked: b2!.c.pickedUp, in2: b2!.c.tapInFrames, rx1: live.rack.nic('h1').c.rxFrames };
    const r = await netnsExecAsync(`${PREFIX}h1`, ['ping', '-c', '20', '-i', '0.02', '-w', '30', h2ip], 40_000);
    expect(pingReplies(r.stdout), 'replies').toBeGreaterThanOrEqual(20);
    const picked = b2!.c.pickedUp - before.picked;
    // Every reply entered the fabric once (picked up or read by a wake-up) and reached h1.
    expect(b2!.c.tapInFrames - before.in2).toBeGreaterThanOrEqual(20);
    expect(live.rack.nic('h1').c.rxFrames - before.rx1).toBeGreaterThanOrEqual(20);
    expect(picked).toBeGreaterThanOrEqual(10);
    expect(picked).toBeLessThanOrEqual(b2!.c.tapInFrames - before.in2);
    // h1's own writes are answered by nobody (ping is a socket, not a TAP): nothing to pick up there
    // except the namespace's own chatter.
    expect(b1!.c.pickedUp).toBeLessThan(10);
    expect(Object.keys(b1!.drops.toJSON()).length + Object.keys(b2!.drops.toJSON()).length).toBe(0);
    live.stop();
    live = null;
  });
});
