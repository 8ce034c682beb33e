/**
 * Leaf checks of the file format: each returns null when a value is fine, else what is allowed
 * ("must be an integer from 68 to 65510"). The zod shapes (`shapes.ts`) wrap them, and the
 * cross-field checks (`validate.ts`) reuse them, so a rule is written once.
 */
import { didYouMean, quoteList } from './problems.js';
import { LIMITS } from './types.js';

export type Check = (v: unknown) => string | null;

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function oneOf(values: readonly (string | number)[]): Check {
  const allowed = `must be one of ${quoteList(values)}`;
  const strings = values.filter((v): v is string => typeof v === 'string');
  return (v) => {
    if ((typeof v === 'string' || typeof v === 'number') && values.includes(v)) return null;
    if (typeof v === 'string' && strings.length > 0) {
      const guess = didYouMean(v, strings);
      if (guess !== null) return `${allowed}; did you mean "${guess}"?`;
    }
    return allowed;
  };
}

export const isBool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');

export function integer(min: number, max?: number, why = ''): Check {
  const allowed =
    max === undefined ? `must be an integer >= ${min}${why}` : `must be an integer from ${min} to ${max}${why}`;
  return (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && (max === undefined || v <= max)
      ? null
      : allowed;
}

export function num(o: { gt?: number; ge?: number; le?: number }): Check {
  let allowed: string;
  if (o.ge !== undefined && o.le !== undefined) allowed = `must be a number from ${o.ge} to ${o.le}`;
  else if (o.gt !== undefined && o.le !== undefined) allowed = `must be a number > ${o.gt} and <= ${o.le}`;
  else if (o.gt !== undefined) allowed = `must be a number > ${o.gt}`;
  else allowed = `must be a number >= ${o.ge ?? 0}`;
  return (v) =>
    isFiniteNumber(v) &&
    (o.gt === undefined || v > o.gt) &&
    (o.ge === undefined || v >= o.ge) &&
    (o.le === undefined || v <= o.le)
      ? null
      : allowed;
}

export function powerOf2(min: number, max: number): Check {
  const allowed = `must be a power of 2 from ${min} to ${max}`;
  return (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max && (v & (v - 1)) === 0
      ? null
      : allowed;
}

export function nonEmptyString(maxLen: number, extra?: { re: RegExp; desc: string }): Check {
  const allowed = `must be a non-empty string of at most ${maxLen} characters${extra ? ` ${extra.desc}` : ''}`;
  return (v) =>
    typeof v === 'string' && v.length > 0 && v.length <= maxLen && (!extra || extra.re.test(v)) ? null : allowed;
}

/** The host-name pattern of the file format; `checkHostName` also limits names to 11 characters. */
export const HOST_NAME_RE = /^[a-z][a-z0-9-]{0,14}$/;

/** Host names: the spec's pattern, plus the 11-character limit that `eop-<name>` imposes. */
export const checkHostName: Check = (v) => {
  // the spec's alphabet first; the length gets its own message, which says why the limit is 11, not 15
  if (typeof v !== 'string' || !/^[a-z][a-z0-9-]*$/.test(v)) {
    return `must be a host name: a lowercase letter, then lowercase letters, digits or "-" (at most ${LIMITS.maxHostNameChars} characters)`;
  }
  if (v.length > LIMITS.maxHostNameChars) {
    return (
      `must be at most ${LIMITS.maxHostNameChars} characters (this is ${v.length}): the interface name ` +
      `"${LIMITS.ifNamePrefix}<name>" must fit Linux's ${LIMITS.maxIfNameChars}-character limit`
    );
  }
  if (v === 'all') return 'must not be "all", which traffic entries use to mean every host';
  return null;
};

export const checkHostRef: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a host name');
export const checkPingTo: Check = (v) =>
  typeof v === 'string' && v.length > 0 ? null : 'must be a host name or "all"';
