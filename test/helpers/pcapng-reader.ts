/**
 * A minimal pcapng reader for tests: the Enhanced Packet Blocks of a file (little-endian files as
 * EOP writes them), with their exact 64-bit timestamps.
 */
import { readFileSync } from 'node:fs';

export interface EpbRecord {
  tsNs: bigint;
  capLen: number;
  origLen: number;
  data: Buffer;
}

const BT_EPB = 6;

export function readEpbs(path: string): EpbRecord[] {
  const b = readFileSync(path);
  const out: EpbRecord[] = [];
  let off = 0;
  while (off + 12 <= b.length) {
    const type = b.readUInt32LE(off);
    const len = b.readUInt32LE(off + 4);
    if (len < 12 || off + len > b.length) throw new Error(`${path}: torn block at ${off}`);
    if (type === BT_EPB) {
      const tsNs = (BigInt(b.readUInt32LE(off + 12)) << 32n) | BigInt(b.readUInt32LE(off + 16));
      const capLen = b.readUInt32LE(off + 20);
      out.push({ tsNs, capLen, origLen: b.readUInt32LE(off + 24), data: b.subarray(off + 28, off + 28 + capLen) });
    }
    off += len;
  }
  if (off !== b.length) throw new Error(`${path}: ${b.length - off} trailing bytes`);
  return out;
}
