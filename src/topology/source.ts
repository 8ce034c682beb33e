/**
 * Input text (a rack file or a bench scenario, YAML or JSON) to a plain value plus a locator that
 * maps a field path back to its line and column, so that every problem can say where it is.
 *
 * JSON is YAML 1.2, so one parser (the `yaml` package) gives the positions for both formats. JSON
 * text is still parsed by `JSON.parse` for its value: YAML would also accept comments, single
 * quotes and bare words that are not JSON. When `JSON.parse` fails without saying where (Node 20
 * often does not), the YAML parser's own error position is the one reported.
 *
 * Nothing here throws for bad input: the result says `ok: false` with one message per problem,
 * each `source:line:col: malformed YAML|JSON: reason`; the caller wraps them in its EopError.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { EopError, ErrorCode } from '../errors.js';
import { KiB } from '../time/units.js';
import { LIMIT_FLAGS } from './limits.js';
import type { ConfigPath } from './problems.js';

export type SourceFormat = 'yaml' | 'json';

export interface Position {
  line: number;
  col: number;
}

/** Where `path` is in the text: at the key itself when `atKey` (an unknown key), else at its value. */
export type Locator = (path: ConfigPath, atKey: boolean) => Position | undefined;

export type ParsedSource =
  | { ok: true; value: unknown; locate: Locator | undefined }
  | { ok: false; problems: string[] };

/** Alias expansion bound: a "billion laughs" document is an error, not a hang. */
const MAX_ALIAS_COUNT = 1000;

export interface ParseOptions {
  /** What a multi-document YAML error calls the input: "a rack file", "a scenario". */
  what: string;
}

/**
 * Reads an input file as UTF-8 text, at most `maxBytes` of it (checked while reading, so
 * `/dev/zero` is refused after `maxBytes`, not read until memory runs out).
 * - cannot open or read → EopError(CONFIG_UNREADABLE) naming the path and the OS reason
 * - too large           → EopError(LIMIT_EXCEEDED) naming the limit and its flag
 * - not UTF-8           → EopError(CONFIG_INVALID) with the line and column of the first bad byte
 */
export function readSourceFile(path: string, what: string, maxBytes: number): string {
  const unreadable = (err: unknown): EopError =>
    new EopError(ErrorCode.CONFIG_UNREADABLE, `cannot read ${what} "${path}": ${osReason(err)}`);
  if (path.includes('\0')) throw unreadable(new Error('a path cannot contain a NUL byte'));
  let fd: number;
  try {
    // non-blocking: a FIFO without a writer is an error, not a hang
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw unreadable(err);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    if (fstatSync(fd).isDirectory()) throw unreadable(new Error('EISDIR: illegal operation on a directory'));
    const chunk = Buffer.allocUnsafe(64 * KiB);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        throw unreadable(err);
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) {
        throw new EopError(
          ErrorCode.LIMIT_EXCEEDED,
          `${path}: the ${what} is larger than the input limit of ${Math.floor(maxBytes / KiB)} KiB (maxInputBytes); ` +
            `raise it with ${LIMIT_FLAGS.maxInputBytes} <KiB>`,
        );
      }
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
  return decodeUtf8(Buffer.concat(chunks, total), path);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8: a bad byte is an error at its line and column, never a silent U+FFFD. */
function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, Math.max(0, at)));
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    const byte = at >= 0 ? ` (byte 0x${bytes[at]!.toString(16).padStart(2, '0')} at offset ${at})` : '';
    throw new EopError(ErrorCode.CONFIG_INVALID, `${path}:${line}:${col}: not valid UTF-8${byte}; save the file as UTF-8`);
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : (d & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** "ENOENT: no such file or directory, open 'x.yaml'" → "ENOENT: no such file or directory" */
function osReason(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/, \w+ '.*'$/s, '');
  return String(err);
}

/** Parses `text` (as read from `source`) into a value and its locator. A leading BOM is not content. */
export function parseSourceText(text: string, source: string, format: SourceFormat, opts: ParseOptions): ParsedSource {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return format === 'json' ? parseJson(text, source) : parseYaml(text, source, opts);
}

function parseYaml(text: string, source: string, opts: ParseOptions): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const what =
          e.code === 'MULTIPLE_DOCS' ? `${opts.what} holds one YAML document, this one has more ("---")` : e.message;
        return `${source}:${pos.line}:${pos.col}: malformed YAML: ${what}`;
      }),
    };
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), locate: yamlLocator(doc, lineCounter) };
  } catch (err) {
    return { ok: false, problems: [`${source}: malformed YAML: ${err instanceof Error ? err.message : String(err)}`] };
  }
}

function parseJson(text: string, source: string): ParsedSource {
  const lineCounter = new LineCounter();
  let doc: Document | undefined;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  } catch {
    doc = undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const yamlPos = doc && doc.errors.length > 0 ? lineCounter.linePos(doc.errors[0]!.pos[0]) : undefined;
    const pos = jsonErrorPosition(text, msg) ?? yamlPos;
    return { ok: false, problems: [`${source}:${pos ? `${pos.line}:${pos.col}: ` : ' '}malformed JSON: ${jsonReason(msg)}`] };
  }
  // JSON.parse keeps the last of duplicate keys without a word; a rack file must not hide one
  const dups = doc?.errors.filter((e) => e.code === 'DUPLICATE_KEY') ?? [];
  if (dups.length > 0) {
    return {
      ok: false,
      problems: dups.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `${source}:${pos.line}:${pos.col}: malformed JSON: keys must be unique (this one appears earlier in the same object)`;
      }),
    };
  }
  const locate = doc && doc.errors.length === 0 ? yamlLocator(doc, lineCounter) : undefined;
  return { ok: true, value, locate };
}

/** Where JSON.parse failed, when its message says so (newer Node versions do). */
function jsonErrorPosition(text: string, msg: string): Position | undefined {
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return { line: Number(lc[1]), col: Number(lc[2]) };
  const at = /at position (\d+)/.exec(msg);
  if (!at) return undefined;
  const before = text.slice(0, Number(at[1]));
  return { line: before.split('\n').length, col: before.length - before.lastIndexOf('\n') };
}

/** JSON.parse's reason without the position or the echo of the input that some versions add. */
function jsonReason(msg: string): string {
  return msg
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/, ".*" is not valid JSON$/s, '')
    .replace(/ \(line \d+ column \d+\)$/, '');
}

/** Maps a field path to the deepest node of `doc` on the way to it. */
export function yamlLocator(doc: Document, lc: LineCounter): Locator {
  const posOf = (node: unknown): Position | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? lc.linePos(range[0]) : undefined;
  };
  return (path, atKey) => {
    let node: unknown = doc.contents;
    let best: unknown = node;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (i === path.length - 1 && atKey) return posOf(pair.key);
        best = pair.key; // `key:` with no value: point at the key
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else {
        break;
      }
      if (node === null || node === undefined || posOf(node) === undefined) break;
      best = node;
    }
    return posOf(best);
  };
}
