/**
 * The Internet checksum for the live hot path: the addon's native `onesSum` (native/checksum/
 * checksum.cc) where it is built, else the JS reference (src/wire/checksum.ts). Both give the same
 * result for every input (test/fast-checksum.test.ts compares them on random and edge inputs).
 *
 * Why: GRO (tcp-coalesce.ts) verifies the TCP checksum of every segment it merges, so it sums every
 * byte the fabric hands a TAP; in JS that was 8.5 % of a TCP profile. A native call costs a fixed
 * ~75 ns of Node-API overhead and then sums several bytes per nanosecond, so short ranges (an IPv4
 * header, a pure ACK) stay in JS, where they are cheaper than the call.
 *
 * Virtual time and the unit tests run without the addon: the fallback keeps them working.
 */
import { onesSum as jsOnesSum } from '../src/wire/checksum.js';
import { loadTapAddon } from './tap-device.js';

export type OnesSumFn = (buf: Uint8Array, start: number, end: number, initial?: number) => number;

/** Below this many bytes the JS loop beats a native call (measured: ~75 ns call vs ~0.3 ns/byte in JS). */
export const NATIVE_MIN_BYTES = 256;

/** The addon's onesSum, or null if the addon is missing or was built before it had one. */
export function nativeOnesSum(): OnesSumFn | null {
  try {
    const fn = loadTapAddon().onesSum;
    return typeof fn === 'function' ? fn : null;
  } catch {
    return null;
  }
}

const native = nativeOnesSum();

/** True if `fastOnesSum` sums long ranges natively. */
export const checksumIsNative = native !== null;

/** Same contract as src/wire/checksum.ts' onesSum (folded sum of buf[start, end) plus initial). */
export const fastOnesSum: OnesSumFn =
  native === null ? jsOnesSum : (buf, start, end, initial = 0) => (end - start < NATIVE_MIN_BYTES ? jsOnesSum(buf, start, end, initial) : native(buf, start, end, initial));
