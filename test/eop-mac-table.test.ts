import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EOP } from '../src/eop/eop-nic.js';
import { writeMac } from '../src/wire/mac.js';
import { Rack, rackSpec, type HostSpec } from '../src/topology/rack.js';
import { BCAST, MAC, rawFrame } from './helpers/raw-frame.js';

function threeHosts(): Rack {
  const hosts: HostSpec[] = [{ name: 'mh', mac: 0, management: true }];
  for (let i = 1; i <= 3; i++) hosts.push({ name: `h${i}`, mac: MAC[i]! });
  const rack = new Rack(rackSpec(hosts, { eop: DEFAULT_EOP }));
  rack.boot();
  rack.sched.run();
  return rack;
}

/** Deterministic unicast MACs (xorshift), not one of the rack's. */
function* randomMacs(n: number): Generator<number> {
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const hi = (x >>> 16) & 0xfefe; // I/G bit of the first octet clear: unicast
    yield hi * 2 ** 32 + ((x * 2654435761) >>> 0);
  }
}

describe('EOP MAC table bound', () => {
  it('200,000 random source MACs keep the table at its limit, evicting (and counting) the oldest', () => {
    const rack = threeHosts();
    const [h1, h2, h3] = [rack.nic('h1'), rack.nic('h2'), rack.nic('h3')];
    const limit = DEFAULT_EOP.macTableEntries;
    h1.transmit(rawFrame(BCAST, MAC[1]!, 60)); // h2 learns h1 first: the oldest entry
    rack.sched.run();
    expect(h2.macTable.get(MAC[1]!)?.peer).toBe(1);
    const seen = new Set<number>([MAC[1]!]);
    const f = rawFrame(BCAST, 0, 60);
    let sent = 0;
    let refused = 0;
    for (const src of randomMacs(200_000)) {
      writeMac(f, 6, src);
      if (!h1.transmit(f)) refused++;
      seen.add(src);
      if (++sent % 128 === 0) rack.sched.run(); // within the 256-frame transmit queue
    }
    rack.sched.run();
    expect(refused).toBe(0);
    expect(h2.c.rxFrames).toBe(200_001);
    expect(h2.macTable.size).toBe(limit);
    expect(h2.c.macEvictions).toBe(seen.size - limit);
    expect(h3.macTable.size).toBe(limit);
    // h1's own MAC was evicted: h2's frames to it flood (h3 sees one) until h1 speaks again.
    expect(h2.macTable.has(MAC[1]!)).toBe(false);
    const h3Before = h3.c.rxFrames;
    h2.transmit(rawFrame(MAC[1]!, MAC[2]!, 60));
    rack.sched.run();
    expect(h3.c.rxFrames).toBe(h3Before + 1);
    h1.transmit(rawFrame(MAC[2]!, MAC[1]!, 60)); // unicast to h2: h2 relearns h1
    rack.sched.run();
    expect(h2.macTable.get(MAC[1]!)?.peer).toBe(1);
    expect(h2.macTable.size).toBe(limit);
    h2.transmit(rawFrame(MAC[1]!, MAC[2]!, 60));
    rack.sched.run();
    expect(h3.c.rxFrames).toBe(h3Before + 1); // unicast now: h3 sees nothing more
  });

  it("the README states the driver's bound and where evictions are counted", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(`at most ${DEFAULT_EOP.macTableEntries.toLocaleString('en-US')} source MACs`);
    expect(readme).toContain('`macEvictions`');
  });
});
