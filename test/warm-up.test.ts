import { describe, expect, it } from 'vitest';
import { warmUpFramePath } from '../bridge/warm-up.js';
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

  it('does nothing for a rack with one host', () => {
    const topo = parseTopologyText('name: one\nhosts: [{name: a, attach: tap}]\n', 'one.yaml');
    expect(warmUpFramePath(topo, 10, 100)).toEqual({ frames: 0, ms: 0 });
  });
});
