/**
 * `CaptureFile.annotate`: a note rides on the next frame's pcapng record as an opt_comment (block
 * lengths still agree, the comment is cut at MAX_COMMENT_BYTES on a character boundary), and a pcap
 * file, which has no place for it, counts it in `notesLost` and stays byte-identical to one
 * written without notes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFile } from '../src/capture/index.js';
import { MAX_COMMENT_BYTES, OPT_COMMENT } from '../src/capture/pcapng-format.js';

const dir = mkdtempSync(join(tmpdir(), 'eop-annotate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = Uint8Array.from({ length: 60 }, (_, i) => i);

/** The comments of each Enhanced Packet Block, walking the blocks by their lengths. */
function epbComments(b: Buffer): (string | null)[] {
  const out: (string | null)[] = [];
  let off = 0;
  while (off < b.length) {
    const type = b.readUInt32LE(off);
    const total = b.readUInt32LE(off + 4);
    expect(b.readUInt32LE(off + total - 4)).toBe(total);
    if (type === 6) {
      const cap = b.readUInt32LE(off + 20);
      let o = off + 28 + ((cap + 3) & ~3);
      let comment: string | null = null;
      while (o < off + total - 4) {
        const code = b.readUInt16LE(o);
        const len = b.readUInt16LE(o + 2);
        if (code === 0) break;
        if (code === OPT_COMMENT) comment = b.subarray(o + 4, o + 4 + len).toString('utf8');
        o += 4 + ((len + 3) & ~3);
      }
      out.push(comment);
    }
    off += total;
  }
  return out;
}

describe('CaptureFile.annotate', () => {
  it('pcapng: the note goes on the next record only, notes before it joined, long ones cut whole', () => {
    const path = join(dir, 'a.pcapng');
    const cf = new CaptureFile({ path, format: 'pcapng', interfaceName: 'eop-h1' });
    cf.write(1, frame, 'out');
    cf.annotate('link down');
    cf.annotate('link up');
    cf.write(2, frame, 'in');
    cf.write(3, frame);
    cf.annotate('é'.repeat(MAX_COMMENT_BYTES)); // 2 bytes per character: cut to whole characters
    cf.write(4, frame, 'out');
    cf.close();
    const c = epbComments(readFileSync(path));
    expect(c.slice(0, 3)).toEqual([null, 'link down; link up', null]);
    expect(Buffer.byteLength(c[3]!, 'utf8')).toBe(MAX_COMMENT_BYTES);
    expect(c[3]).toBe('é'.repeat(MAX_COMMENT_BYTES / 2));
  });

  it('pcap: notes are counted as lost and the file is the same as without them', () => {
    const write = (name: string, notes: boolean): Buffer => {
      const cf = new CaptureFile({ path: join(dir, name), format: 'pcap', interfaceName: 'eop-h1' });
      if (notes) cf.annotate('lost');
      cf.write(1, frame, 'out');
      if (notes) cf.annotate('lost too');
      cf.write(2, frame, 'in');
      if (notes) expect(cf.notesLost).toBe(2);
      cf.close();
      return readFileSync(join(dir, name));
    };
    expect(write('b.pcap', true).equals(write('c.pcap', false))).toBe(true);
  });
});
