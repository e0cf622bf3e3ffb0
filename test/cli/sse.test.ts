// The Server-Sent Events reader: events split anywhere across chunks, comments and unknown fields skipped.
import t from 'tap'
import { serverSentEvents, type ServerSentEvent } from '../../src/cli/sse.js'

async function read (chunks: string[]): Promise<ServerSentEvent[]> {
  async function * body (): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) yield Buffer.from(chunk)
  }
  const events: ServerSentEvent[] = []
  for await (const event of serverSentEvents(body())) events.push(event)
  return events
}

t.test('reads events split across chunks, with CRLF and multi-line data', async (t) => {
  const events = await read([
    'retry: 2000\n: connected\n\n',
    'id: contoso:1\nevent: rec',
    'ord\ndata: {"a":\r\ndata:1}\r\n\r\n',
    'data\n\ndata: plain\nunknown: x\n\n',
    'event: ignored-without-data\n\n',
    'data: never ended'
  ])
  t.same(events, [
    { event: 'record', data: '{"a":\n1}', id: 'contoso:1' },
    { event: 'message', data: '', id: 'contoso:1' },
    { event: 'message', data: 'plain', id: 'contoso:1' }
  ])
})
