import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Captures what the CLI writes to stdout and stderr during each test of the calling suite (and
 * resets `process.exitCode` after it). Read `io.out` / `io.err`; `io.clear()` empties both.
 */
export function captureCliOutput(): { out: string; err: string; clear(): void } {
  const io = {
    out: '',
    err: '',
    clear(): void {
      io.out = '';
      io.err = '';
    },
  };
  beforeEach(() => {
    io.clear();
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      io.err += String(s);
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      io.out += String(s);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return io;
}
