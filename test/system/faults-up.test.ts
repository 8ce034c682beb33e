/**
 * SYSTEM test: a `faults:` schedule in `eop up`. h2's NTB link goes down 1 s after the rack is live
 * and comes back 1.5 s later, while the real ping in h1's namespace sends a request every 100 ms:
 * the requests sent during the outage are lost (about 15; wall-clock scheduling makes the edges
 * fuzzy by one or two), those before and after are answered, the fault, its end and the recovery
 * are logged, and the captures carry them as frame comments.
 * Needs root, /dev/net/tun, the TAP addon, ping and tshark: run inside /work/isolated.sh.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool } from './require-tool.js';
import { eopDown, eopLeftovers, inNsAsync, liveReady, startUp, stopUp } from './live-helpers.js';

describe.skipIf(!(liveReady() && requireTool('tshark')))('faults in eop up (system)', () => {
  it('link-down/link-up of h2 loses the pings of the outage only, logged and marked in the captures', async () => {
    if (eopLeftovers().length > 0) eopDown();
    const dir = mkdtempSync(join(tmpdir(), 'eop-faults-up-'));
    const rack = join(dir, 'rack.yaml');
    writeFileSync(
      rack,
      [
        'name: faulty',
        'hosts: [{name: h1, attach: tap}, {name: h2, attach: tap}]',
        'faults:',
        '  - {atUs: 1000000, kind: link-down, host: h2}',
        '  - {atUs: 2500000, kind: link-up, host: h2}',
      ].join('\n'),
    );
    const up = await startUp([rack, '--capture-dir', join(dir, 'cap')]);
    try {
      // 40 requests, one per 100 ms, from the moment the rack is live (bounded: 40 × 100 ms + 1 s for the last reply).
      const ping = await inNsAsync('eop-h1', ['ping', '-n', '-c', '40', '-i', '0.1', '-W', '1', '10.11.0.2'], 20_000);
      const m = /(\d+) packets transmitted, (\d+) received/.exec(ping.stdout);
      expect(m, ping.stdout + ping.stderr).not.toBeNull();
      const lost = Number(m![1]) - Number(m![2]);
      expect(Number(m![1])).toBe(40);
      expect(lost).toBeGreaterThanOrEqual(12);
      expect(lost).toBeLessThanOrEqual(18);
      const err = up.stderr();
      expect(err).toMatch(/fault link-down h2 \(faults\[0\]\)/);
      expect(err).toMatch(/fault link-up h2 \(faults\[1\]\)/);
      expect(err).toMatch(/recovery link-down h2 \(faults\[1\]\): links to 1 peers up again/);
    } finally {
      await stopUp(up);
    }
    try {
      const c = spawnSync('tshark', ['-r', join(dir, 'cap', 'eop-h1.pcapng'), '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
      expect(c.status, c.stderr).toBe(0);
      expect(c.stdout.match(/eop (fault|recovery) [a-z-]+ h2/g)).toEqual(['eop fault link-down h2', 'eop fault link-up h2', 'eop recovery link-down h2']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
