/**
 * SYSTEM test of a live rack's wake-ups (LiveRack over real TAPs in namespaces eoptest-ih1/ih2):
 * an idle rack does not poll. After traffic stops and the busy-poll window has passed, a second in
 * which no frame came in costs the live runner no wake-up at all (counted by the runner, not timed);
 * frames after the quiet time still go through at once (the TAP's readiness and the scheduler's
 * `onNewEarliest` wake the runner, no timer is needed for that).
 *
 * Needs root, /dev/net/tun, ip, ping and the built addon (skips with a reason, fails with CI=true).
 * Run inside /work/isolated.sh on a shared machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { netnsExecAsync, removeQuietly } from '../../bridge/netns.js';
import { LiveRack } from '../../bridge/live-rack.js';
import { parseTopologyText } from '../../src/topology/load.js';
import { liveReady, pingReplies, sleep, twoTapNamespaces, twoTapRack } from './live-helpers.js';

const ready = liveReady();
const PREFIX = 'eoptest-i';
const TOPO = twoTapRack('idle');

describe.skipIf(!ready)('live rack wake-ups', () => {
  let live: LiveRack | null = null;

  afterAll(() => {
    live?.stop();
    removeQuietly(twoTapNamespaces(PREFIX));
  });

  it('an idle second costs the runner no wake-up; a ping afterwards goes through', async () => {
    removeQuietly(twoTapNamespaces(PREFIX));
    // With busy polling on: it must end 20 ms after the last frame, like the rest of the wake-ups.
    live = new LiveRack(parseTopologyText(TOPO, 'idle.yaml'), { nsPrefix: PREFIX, captures: false, busyPollMs: 20 });
    live.start();
    const h2 = live.topo.hosts[1]!.ipv4.text;
    // -w: ping sends until 3 replies are in (a loaded machine delays them; it does not lose them).
    const ping = (): Promise<{ stdout: string }> => netnsExecAsync(`${PREFIX}h1`, ['ping', '-c', '3', '-i', '0.05', '-w', '10', h2], 20_000);
    expect(pingReplies((await ping()).stdout), 'replies').toBeGreaterThanOrEqual(3);

    const framesIn = (): number => live!.tapHosts.reduce((n, t) => n + t.bridge.c.tapInFrames, 0);
    // The kernels in the namespaces talk now and then (IPv6 router solicitations, MLD): look for a
    // one-second window without any frame, up to 15 tries.
    let quiet: { wakeups: number; timerWakeups: number } | null = null;
    for (let i = 0; i < 15 && quiet === null; i++) {
      await sleep(100); // past the busy-poll window of the last frame (20 ms)
      const f0 = framesIn();
      const w0 = { ...live.runner.stats };
      await sleep(1000);
      if (framesIn() === f0) quiet = { wakeups: live.runner.stats.wakeups - w0.wakeups, timerWakeups: live.runner.stats.timerWakeups - w0.timerWakeups };
    }
    expect(quiet, 'no second without frames in 15 tries').not.toBeNull();
    expect(quiet!.wakeups).toBe(0);
    expect(quiet!.timerWakeups).toBe(0);

    expect(pingReplies((await ping()).stdout), 'replies').toBeGreaterThanOrEqual(3);
    live.stop();
    live = null;
  });
});
