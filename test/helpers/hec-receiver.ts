// A receiver that speaks Splunk's HTTP Event Collector protocol, for the HEC sink's tests: token auth
// (`Authorization: Splunk <token>`), batched JSON events on /services/collector/event with Splunk's
// answers and error codes, and, when acknowledgement is on, an `ackId` per request and channel that
// /services/collector/ack reports indexed a little later. It can be killed (every connection cut)
// and started again on the same port.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HecEvent { time?: number, host?: string, source?: string, sourcetype?: string, fields?: Record<string, unknown>, event: any }

export interface HecReceiver {
  url: string
  token: string
  /** Every event indexed, in arrival order. */
  events: HecEvent[]
  /** Requests answered, by status. */
  answers: number[]
  /** Answers this status (and Splunk's body for it) to the next `count` event requests. */
  failNext: (count: number, status?: number) => void
  kill: () => Promise<void>
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface HecReceiverOptions { token?: string, acks?: boolean, ackDelayMs?: number }

const send = (res: ServerResponse, status: number, body: object): void => {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body))
}

async function bodyOf (req: IncomingMessage): Promise<string> {
  let text = ''
  req.setEncoding('utf8')
  for await (const chunk of req) text += chunk as string
  return text
}

export async function startHecReceiver (options: HecReceiverOptions = {}): Promise<HecReceiver> {
  const token = options.token ?? 'test-hec-token'
  const events: HecEvent[] = []
  const answers: number[] = []
  /** channel → ackId → indexed yet */
  const channels = new Map<string, Map<number, boolean>>()
  let failing = { count: 0, status: 503 }

  const server = createServer((req, res) => {
    // eslint-disable-next-line no-void
    void (async () => {
      const body = await bodyOf(req)
      const answer = (status: number, json: object): void => { answers.push(status); send(res, status, json) }
      const url = new URL(req.url ?? '/', 'http://receiver')
      const auth = req.headers.authorization
      if (auth === undefined) return answer(401, { text: 'Token is required', code: 2 })
      if (auth !== `Splunk ${token}`) return answer(403, { text: 'Invalid token', code: 4 })
      const channel = (req.headers['x-splunk-request-channel'] as string | undefined) ?? url.searchParams.get('channel')
      if (req.method === 'POST' && url.pathname === '/services/collector/ack') {
        const acks = channels.get(channel ?? '')
        if (acks === undefined) return answer(400, { text: 'Invalid data channel', code: 11 })
        const asked = (JSON.parse(body) as { acks: number[] }).acks
        return answer(200, { acks: Object.fromEntries(asked.map((id) => [String(id), acks.get(id) === true])) })
      }
      if (req.method !== 'POST' || !url.pathname.startsWith('/services/collector/event')) return answer(404, { text: 'The requested URL was not found on this server.', code: 404 })
      if (failing.count > 0) {
        failing.count--
        return answer(failing.status, { text: 'Server is busy', code: 9 })
      }
      if (options.acks === true && channel === null) return answer(400, { text: 'Data channel is missing', code: 10 })
      const batch: HecEvent[] = []
      for (const line of body.split('\n')) {
        if (line.trim() === '') continue
        let parsed: HecEvent
        try {
          parsed = JSON.parse(line) as HecEvent
        } catch {
          return answer(400, { text: 'Invalid data format', code: 6 })
        }
        if (parsed.event === undefined || parsed.event === null || parsed.event === '') return answer(400, { text: 'Event field is required', code: 12 })
        batch.push(parsed)
      }
      if (batch.length === 0) return answer(400, { text: 'No data', code: 5 })
      events.push(...batch)
      if (options.acks !== true) return answer(200, { text: 'Success', code: 0 })
      let acks = channels.get(channel as string)
      if (acks === undefined) channels.set(channel as string, acks = new Map())
      const ackId = acks.size
      acks.set(ackId, false)
      setTimeout(() => { acks.set(ackId, true) }, options.ackDelayMs ?? 30).unref()
      answer(200, { text: 'Success', code: 0, ackId })
    })()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const kill = async (): Promise<void> => {
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    server.closeAllConnections()
    await closed
    // A new process starts with no channels: acknowledgements pending on the old one are gone.
    channels.clear()
  }
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    events,
    answers,
    failNext: (count, status = 503) => { failing = { count, status } },
    kill,
    start: async () => {
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    },
    stop: kill
  }
}
