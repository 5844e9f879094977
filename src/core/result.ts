/**
 * What a parser of outside input returns: the value, or a sentence a person can act on. One shape
 * for every parser that does not throw (the codecs throw InvalidMessageError; see errors.ts).
 */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(error: string): { readonly ok: false; readonly error: string } {
  return { ok: false, error };
}
