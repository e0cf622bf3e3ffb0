// GET /v1/audit/stream: Server-Sent Events, one `record` event per new audit record, so a customer
// can watch an engineer's session as it happens. Answers only after the caller is authorised.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Writable } from 'node:stream'
import Type from 'typebox'
import type { AuditRecord } from '../../domain/audit.js'
import { AuditFormat, problems } from '../schemas.js'
import { auditTenantScope, renderRecord } from './audit.js'

const StreamQuery = Type.Object({
  format: AuditFormat,
  tenantId: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' })),
  requestId: Type.Optional(Type.String({ maxLength: 64 }))
})

const HEARTBEAT_MS = 15_000
/** A client this far behind is cut off (it may reconnect): one slow reader must not grow our memory. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024

/**
 * Writes to a stream unless the client has fallen `limit` bytes behind, in which case the stream is
 * destroyed (the client may reconnect). Returns whether it wrote.
 */
export function writeOrCut (out: Writable, text: string, limit = MAX_BUFFERED_BYTES): boolean {
  if (out.writableLength > limit) {
    out.destroy()
    return false
  }
  out.write(text)
  return true
}

function sseEvent (record: AuditRecord, render: (record: AuditRecord) => object): string {
  return `id: ${record.tenantId}:${record.seq}\nevent: record\ndata: ${JSON.stringify(render(record))}\n\n`
}

const auditStreamRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Open streams never end by themselves: shutdown ends them, or it would wait on them forever.
  const open = new Set<() => void>()
  app.addHook('preClose', async () => { for (const end of [...open]) end() })

  app.get('/audit/stream', {
    schema: {
      tags: ['audit'],
      security: [{ identityToken: [] }],
      summary: 'Live tail (text/event-stream): one `record` event per new record, id `<tenant>:<seq>`',
      querystring: StreamQuery,
      response: { 200: Type.String({ description: 'text/event-stream' }), ...problems(400, 401, 403) }
    }
  }, async (request, reply) => {
    const scope = auditTenantScope(request.caller, request.query.tenantId)
    const { requestId } = request.query
    const render = renderRecord(request.query.format)
    const wanted = (r: AuditRecord): boolean =>
      (scope.tenantId === undefined || r.tenantId === scope.tenantId) && (requestId === undefined || r.requestId === requestId)

    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    res.write('retry: 2000\n: connected\n\n')

    let closed = false
    const unsubscribe = app.stores.audit.subscribe(function forwardRecords (records) {
      let out = ''
      for (const record of records) if (wanted(record)) out += sseEvent(record, render)
      // Unsubscribed on close, so a closed stream is never written to.
      if (out === '') return
      /* c8 ignore next -- needs a client tens of MB behind over loopback; writeOrCut is tested on its own */
      if (!writeOrCut(res, out)) request.log.warn('audit stream client too slow; disconnected it')
    })
    const heartbeat = setInterval(() => { res.write(': keep-alive\n\n') }, HEARTBEAT_MS)
    heartbeat.unref()
    const stop = (): void => {
      if (closed) return
      closed = true
      clearInterval(heartbeat)
      unsubscribe()
    }
    const end = (): void => { stop(); res.end() }
    open.add(end)
    res.on('close', () => {
      stop()
      open.delete(end)
    })
  })
}

export default auditStreamRoutes
