// The admin center's reader of a fetched event stream (readEvents): the browser half of the one
// Server-Sent Events parser. It runs in Node too, on the same web streams.
import t from 'tap'
import { readEvents, type SseEvent } from '../../admin/src/sse.js'

/** A body that hands out `chunks` one read at a time, then ends, or fails with `failure`. */
function streamOf (chunks: Uint8Array[], failure?: Error): ReadableStream<Uint8Array> {
  const left = [...chunks]
  return new ReadableStream({
    pull (controller) {
      const chunk = left.shift()
      if (chunk !== undefined) controller.enqueue(chunk)
      else if (failure === undefined) controller.close()
      else controller.error(failure)
    }
  })
}

/** The text as one chunk per byte: every multi-byte character arrives split. */
function bytewise (text: string): Uint8Array[] {
  return [...new TextEncoder().encode(text)].map((byte) => Uint8Array.of(byte))
}

t.test('hands over each event of a body read byte by byte, characters split across chunks decoded whole', async (t) => {
  const body = streamOf(bytewise('retry: 2000\n: connected\n\nid: contoso:7\nevent: record\ndata: {"object":"Zoë 🔐"}\r\n\r\ndata: é\n\n'))
  const events: SseEvent[] = []
  await readEvents(body, (event) => { events.push(event) })
  t.same(events, [
    { event: 'record', data: '{"object":"Zoë 🔐"}', id: 'contoso:7' },
    { event: 'message', data: 'é', id: 'contoso:7' }
  ])
  t.equal(body.locked, false, 'the body is let go once read')
})

t.test('rejects with the failure of the body, after the events before it, and lets go of the body', async (t) => {
  const cut = new Error('connection reset')
  const body = streamOf([new TextEncoder().encode('data: one\n\ndata: half')], cut)
  const events: SseEvent[] = []
  await t.rejects(readEvents(body, (event) => { events.push(event) }), cut)
  t.same(events, [{ event: 'message', data: 'one', id: null }])
  t.equal(body.locked, false, 'a caller may still cancel it')
})
