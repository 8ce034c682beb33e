/**
 * What a capture file left by a killed process must satisfy (see capture-check's callers): tshark
 * reads it without a single complaint, every record is whole (captured length = frame length) and
 * in time order. A SIGKILL that lands inside a write() stops the kernel's copy at a page boundary
 * (Linux checks for fatal signals between pages), so the emulator itself cannot avoid a torn tail:
 * its capture guardian (src/capture/capture-guardian.ts), a process that outlives it, cuts the file
 * back to its last whole record. Callers find the guardian before the kill (`guardiansOf`) and wait
 * for it to finish (`guardiansGone`) before they look at the files.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { GUARDIAN_TITLE } from '../../src/capture/capture-guardian.js';

export function expectWholeRecords(f: string): { frames: number } {
  const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const problems = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^Running as user/.test(l));
  expect(problems, `${f}: tshark complained (a torn record?)`).toEqual([]);
  expect(r.status, `${f}: ${r.stderr}`).toBe(0);
  const rows = r.stdout.trim().split('\n').filter((l) => l.length > 0);
  let last = -Infinity;
  for (const row of rows) {
    const [len, cap, t] = row.split('\t');
    expect(cap, `${f}: a record cut short`).toBe(len);
    expect(Number(t)).toBeGreaterThanOrEqual(last);
    last = Number(t);
  }
  return { frames: rows.length };
}

/**
 * Checks every file as above and that the rotated ones hold real captures: at least one of them more
 * than 100 records. (Not each: a file can be renamed by rotation while its last chunk, a whole
 * 256 KiB or 1 MiB write, is still being written, so a kill then leaves `.1` with the few records
 * before the page where the write stopped; the guardian keeps exactly those.)
 */
export function expectCapturesAfterKill(files: string[]): void {
  let rotatedMax = 0;
  for (const f of files) {
    const { frames } = expectWholeRecords(f);
    if (/\.\d+$/.test(f)) rotatedMax = Math.max(rotatedMax, frames);
  }
  expect(rotatedMax, `no rotated file with more than 100 records among ${files.join(', ')}`).toBeGreaterThan(100);
}

/** `/proc/PID/stat`'s command name and parent pid, or null if the process is gone (or a zombie). */
function procStat(pid: number): { comm: string; ppid: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const [state, ppid] = s.slice(close + 2).split(' ');
    if (state === 'Z' || state === 'X') return null;
    return { comm: s.slice(s.indexOf('(') + 1, close), ppid: Number(ppid) };
  } catch {
    return null;
  }
}

/** Whether `pid` runs the guardian: by its title, or (before node has set it) by its command line. */
function isGuardian(pid: number, comm: string): boolean {
  if (comm === GUARDIAN_TITLE.slice(0, 15)) return true;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv[1] === '-e' && (argv[2] ?? '').includes(GUARDIAN_TITLE);
  } catch {
    return false;
  }
}

/**
 * Pids of the capture guardians the process `pid` started (call before killing it). The guardian is
 * spawned when the first capture file opens, and on a loaded machine its node may still be starting
 * (title not set yet, or not yet exec'd) when a test looks: so this waits up to `timeoutMs` for one.
 */
export async function guardiansOf(pid: number, timeoutMs = 10_000): Promise<number[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const st = procStat(Number(name));
      if (st && st.ppid === pid && isGuardian(Number(name), st.comm)) out.push(Number(name));
    }
    if (out.length > 0 || Date.now() > until) return out;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until every pid in `pids` has exited (the guardian exits once its files are repaired). */
export async function guardiansGone(pids: number[], timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (pids.some((p) => procStat(p) !== null)) {
    if (Date.now() > until) throw new Error(`capture guardian(s) ${pids.join(', ')} still running ${timeoutMs} ms after the kill`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
