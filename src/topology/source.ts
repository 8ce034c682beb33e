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
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
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
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, version: '1.2' });
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
