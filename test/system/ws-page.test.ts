/**
 * SYSTEM test of the page at `/` in a real browser: Debian's chromium (/usr/bin/chromium, installed
 * by .ci/run), headless, driven by playwright-core (never a downloaded browser), against a running
 * `eop serve` of the default rack. The page loads, draws the rack (switch, four hosts, links), shows
 * counters that change while traffic flows (a WebSocket client in this process pings h1), shows the
 * "keeping up"/BEHIND indicator, then its own in-page client attaches to the free WebSocket host,
 * gets an address by DHCP, pings 10.11.0.1, and the replies appear on the page.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Guest, parseIp } from '../../bridge/www/guest.js';
import { CLI, requireThat } from './live-helpers.js';
import { openWs, startCli, stopCli, type Proc } from './serve-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// The page's DOM, as seen by the functions playwright runs inside the browser (no DOM lib here).
declare const document: { querySelector(sel: string): { textContent: string | null } | null };
const ready =
  requireThat(existsSync(CHROMIUM), `${CHROMIUM} is not installed (apt-get install chromium)`) &&
  requireThat(existsSync(CLI), `${CLI} is missing: run "npm run build" (npm test does it first)`);

describe.skipIf(!ready)('the rack page in headless Chromium', () => {
  let srv: Proc;
  let browser: BrowserContext;
  const profile = mkdtempSync(join(tmpdir(), 'eop-chromium-'));
  beforeAll(async () => {
    srv = await startCli(['serve', '--port', '0', '--no-captures']);
    // A fresh profile directory (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stopCli(srv);
    rmSync(profile, { recursive: true, force: true });
  });

  it('draws the rack, updates the counters, and its client pings 10.11.0.1', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/`);
    await page.waitForSelector('#hosts tbody tr[data-host="h4"]', { timeout: 15_000 });
    expect(await page.textContent('#rack-name')).toBe('"default"');
    // The drawing: the switch, one box and one link per host, links up.
    expect(await page.locator('#rack rect[data-host]').count()).toBe(4);
    expect(await page.locator('#rack line.up').count()).toBe(4);
    expect(await page.textContent('#rack')).toMatch(/PCIe switch/);
    expect(await page.getAttribute('#behind', 'data-behind')).toMatch(/^(true|false)$/);

    // Counters change while traffic flows: h1's tx frames as shown on the page.
    const shownTx = async (): Promise<number> => Number(await page.textContent('#hosts tbody tr[data-host="h1"] td:nth-child(3)'));
    const before = await shownTx();
    const c = await openWs(srv.url.replace('http', 'ws') + '/hosts/h4');
    const g = new Guest(c.ws);
    await g.dhcp(5000);
    for (let seq = 1; seq <= 5; seq++) await g.ping(parseIp('10.11.0.1'), seq, 3000);
    c.ws.close();
    await c.closed;
    await page.waitForFunction((b) => Number(document.querySelector('#hosts tbody tr[data-host="h1"] td:nth-child(3)')!.textContent) >= b + 5, before, { timeout: 10_000 });
    expect(await shownTx()).toBeGreaterThanOrEqual(before + 5);

    // The in-page client: attach to the free WebSocket host (h4), DHCP, ping 10.11.0.1 five times.
    await page.waitForFunction(() => /websocket$/.test(document.querySelector('#hosts tbody tr[data-host="h4"] td:nth-child(2)')!.textContent ?? ''), undefined, { timeout: 10_000 });
    await page.click('#attach');
    await page.waitForSelector('#ping:not([disabled])', { timeout: 15_000 });
    expect(await page.textContent('#attach-state')).toMatch(/attached to h4: 10\.11\.0\.4\/24/);
    await page.fill('#target', '10.11.0.1');
    await page.click('#ping');
    await page.waitForFunction(() => (document.querySelector('#log')!.textContent!.match(/bytes from 10\.11\.0\.1: icmp_seq=\d+/g) ?? []).length >= 5, undefined, { timeout: 20_000 });
    const log = await page.textContent('#log');
    expect(log).toMatch(/DHCP: 10\.11\.0\.4\/24, name server 10\.11\.0\.254/);
    for (let seq = 1; seq <= 5; seq++) expect(log).toMatch(new RegExp(`64 bytes from 10\\.11\\.0\\.1: icmp_seq=${seq} time=`));
    // The page's own status shows h4 held by the browser.
    await page.waitForFunction(() => /held by/.test(document.querySelector('#hosts tbody tr[data-host="h4"] td:nth-child(2)')!.textContent ?? ''), undefined, { timeout: 10_000 });
    // By name too: the in-page DNS lookup of h2.
    await page.fill('#target', 'h2');
    await page.click('#ping');
    await page.waitForFunction(() => /bytes from 10\.11\.0\.2: icmp_seq=5/.test(document.querySelector('#log')!.textContent ?? ''), undefined, { timeout: 20_000 });
    expect(errors).toEqual([]);
    await page.close();
  });
});
