/**
 * The payload every generator writes and every receiver checks: a fixed pseudo-random table, and
 * where in it the bytes of one message start. Shared by UDP streams, the UDP sink and the pinger.
 *
 * Stream datagram payload (`messageBytes`, at least 16):
 *   [0, 4)   magic 'EOPS' (0x454f5053), big-endian like every field here
 *   [4, 8)   stream id
 *   [8, 12)  sequence number, 0, 1, 2, … (one per datagram offered, sent or not)
 *   [12, 16) payload length (= messageBytes)
 *   [16, n)  pattern: byte i is PATTERN[patternStart(stream id, seq) + i]
 * PATTERN is a fixed pseudo-random 64 KiB table stored twice in a row, so the bytes of a message
 * are one contiguous, rotated slice of it: the sender copies it and the receiver compares it with
 * one native call each (`Buffer#copy`, `Buffer#compare`), at any size up to 64 KiB, allocating
 * nothing.
 */
import { Buffer } from 'node:buffer';
import type { Bytes } from '../time/units.js';

export const STREAM_MAGIC = 0x454f5053;
export const STREAM_HEADER_BYTES: Bytes = 16;
/** Largest payload the pattern covers: a UDP datagram cannot exceed 65507 bytes over IPv4 anyway. */
export const MAX_MESSAGE_BYTES: Bytes = 65507;

const PATTERN_PERIOD = 65536;

/** The pattern table (period 64 KiB, stored twice); built on first use. */
let patternTable: Buffer | null = null;

export function pattern(): Buffer {
  if (patternTable) return patternTable;
  const t = Buffer.alloc(2 * PATTERN_PERIOD);
  let x = 0x2545f491;
  for (let i = 0; i < PATTERN_PERIOD; i++) {
    // xorshift32: cheap, fixed, and not a repeating ramp (a shifted copy must not match itself)
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Printable ASCII, like chargen's: random binary payloads now and then satisfy one of
    // Wireshark's UDP heuristic dissectors (R-GOOSE/CLTP), which then reports "malformed".
    t[i] = 0x20 + ((x >>> 0) % 95);
  }
  t.copy(t, PATTERN_PERIOD, 0, PATTERN_PERIOD);
  patternTable = t;
  return t;
}

/** Where in the pattern table the payload of (a, b) starts; [0, 65536). */
export function patternStart(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((b + 0x7f4a7c15) | 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h & (PATTERN_PERIOD - 1);
}
