/**
 * Problems found in an input file (rack or scenario): where (a field path) and what (what is
 * allowed, what was found). Shared by `validate.ts` and `src/bench/scenario.ts` so that both kinds of
 * file speak the same way: `hosts[1].link.gen: must be one of 1, 2, 3, 4, 5 (got 6)`.
 *
 * Anything from the input that ends up in a message goes through `showValue` or `escapeText`: a
 * message never prints a terminal control character raw (a rack named "\e[31m" must not recolour
 * the user's terminal) and never quotes more than a short excerpt.
 */

export type ConfigPath = (string | number)[];

/**
 * At most this many problems are listed: a file that is not what it should be (a binary, a log)
 * would otherwise be echoed back line by line.
 */
export const MAX_PROBLEMS_SHOWN = 20;

/** `lines` as listed: the first `MAX_PROBLEMS_SHOWN`, then how many more there are. */
export function shownProblems(lines: readonly string[]): string[] {
  if (lines.length <= MAX_PROBLEMS_SHOWN) return [...lines];
  return [...lines.slice(0, MAX_PROBLEMS_SHOWN), `… and ${lines.length - MAX_PROBLEMS_SHOWN} more problems`];
}

export interface ConfigProblem {
  /** Path into the input as written (a host given as a bare string has no `.name` step). */
  path: ConfigPath;
  /** "hosts[1].link.gen", or "(top level)". */
  pathText: string;
  /** What is allowed and what was found: "must be one of 1, 2, 3, 4, 5 (got 6)". */
  message: string;
  /** The problem is the key itself (an unknown key), not its value: locate the key. */
  atKey: boolean;
}

/**
 * C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides, which can
 * hide or reorder what a terminal shows. Tab and newline are excluded: callers decide about those.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_OR_NEWLINE_RE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const n = c.charCodeAt(0);
  if (n === 0x0a) return '\\n';
  if (n === 0x0d) return '\\r';
  if (n === 0x1b) return '\\e';
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/**
 * `text` safe to print on a terminal: control characters as visible escapes (`\e`, `\x07`).
 * With `multiline`, newlines (and tabs) pass; otherwise a newline is shown as `\n`.
 */
export function escapeText(text: string, multiline = false): string {
  return text.replace(multiline ? UNSAFE_RE : UNSAFE_OR_NEWLINE_RE, escapeChar);
}

export function formatPath(path: readonly (string | number | symbol)[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** A value as a problem message shows it after "got". */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') {
    const s = JSON.stringify(v);
    return s.length > 42 ? `${s.slice(0, 40)}…"` : s;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return 'an empty list';
    return `a list of ${v.length} ${v.length === 1 ? 'entry' : 'entries'}`;
  }
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** `values` as a message lists them: strings quoted, numbers bare. */
export function quoteList(values: readonly (string | number | boolean)[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i]![0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within edit distance 2 (case-insensitive), or null. */
export function didYouMean(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestD && dist < Math.max(w.length, c.length)) {
      best = c;
      bestD = dist;
    }
  }
  return best;
}
