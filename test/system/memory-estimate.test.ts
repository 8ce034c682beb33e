/**
 * SYSTEM test: the rack file's memory estimate (src/topology/limits.ts, issue 8's bounded
 * resources) against what real runs take. Each rack runs in a child process of its own (the
 * built `benchmarks/engine.js --rack N`, as `npm run bench:engine` runs it), which reports its peak
 * RSS less the RSS it had before building the rack, the queue pairs its traffic opened and the
 * estimate for its file.
 *
 * The stated factor: for racks of 32 hosts and more, measured × 0.8 ≤ estimate ≤ measured × 2 (an
 * estimate that checks a limit should not be below reality, nor so far above it that it refuses
 * racks that fit). Smaller racks are estimated higher than that (the process's own part, 16 MiB,
 * dominates) and cost little either way.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RackFigure } from '../../benchmarks/engine.js';

const ENGINE = join(__dirname, '..', '..', 'dist', 'benchmarks', 'engine.js');


function measure(hosts: number, arp: boolean): RackFigure {
  if (!existsSync(ENGINE)) throw new Error(`${ENGINE} is missing: run "npm run build" (npm test does it first)`);
  const r = spawnSync(process.execPath, [ENGINE, '--rack', String(hosts), ...(arp ? ['--arp'] : [])], { encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`engine --rack ${hosts} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as RackFigure;
}

describe('memory estimate against real runs (system)', () => {
  for (const [hosts, arp] of [
    [32, false],
    [32, true],
    [64, true],
    [64, false],
  ] as const) {
    it(`${hosts} hosts, every host pings every other, ARP ${arp ? 'answered by the responder' : 'flooded'}: estimate within 0.8–2× of the peak`, () => {
      const f = measure(hosts, arp);
      expect(f.ok).toBe(f.pings);
      // Every pair exchanged frames: every queue pair was opened, and the estimate counted them all.
      expect(f.queuePairs).toBe(hosts * (hosts - 1));
      const measured = f.maxRssMiB - f.baseRssMiB;
      expect(f.estimateMiB, `measured ${measured.toFixed(1)} MiB`).toBeGreaterThanOrEqual(0.8 * measured);
      expect(f.estimateMiB, `measured ${measured.toFixed(1)} MiB`).toBeLessThanOrEqual(2 * measured);
    }, 300_000);
  }
});
