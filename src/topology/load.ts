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
import { ErrorCode, EopError } from '../errors.js';
import type { ConfigProblem } from './problems.js';
import { parseSourceText, type Locator, type Position, type SourceFormat } from './source.js';
import type { Topology } from './types.js';
import { validateTopology } from './validate.js';

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

export type TopologyFormat = SourceFormat;

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
  const parsed = parseSourceText(text, source, format, { what: 'a rack file' });
  if (!parsed.ok) throw new TopologyError(parsed.problems.join('\n'), parsed.problems);
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

/** "ENOENT: no such file or directory, open 'x.yaml'" → "ENOENT: no such file or directory" */
export function osReason(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/, \w+ '.*'$/s, '');
  return String(err);
}
