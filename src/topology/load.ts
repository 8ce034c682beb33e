/**
 * Reading a rack file (YAML or JSON) into a `Topology`.
 *
 * Problems are reported all at once, one per line, as `source:line:col: path: what is allowed (got X)`
 * (the `:line:col` part when the position is known, which it is for files).
 * - unreadable file            → EopError(CONFIG_UNREADABLE) naming the path and the OS reason
 * - malformed YAML / JSON      → TopologyError(CONFIG_INVALID) with the line and column
 * - valid syntax, bad contents → TopologyError(CONFIG_INVALID) listing every problem
 */
import { extname } from 'node:path';
import { ErrorCode, EopError } from '../errors.js';
import { DEFAULT_INPUT_LIMITS, limitProblems, type InputLimits } from './limits.js';
import { shownProblems, type ConfigProblem } from './problems.js';
import { parseSourceText, readSourceFile, type Locator, type Position, type SourceFormat } from './source.js';
import type { Topology } from './types.js';
import { validateTopology } from './validate.js';

/**
 * CONFIG_INVALID (or LIMIT_EXCEEDED) with the problems also available one by one (each is one
 * line of `message`; at most `MAX_PROBLEMS_SHOWN` of them, then a count of the rest).
 */
export class TopologyError extends EopError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], code: ErrorCode = ErrorCode.CONFIG_INVALID) {
    const shown = shownProblems(problems);
    super(code, shown.join('\n'));
    this.problems = shown;
    this.name = 'TopologyError';
  }
}

export type TopologyFormat = SourceFormat;


/**
 * Reads and validates a rack file: `.json` as JSON, anything else (`.yaml`, `.yml`, …) as YAML.
 * The one validation behind `eop validate`, `run` and `up`: what it accepts, they run.
 */
export function loadTopology(path: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): Topology {
  const text = readSourceFile(path, 'topology file', limits.maxInputBytes);
  const format: TopologyFormat = extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
  return parseTopologyText(text, path, format, limits);
}

/** Parses rack text (as read from a file called `source`) and validates it. */
export function parseTopologyText(text: string, source: string, format: TopologyFormat = 'yaml', limits: InputLimits = DEFAULT_INPUT_LIMITS): Topology {
  const parsed = parseSourceText(text, source, format, { what: 'a rack file' });
  if (!parsed.ok) throw new TopologyError(parsed.problems);
  return check(parsed.value, source, parsed.locate, limits);
}

/** Validates an already parsed rack description (`source` names it in messages). */
export function parseTopology(obj: unknown, source: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): Topology {
  return check(obj, source, undefined, limits);
}

/**
 * Throws EopError(LIMIT_EXCEEDED) if `t` asks for more than `limits` allow: for a topology changed
 * after loading (`eop run --duration-ms`), so the flags meet the same limits as the file.
 */
export function checkTopologyLimits(t: Topology, limits: InputLimits = DEFAULT_INPUT_LIMITS): void {
  const problems = limitProblems(t, limits);
  if (problems.length > 0) throwProblems(problems, t.source, undefined, ErrorCode.LIMIT_EXCEEDED);
}

function check(obj: unknown, source: string, locate: Locator | undefined, limits: InputLimits): Topology {
  const result = validateTopology(obj, source);
  if (!result.ok) throwProblems(result.problems, source, locate, ErrorCode.CONFIG_INVALID);
  const over = limitProblems(result.topology, limits);
  if (over.length > 0) throwProblems(over, source, locate, ErrorCode.LIMIT_EXCEEDED);
  return result.topology;
}

function throwProblems(problems: readonly ConfigProblem[], source: string, locate: Locator | undefined, code: ErrorCode): never {
  const located = problems.map((p, order) => ({ p, order, pos: locate?.(p.path, p.atKey) }));
  // file order when positions are known; positionless problems keep their order, after the others
  located.sort((a, b) => {
    const la = a.pos ? a.pos.line * 1e6 + a.pos.col : Infinity;
    const lb = b.pos ? b.pos.line * 1e6 + b.pos.col : Infinity;
    return la !== lb ? (la < lb ? -1 : 1) : a.order - b.order;
  });
  const lines = located.map(({ p, pos }) => problemLine(source, pos, p));
  throw new TopologyError(lines, code);
}

function problemLine(source: string, pos: Position | undefined, p: ConfigProblem): string {
  const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
  return `${where}: ${p.pathText}: ${p.message}`;
}
