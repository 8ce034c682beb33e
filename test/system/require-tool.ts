/**
 * Shared gate for system tests that need an external tool (tshark, ip, …).
 *
 * Locally a missing tool skips the test with a printed reason, so `npm test` works on a bare laptop.
 * In CI (`CI=true`) a missing tool is a broken runner, not a reason to go green: it throws, which
 * fails the test file.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const cache = new Map<string, string | null>();

/** Absolute path of `name` on PATH, or null. */
export function findTool(name: string): string | null {
  if (cache.has(name)) return cache.get(name)!;
  let found: string | null = null;
  if (/^[\w.+-]+$/.test(name)) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      const p = join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        found = p;
        break;
      } catch {
        // keep looking
      }
    }
  }
  cache.set(name, found);
  return found;
}

/**
 * True if `name` is installed. If not: throws when `process.env.CI === 'true'`, else logs why the
 * caller's tests will be skipped and returns false. Use as `describe.skipIf(!requireTool('tshark'))`.
 */
export function requireTool(name: string): boolean {
  if (findTool(name)) return true;
  const reason = `${name} is not installed (not found on PATH)`;
  if (process.env.CI === 'true') {
    throw new Error(`${reason}; CI=true, so this system test fails instead of skipping`);
  }
  console.warn(`[skip] ${reason}; skipping the tests that need it (in CI this fails)`);
  return false;
}
