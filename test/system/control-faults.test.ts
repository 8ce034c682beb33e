/**
 * SYSTEM test of faults on a running rack (`eop fault` → eop up's control socket) and of
 * management-host failover live: a rack with a master (mh) and a backup (mhb) management host and
 * three TAP hosts in namespaces. During a real `ping -i 0.01` flood between two of them, the master
 * fails (`eop fault mh-fail mh`): not one ping is lost, and eop up logs the backup's takeover with
 * its time. A bad target is refused (exit 2, a sentence); a link-down is logged and marked in the
 * captures (tshark reads the comments). Needs root, /dev/net/tun, the addon, ip, ping, tshark;
 * skips locally without them, fails with CI=true. Host names c1..c3 and the namespace prefix ctl-
 * keep it clear of the other live tests. Last, `eop fault` against `eop serve` with its token.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTool } from './require-tool.js';
import { CLI, inNsAsync, liveReady, sleep, startCli, startUp, stopCli, stopUp, type Up } from './live-helpers.js';

const ready = liveReady() && requireTool('tshark');
const dir = mkdtempSync(join(tmpdir(), 'eop-ctl-'));
let up: Up | undefined;
afterAll(async () => {
  if (up) await stopUp(up);
  rmSync(dir, { recursive: true, force: true });
});

// Generous deadlines: a loaded 2-core machine takes seconds to start the CLI, and more to bring a rack up.
const eop = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

describe.skipIf(!ready)('eop fault against eop up; management-host failover live', () => {
  it('the master fails during a ping flood: no ping lost, the takeover logged with its time', { timeout: 240_000 }, async () => {
    const rackFile = join(dir, 'ctl.yaml');
    writeFileSync(
      rackFile,
      [
        'name: ctlfaults',
        'hosts:',
        '  - {name: mh, role: management}',
        '  - {name: mhb, role: management}',
        '  - {name: c1, attach: tap}',
        '  - {name: c2, attach: tap}',
        '  - {name: c3, attach: tap}',
        `captures: {enabled: true, format: pcapng, dir: "${dir}"}`,
      ].join('\n'),
    );
    up = await startUp([rackFile, '--ns-prefix', 'ctl-'], 90_000);
    // Warm up the neighbour caches, so the flood measures the fabric only.
    expect((await inNsAsync('ctl-c1', ['ping', '-c', '2', '-w', '10', '10.11.0.2'])).status).toBe(0);

    const flood = inNsAsync('ctl-c1', ['ping', '-q', '-i', '0.01', '-c', '300', '-w', '60', '10.11.0.2'], 70_000);
    await sleep(500);
    const f = eop(['fault', 'mh-fail', 'mh', '--rack', 'ctlfaults']);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout).toMatch(/^fault mh-fail mh at [\d.]+ ms \(eop fault #1\): mh failed: the 3 downstream ports of vs1 have no manager/m);
    const p = await flood;
    expect(p.stdout, p.stderr).toMatch(/300 packets transmitted, 300 received, 0% packet loss/);

    // The takeover: detection (2 to 3 heartbeats of 100 ms) plus 100 ms + 3 × 100 µs of work.
    let m: RegExpExecArray | null = null;
    for (let i = 0; i < 100 && !m; i++, await sleep(50)) m = /recovery mh-fail mhb \(eop fault #1\): control plane back: mhb manages all 3 downstream ports ([\d.]+) ms after mh failed \(detection ([\d.]+) ms, takeover work ([\d.]+) ms\)/.exec(up.stderr());
    expect(m, up.stderr()).not.toBeNull();
    const [total, detection, work] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(detection).toBeGreaterThan(200);
    expect(detection).toBeLessThanOrEqual(300);
    expect(work).toBeCloseTo(100.3, 3);
    expect(total).toBeCloseTo(detection + work, 2);
    console.log(`live control-plane takeover: ${total} ms (detection ${detection} ms + work ${work} ms); 300 of 300 pings answered`);
  });

  it('a bad target is refused with a sentence (exit 2); a link-down is logged, listed and marked in the captures', { timeout: 300_000 }, async () => {
    expect(up).toBeDefined();
    const bad = eop(['fault', 'link-down', 'c9', '--rack', 'ctlfaults']);
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/refused \(HTTP 400\): target: unknown host "c9" \(compute hosts are c1, c2, c3\)/)]);
    const noRack = eop(['fault', 'link-down', 'c1', '--rack', 'nosuchrack']);
    expect([noRack.status, noRack.stderr]).toEqual([2, expect.stringMatching(/no running rack named "nosuchrack"/)]);

    const down = eop(['fault', 'link-down', 'c3', '--rack', 'ctlfaults']);
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/fault link-down c3 .*\(eop fault #2\): c3\.ntb link down/);
    expect((await inNsAsync('ctl-c1', ['ping', '-c', '1', '-W', '1', '10.11.0.3'])).status).not.toBe(0);
    expect(eop(['fault', 'link-up', 'c3', '--rack', 'ctlfaults']).status).toBe(0);
    expect((await inNsAsync('ctl-c1', ['ping', '-c', '3', '-w', '20', '10.11.0.3'])).status).toBe(0);
    const list = eop(['fault', '--list', '--rack', 'ctlfaults']);
    expect(list.stdout).toMatch(/targets: compute hosts c1, c2, c3; management hosts mh, mhb/);
    expect(list.stdout).toMatch(/recovery link-down c3 .*\(eop fault #3\): links to 2 peers up again/);

    await stopUp(up!);
    up = undefined;
    const c = spawnSync('tshark', ['-r', join(dir, 'eop-c1.pcapng'), '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/eop fault mh-fail mh \(eop fault #1\)/);
    expect(c.stdout).toMatch(/eop recovery mh-fail mhb \(eop fault #1\)/);
    expect(c.stdout).toMatch(/eop fault link-down c3 \(eop fault #2\)/);
  });

  it('eop serve: /api/faults needs the token like every route; eop fault passes --token or EOP_TOKEN', { timeout: 300_000 }, async () => {
    const rackFile = join(dir, 'srv.yaml');
    writeFileSync(rackFile, ['name: ctlserve', 'hosts: [s1, s2]', 'captures: {enabled: false}'].join('\n'));
    const srv = await startCli(['serve', rackFile, '--port', '0', '--token', 'tok-123'], 90_000);
    try {
      const none = eop(['fault', 'link-down', 's1', '--rack', srv.url]);
      expect([none.status, none.stderr]).toEqual([2, expect.stringMatching(/refused \(HTTP 401\): a token is required/)]);
      const ok = eop(['fault', 'link-down', 's1', '--rack', srv.url, '--token', 'tok-123']);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/fault link-down s1 .*\(eop fault #1\)/);
      const byEnv = spawnSync(process.execPath, [CLI, 'fault', 'link-up', 's1', '--rack', 'ctlserve'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, EOP_TOKEN: 'tok-123' } });
      expect(byEnv.status, byEnv.stderr).toBe(0);
      expect(byEnv.stdout).toMatch(/fault link-up s1 .*\(eop fault #2\)/);
    } finally {
      await stopCli(srv);
    }
    expect(srv.stderr()).toMatch(/fault link-down s1 \(eop fault #1\)/);
  });
});
