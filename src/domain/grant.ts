// Does a request path and method fall inside a grant? Canonical-path rules of API.md §5: a path that
// is not canonical is rejected, never repaired, so what we authorise is exactly what we forward.
import type { AccessLevel } from './lockbox.js'

export type PathRejection =
  | 'not-absolute'
  | 'empty-segment'
  | 'dot-segment'
  | 'encoded-separator'
  | 'backslash'
  | 'semicolon'
  | 'control-byte'
  | 'bad-encoding'
  | 'not-nfkc'

export type PathCheck =
  | { ok: true, segments: string[] }
  | { ok: false, reason: PathRejection }

// Bytes legal unencoded in a path segment (RFC 3986 pchar minus ';' which some servers treat as a
// parameter delimiter and '\' which some normalise to '/').
const SEGMENT_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,=:@%]*$/

/**
 * Checks a raw, still percent-encoded path (without query) and returns its segments, still encoded
 * but in one canonical spelling (see canonicalEncoding), so two spellings of one path are one path.
 * Rejects dot segments and their encodings at any depth of `%25` nesting, encoded `/` `\` `.`-only
 * segments, `\`, `//`, `;`, NUL and other control bytes, percent-escapes that are not valid UTF-8,
 * and text that Unicode NFKC would change (`．．` is `..` to a server that normalises).
 */
export function checkCanonicalPath (raw: string): PathCheck {
  if (!raw.startsWith('/')) return { ok: false, reason: 'not-absolute' }
  if (raw === '/') return { ok: true, segments: [] }
  const body = raw.endsWith('/') ? raw.slice(1, -1) : raw.slice(1)
  const segments = body.split('/')
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string
    const reason = checkSegment(segment)
    if (reason !== null) return { ok: false, reason }
    segments[i] = canonicalEncoding(segment)
  }
  return { ok: true, segments }
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/**
 * One spelling per segment (RFC 3986 §6.2.2): escapes of unreserved characters decoded (`%65` is `e`),
 * every other escape in upper case (`%c3%a9` is `%C3%A9`). Only equivalent spellings meet: `%40` and
 * `@` stay distinct, as the RFC keeps them, and `%2565` stays the literal `%65` it names.
 */
export function canonicalEncoding (segment: string): string {
  if (!segment.includes('%')) return segment
  return segment.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
}

function checkSegment (segment: string): PathRejection | null {
  if (segment === '') return 'empty-segment'
  if (segment.includes('\\')) return 'backslash'
  if (segment.includes(';')) return 'semicolon'
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(segment)) return 'control-byte'
  if (!SEGMENT_CHARS.test(segment)) return 'bad-encoding'
  // Peel percent-encoding layer by layer: `%252e` is `%2e` after one decode and `.` after two, and
  // some upstream may decode twice. Every layer must be clean.
  let layer = segment
  for (let depth = 0; depth < 8; depth++) {
    const decoded = decodeLayer(layer)
    if (decoded === null) return 'bad-encoding'
    if (decoded.includes('/')) return 'encoded-separator'
    if (decoded.includes('\\')) return 'encoded-separator'
    // `..`-prefixed names too: some servers and proxies treat them as traversal, so none is forwarded.
    if (decoded === '.' || decoded.startsWith('..')) return 'dot-segment'
    if (decoded.includes(';')) return 'semicolon'
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(decoded)) return 'control-byte'
    // A server that normalises Unicode would read another name, perhaps `..` or `/` (`．．`, `／`):
    // no layer may change under NFKC, so no order of decoding and normalising finds one.
    if (/[^ -~]/.test(decoded) && decoded.normalize('NFKC') !== decoded) return 'not-nfkc'
    if (decoded === layer) return null
    layer = decoded
  }
  return 'bad-encoding'
}

/** One layer of percent-decoding; null when an escape is malformed or the bytes are not UTF-8. */
function decodeLayer (text: string): string | null {
  if (!text.includes('%')) return text
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return null
  try {
    return decodeURIComponent(text)
  } catch {
    return null
  }
}

/** Decoded segments, for comparing a path with a scope whatever escapes either one used. */
export function decodeSegments (segments: string[]): string[] {
  return segments.map((s) => decodeURIComponent(s))
}

/**
 * A scope is a canonical path prefix; it covers a path on whole-segment boundaries only, so
 * `/mailboxes/alice` covers `/mailboxes/alice/messages` but not `/mailboxes/alice.evil`.
 */
export function pathInScope (pathSegments: string[], scopeSegments: string[]): boolean {
  if (scopeSegments.length > pathSegments.length) return false
  for (let i = 0; i < scopeSegments.length; i++) {
    if (pathSegments[i] !== scopeSegments[i]) return false
  }
  return true
}

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD'])
const WRITE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])

export function methodAllowed (method: string, level: AccessLevel): boolean {
  return (level === 'read' ? READ_METHODS : WRITE_METHODS).has(method)
}

/** Parses a grant's scope (as given at request creation) into decoded segments, or null if not canonical. */
export function parseScope (scope: string): string[] | null {
  const check = checkCanonicalPath(scope)
  return check.ok ? decodeSegments(check.segments) : null
}
