// Opaque page cursors of the Redis store: a kind tag and the position to continue after, as text,
// base64url-encoded so clients treat them as tokens.
import { ValidationFailed } from '../../errors.js'

export function encodeCursor (kind: string, position: string): string {
  return Buffer.from(`${kind}|${position}`).toString('base64url')
}

/** The position, or ValidationFailed when the cursor was not made by `encodeCursor(kind, …)` with a position of that shape. */
export function decodeCursor (kind: string, cursor: string, shape: RegExp): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const position = text.slice(kind.length + 1)
  if (!text.startsWith(`${kind}|`) || !shape.test(position)) throw new ValidationFailed('invalid cursor')
  return position
}
