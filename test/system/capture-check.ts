/**
 * What a capture file left by a killed process must satisfy (see capture-check's callers): tshark
 * reads it, every record before the end is whole (captured length = frame length) and in time
 * order, and at most the last record is cut short. A SIGKILL that lands inside a write() can stop
 * the kernel's copy at a page boundary (Linux checks for fatal signals between pages), so the tail
 * of a file may hold part of one record: tshark then says "cut short in the middle of a packet"
 * after reading every whole record. Returns whether the tail was cut.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

export function expectWholeRecords(f: string): { frames: number; tailCut: boolean } {
  const r = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const problems = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^Running as user/.test(l));
  const tailCut = problems.length === 1 && /appears to have been cut short in the middle of a packet/.test(problems[0]!);
  expect(tailCut || problems.length === 0, `${f}: ${r.stderr}`).toBe(true);
  expect(r.status, `${f}: ${r.stderr}`).toBe(tailCut ? 2 : 0);
  const rows = r.stdout.trim().split('\n').filter((l) => l.length > 0);
  // A file just created by rotation may hold only headers; the rotated one is full.
  if (f.endsWith('.1')) expect(rows.length, f).toBeGreaterThan(100);
  let last = -Infinity;
  for (const row of rows) {
    const [len, cap, t] = row.split('\t');
    expect(cap, `${f}: a record cut short`).toBe(len);
    expect(Number(t)).toBeGreaterThanOrEqual(last);
    last = Number(t);
  }
  return { frames: rows.length, tailCut };
}
