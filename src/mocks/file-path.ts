// Turns the tail of a request URL into a file path of a site or drive.
// The gateway forwards paths with each segment percent-encoded as the client sent it, so each
// segment is decoded on its own: Fastify's wildcard parameter decodes the tail as a whole, which
// would read `a%2Fb` (one file named "a/b") as a folder `a` holding `b`.

/**
 * The path after the first `skip` segments of `url` (query ignored), each segment decoded, joined
 * with `/`; null when a segment is empty, `.` or `..`, badly encoded, or holds `/`, `\` or NUL.
 */
export function decodeFilePath (url: string, skip: number): string | null {
  const queryAt = url.indexOf('?')
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt)
  const segments: string[] = []
  for (const raw of pathname.split('/').slice(skip + 1)) {
    let segment: string
    try {
      segment = decodeURIComponent(raw)
    } catch {
      return null
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return null
    segments.push(segment)
  }
  return segments.length === 0 ? null : segments.join('/')
}
