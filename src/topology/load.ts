/**
 * Reading a rack file (YAML or JSON) into a `Topology`.
 *
 * Problems are reported all at once, one per line, as `source:line:col: path: what is allowed (got X)`
 * (the `:line:col` part when the position is known, which it is for files).
 * - unreadable file            → EopError(CONFIG_UNREADABLE) naming the path and the OS reason
 * - malformed YAML / JSON      → TopologyError(CONFIG_INVALID) with the line and column
 * - valid syntax, bad contents → TopologyError(CONFIG_INVALID) listing every problem
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ErrorCode, EopError } from '../errors.js';
import { validateTopology, type ConfigPath, type ConfigProblem, type Topology } from './schema.js';

/** CONFIG_INVALID with the problems also available one by one (each is one line of `message`). */
export class TopologyError extends EopError {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(ErrorCode.CONFIG_INVALID, message);
    this.name = 'TopologyError';
  }
}

export type TopologyFormat = 'yaml' | 'json';

interface Position {
  line: number;
  col: number;
}
type Locator = (path: ConfigPath, atKey: boolean) => Position | undefined;

/** Reads and validates a rack file: `.json` as JSON, anything else (`.yaml`, `.yml`, …) as YAML. */
export function loadTopology(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EopError(ErrorCode.CONFIG_UNREADABLE, `cannot read topology file "${path}": ${osReason(err)}`);
  }
  const format: TopologyFormat = extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
  return parseTopologyText(text, path, format);
}

/** Parses rack text (as read from a file called `source`) and validates it. */
export function parseTopologyText(text: string, source: string, format: TopologyFormat = 'yaml'): Topology {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parsed = format === 'json' ? parseJson(text, source) : parseYaml(text, source);
  return check(parsed.value, source, parsed.locate);
}

/** Validates an already parsed rack description (`source` names it in messages). */
export function parseTopology(obj: unknown, source: string): Topology {
  return check(obj, source, undefined);
}

function check(obj: unknown, source: string, locate: Locator | undefined): Topology {
  const result = validateTopology(obj, source);
  if (result.ok) return result.topology;
  const located = result.problems.map((p, order) => ({ p, order, pos: locate?.(p.path, p.atKey) }));
  // file order when positions are known; positionless problems keep their order, after the others
  located.sort((a, b) => {
    const la = a.pos ? a.pos.line * 1e6 + a.pos.col : Infinity;
    const lb = b.pos ? b.pos.line * 1e6 + b.pos.col : Infinity;
    return la !== lb ? (la < lb ? -1 : 1) : a.order - b.order;
  });
  const lines = located.map(({ p, pos }) => problemLine(source, pos, p));
  throw new TopologyError(lines.join('\n'), lines);
}

function problemLine(source: string, pos: Position | undefined, p: ConfigProblem): string {
  const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
  return `${where}: ${p.pathText}: ${p.message}`;
}

function osReason(err: unknown): string {
  if (err instanceof Error) {
    // "ENOENT: no such file or directory, open 'x.yaml'" → "ENOENT: no such file or directory"
    return err.message.replace(/, \w+ '.*'$/s, '');
  }
  return String(err);
}

// ---------------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------------

function parseYaml(text: string, source: string): { value: unknown; locate: Locator | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      const what =
        e.code === 'MULTIPLE_DOCS' ? 'a rack file holds one YAML document, this one has more ("---")' : e.message;
      return `${source}:${pos.line}:${pos.col}: malformed YAML: ${what}`;
    });
    throw new TopologyError(lines.join('\n'), lines);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    const line = `${source}: malformed YAML: ${err instanceof Error ? err.message : String(err)}`;
    throw new TopologyError(line, [line]);
  }
  return { value, locate: yamlLocator(doc, lineCounter) };
}

function yamlLocator(doc: Document, lc: LineCounter): Locator {
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

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

function parseJson(text: string, source: string): { value: unknown; locate: Locator | undefined } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const line = `${source}:${jsonErrorPosition(text, msg)}malformed JSON: ${jsonReason(msg)}`;
    throw new TopologyError(line, [line]);
  }
  // Positions for validation problems: JSON is YAML 1.2, so the YAML parser can map paths to lines.
  let locate: Locator | undefined;
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, version: '1.2' });
    if (doc.errors.length === 0) locate = yamlLocator(doc, lineCounter);
  } catch {
    locate = undefined;
  }
  return { value, locate };
}

/** "3:5: " for where JSON.parse failed: from its message, or by scanning for the first error. */
function jsonErrorPosition(text: string, msg: string): string {
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return `${lc[1]}:${lc[2]}: `;
  const at = /at position (\d+)/.exec(msg);
  const offset = at ? Number(at[1]) : firstJsonErrorOffset(text);
  if (offset === null) return ' ';
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return `${line}:${col}: `;
}

/** JSON.parse's reason without the position or the echo of the input that some versions add. */
function jsonReason(msg: string): string {
  return msg
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/, ".*" is not valid JSON$/s, '')
    .replace(/ \(line \d+ column \d+\)$/, '');
}

/**
 * Offset of the first syntax error in `text` (RFC 8259), or null if it is valid. Node 20's
 * JSON.parse does not always say where it failed ("Unexpected token '}', … is not valid JSON").
 */
function firstJsonErrorOffset(text: string): number | null {
  let i = 0;
  class Fail {
    constructor(readonly at: number) {}
  }
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new Fail(i);
  };
  const lit = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
            i++;
          }
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail();
      }
      i++;
    }
  };
  const numberAt = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) numberAt();
    else fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : null;
  } catch (e) {
    if (e instanceof Fail) return e.at;
    throw e;
  }
}
