import { expect } from 'vitest';
import { EopError } from '../../src/errors.js';

/** Runs `fn`, expects it to throw an EopError with `code`, returns the error. */
export function expectEopError(fn: () => unknown, code: string): EopError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EopError);
    expect((err as EopError).code).toBe(code);
    return err as EopError;
  }
  throw new Error(`expected an EopError ${code}, got a result`);
}

/** The code of the EopError `fn` throws, or undefined if it returns; anything else is rethrown. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof EopError) return e.code;
    throw e;
  }
  return undefined;
}
