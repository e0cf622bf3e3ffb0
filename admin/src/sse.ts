// Server-Sent Events read from a fetch() body. EventSource cannot send an Authorization header and
// the token must never go into a URL, so the stream is fetched like any call and parsed here. The
// one parser of the repository: the CLI (src/cli/sse.ts) and the tests use it too, so it stays free
// of DOM-only APIs.

export interface SseEvent {
  event: string
  data: string
  id: string | null
}

/** The text/event-stream grammar (WHATWG HTML §9.2.6), fed chunk by chunk. */
export class SseParser {
  private buffer = ''
  private data: string[] = []
  private event = ''
  private id: string | null = null

  constructor (private readonly dispatch: (event: SseEvent) => void) {}

  push (chunk: string): void {
    this.buffer += chunk
    for (;;) {
      const end = this.buffer.search(/[\r\n]/)
      if (end === -1) return
      // A CR at the very end may be the first half of CRLF: wait for the next chunk to tell.
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) return
      const line = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(this.buffer.startsWith('\r\n', end) ? end + 2 : end + 1)
      this.line(line)
    }
  }

  private line (line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.dispatch({ event: this.event || 'message', data: this.data.join('\n'), id: this.id })
      this.data = []
      this.event = ''
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
    else if (field === 'id') this.id = value
  }
}

/** Reads a stream body to its end, handing over each event. */
export async function readEvents (body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void): Promise<void> {
  const parser = new SseParser(onEvent)
  // One decoder for the whole stream: a character split across two chunks is decoded once whole.
  const decoder = new TextDecoder()
  const reader = body.getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      parser.push(decoder.decode(value, { stream: true }))
    }
  } finally {
    reader.releaseLock()
  }
}
