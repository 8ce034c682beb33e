import { describe, expect, it } from 'vitest';
import { Rack, rackSpec } from '../src/topology/rack.js';
import { rawFrame } from './helpers/raw-frame.js';
import { rackHosts } from './helpers/rack.js';


describe('eop smoke', () => {
  it('moves frames between two hosts', () => {
    const rack = new Rack(rackSpec(rackHosts(2)));
    rack.boot();
    expect(rack.allLinksSettled()).toBe(true);
    const got: Uint8Array[] = [];
    rack.nic('h2').setReceiver((f) => got.push(f.slice()));
    const small = rawFrame(0xffffffffffff, 0x02e000000001, 100, 1);
    const big = rawFrame(0x02e000000002, 0x02e000000001, 1514, 2);
    expect(rack.nic('h1').transmit(small)).toBe(true);
    expect(rack.nic('h1').transmit(big)).toBe(true);
    rack.sched.run();
    expect(got.length).toBe(2);
    expect(got[0]).toEqual(small);
    expect(got[1]).toEqual(big);
    expect(rack.fabric.drops.toJSON()).toEqual({});
    expect(rack.nic('h1').drops.toJSON()).toEqual({});
  });
});
