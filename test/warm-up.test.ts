import { describe, expect, it } from 'vitest';
import { WARM_UP_FRAMES, warmUpFramePath } from '../bridge/warm-up.js';
import { parseTopologyText } from '../src/topology/load.js';

const TWO = 'name: w\nhosts: [{name: a, attach: tap}, {name: b, attach: tap}, {name: c}]\ncaptures: {enabled: false}\n';

describe('JIT warm-up of the live frame path', () => {
  it('carries every frame across a throwaway copy of the first two hosts, with or without a vnet header', () => {
    const topo = parseTopologyText(TWO, 'w.yaml');
    for (const vh of [0, 10, 12]) {
      const r = warmUpFramePath(topo, vh, 300);
      expect(r.frames).toBe(300);
      expect(r.ms).toBeGreaterThan(0);
    }
  });

  it('runs the UDP GSO merge path: with a vnet header every UDP datagram reaches the far stand-in TAP inside a GSO_UDP_L4 write', () => {
    const topo = parseTopologyText(TWO, 'w.yaml');
    for (const vh of [10, 12]) {
      const r = warmUpFramePath(topo, vh, WARM_UP_FRAMES);
      expect(r.frames).toBe(WARM_UP_FRAMES);
      // A sixth of the frames are UDP, in bursts of 8 datagrams, each burst merged into one write
      // (the checksums the bridge finished on the way in verified, or nothing would have merged).
      expect(r.udpDatagrams).toBe(800);
      expect(r.udpGsoWrites).toBe(100);
      expect(r.udpGsoDatagrams).toBe(r.udpDatagrams);
    }
  });

  it('counts no GSO write without a vnet header (the datagrams are written one by one), and a burst cut short by the frame budget still merges', () => {
    const topo = parseTopologyText(TWO, 'w.yaml');
    const plain = warmUpFramePath(topo, 0, WARM_UP_FRAMES);
    expect(plain.udpDatagrams).toBe(800);
    expect(plain.udpGsoWrites).toBe(0);
    expect(plain.udpGsoDatagrams).toBe(0);
    // 40 single frames, then 3 of the first burst's 8 datagrams.
    const cut = warmUpFramePath(topo, 10, 43);
    expect(cut).toMatchObject({ frames: 43, udpDatagrams: 3, udpGsoWrites: 1, udpGsoDatagrams: 3 });
  });

  it('merges the datagrams of a small MTU (shorter ones) and of a jumbo MTU alike', () => {
    for (const mtu of [300, 9000]) {
      const topo = parseTopologyText(`name: m\nmtu: ${mtu}\nhosts: [{name: a, attach: tap}, {name: b, attach: tap}]\ncaptures: {enabled: false}\n`, 'm.yaml');
      const r = warmUpFramePath(topo, 12, 480);
      expect(r).toMatchObject({ frames: 480, udpDatagrams: 80, udpGsoWrites: 10, udpGsoDatagrams: 80 });
    }
  });

  it('does nothing for a rack with one host', () => {
    const topo = parseTopologyText('name: one\nhosts: [{name: a, attach: tap}]\n', 'one.yaml');
    expect(warmUpFramePath(topo, 10, 100)).toEqual({ frames: 0, ms: 0, udpDatagrams: 0, udpGsoWrites: 0, udpGsoDatagrams: 0 });
  });
});
