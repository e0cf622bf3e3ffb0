// Opaque page cursors: a kind tag and a few integers, base64url-encoded so clients treat them as tokens.
import { ValidationFailed } from '../../errors.js'

export function encodeCursor (kind: string, values: number[]): string {
  return Buffer.from([kind, ...values].join(':')).toString('base64url')
}

/** The cursor's integers, or ValidationFailed when it was not made by `encodeCursor(kind, …)` with `arity` values. */
export function decodeCursor (kind: string, cursor: string, arity: number): number[] {
  const [tag, ...parts] = Buffer.from(cursor, 'base64url').toString('utf8').split(':')
  const values = parts.map((part) => (/^-?\d{1,16}$/.test(part) ? Number(part) : NaN))
  if (tag !== kind || values.length !== arity || !values.every(Number.isSafeInteger)) throw new ValidationFailed('invalid cursor')
  return values
}
