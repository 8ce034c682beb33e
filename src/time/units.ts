/**
 * Units carried in type names. They are plain numbers at run time (the hot path must not box them),
 * but every signature says which unit it takes, and conversions live here only.
 *
 * - `Ns`     nanoseconds of virtual (or, in live mode, wall-clock-paced) time
 * - `Bytes`  a byte count
 * - `Gbps`   gigabits per second (10^9 bit/s); 1 Gbps moves 1 bit per ns
 */
export type Ns = number;
export type Bytes = number;
export type Gbps = number;

export const NS_PER_US: Ns = 1_000;
export const NS_PER_MS: Ns = 1_000_000;
export const NS_PER_S: Ns = 1_000_000_000;

export const KiB: Bytes = 1024;
export const MiB: Bytes = 1024 * 1024;
export const GiB: Bytes = 1024 * 1024 * 1024;

export const us = (n: number): Ns => n * NS_PER_US;
export const ms = (n: number): Ns => n * NS_PER_MS;
export const seconds = (n: number): Ns => n * NS_PER_S;

/** Time to put `bytes` on a wire of `rate`: 1 Gbps is exactly one bit per nanosecond. */
export function serializationNs(bytes: Bytes, rate: Gbps): Ns {
  return (bytes * 8) / rate;
}

/** Throughput of `bytes` moved in `durationNs`. */
export function gbpsOf(bytes: Bytes, durationNs: Ns): Gbps {
  return durationNs > 0 ? (bytes * 8) / durationNs : 0;
}

export function formatNs(t: Ns): string {
  if (t >= NS_PER_S) return `${(t / NS_PER_S).toFixed(3)} s`;
  if (t >= NS_PER_MS) return `${(t / NS_PER_MS).toFixed(3)} ms`;
  if (t >= NS_PER_US) return `${(t / NS_PER_US).toFixed(3)} µs`;
  return `${t.toFixed(0)} ns`;
}
