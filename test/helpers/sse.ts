// Reads a Server-Sent Events stream over a real socket and collects its events.
import { request, type IncomingMessage } from 'node:http'
import { SseParser, type SseEvent } from '../../admin/src/sse.js'

export type { SseEvent }

export interface SseClient {
  status: number
  headers: IncomingMessage['headers']
  events: SseEvent[]
  /** Resolves once `count` events have arrived (rejects after `timeoutMs`). */
  waitFor: (count: number, timeoutMs?: number) => Promise<SseEvent[]>
  body: () => string
  close: () => void
}

export async function openSse (url: string, token: string): Promise<SseClient> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      const events: SseEvent[] = []
      let raw = ''
      const parser = new SseParser((event) => { events.push(event) })
      const waiters: Array<() => void> = []
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        raw += chunk
        parser.push(chunk)
        for (const wake of waiters.splice(0)) wake()
      })
      resolve({
        status: res.statusCode as number,
        headers: res.headers,
        events,
        body: () => raw,
        async waitFor (count, timeoutMs = 5000) {
          const deadline = Date.now() + timeoutMs
          while (events.length < count) {
            if (Date.now() > deadline) throw new Error(`only ${events.length} of ${count} events arrived`)
            await new Promise<void>((resolve) => {
              waiters.push(resolve)
              setTimeout(resolve, 50)
            })
          }
          return events.slice(0, count)
        },
        close: () => { req.destroy() }
      })
    })
    req.on('error', reject)
    req.end()
  })
}
