/**
 * zod building blocks shared by rack files (`shapes.ts`) and bench scenarios
 * (`src/bench/scenario.ts`): a leaf wraps a `Check` (its message says what is allowed), and a
 * mapping reports each unknown key on its own path with a "did you mean".
 */
import { z } from 'zod';
import { isRecord, type Check } from './checks.js';
import { didYouMean } from './problems.js';

/** A leaf field validated by a `Check`; the issue message is what is allowed. */
export function leaf<T>(check: Check): z.ZodCustom<T, T> {
  return z.custom<T>((v) => check(v) === null, { error: (iss) => check(iss.input) ?? 'is not allowed' });
}

/** Keys a user may reasonably write in the wrong place (or by an old name), with what to write. */
export type KeyHints = Readonly<Record<string, string>>;

function unknownKeyMessage(key: string, allowed: readonly string[], hints?: KeyHints): string {
  const hint = hints && Object.hasOwn(hints, key) ? hints[key] : undefined;
  if (hint !== undefined) return `unknown key: ${hint} (allowed here: ${allowed.join(', ')})`;
  const guess = didYouMean(key, allowed);
  return `unknown key${guess !== null ? `; did you mean "${guess}"?` : ''} (allowed here: ${allowed.join(', ')})`;
}

/**
 * Reports unknown keys, one issue per key with the key's own path, then hands the value on.
 * Unknown-key issues use the `unrecognized_keys` code because zod lets those pass through a pipe,
 * so the object's fields are still validated and every problem is listed at once.
 */
export function keyCheck<S extends z.ZodType>(allowedFor: (v: Record<string, unknown>) => readonly string[] | null, schema: S, hints?: KeyHints) {
  return z.preprocess((v, ctx) => {
    if (isRecord(v)) {
      const allowed = allowedFor(v);
      if (allowed !== null) {
        for (const k of Object.keys(v)) {
          if (!allowed.includes(k)) {
            ctx.addIssue({ code: 'unrecognized_keys', keys: [k], path: [k], message: unknownKeyMessage(k, allowed, hints), input: v });
          }
        }
      }
    }
    return v;
  }, schema);
}

/** A mapping with known keys only. `what` completes "must be …" when the value is not a mapping. */
export function obj<S extends z.ZodRawShape>(shape: S, what: string, hints?: KeyHints) {
  const keys = Object.keys(shape);
  return keyCheck(() => keys, z.object(shape, { error: () => `must be ${what}` }), hints);
}

/** Every field of a shape made optional (a file that overrides only some settings). */
export function allOptional<S extends Record<string, z.ZodType>>(shape: S): { [K in keyof S]: z.ZodOptional<S[K]> } {
  const out: Record<string, z.ZodType> = {};
  for (const k of Object.keys(shape)) out[k] = shape[k]!.optional();
  return out as { [K in keyof S]: z.ZodOptional<S[K]> };
}
