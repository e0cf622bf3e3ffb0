// A Server-Sent Events reader for `lockbox audit tail`: the admin center's parser (one parser for the
// CLI, the admin center and the tests; admin/src/sse.ts is plain TypeScript that runs in Node too).
import { SseParser, type SseEvent } from '../../admin/src/sse.js'

export type ServerSentEvent = SseEvent

/** Yields each event as its blank line arrives; comments (heartbeats) and unknown fields are skipped. */
export async function * serverSentEvents (body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  // One decoder for the whole stream: a character split across two chunks is decoded once whole.
  const decoder = new TextDecoder()
  const ready: ServerSentEvent[] = []
  const parser = new SseParser((event) => { ready.push(event) })
  for await (const chunk of body) {
    parser.push(decoder.decode(chunk, { stream: true }))
    yield * ready.splice(0)
  }
}
