// The content routes (API.md §5): one encapsulated scope per workload, its guard inside it, so
// health, metrics and the API are never caught by proxy auth and nothing proxied escapes the guard.
import { performance } from 'node:perf_hooks'
import { Transform, type TransformCallback } from 'node:stream'
import proxy from '@fastify/http-proxy'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WORKLOADS, type Workload } from '../../domain/lockbox.js'
import { problem, sendProblem } from '../../../plugins/app/problem-details.js'
import { contentGuard, type ContentAccess } from './guard.js'
import type { UnroutableRequests } from './unroutable.js'

// Headers a client may not send upstream: its credentials, our own namespace, and forwarding
// claims we did not make. Our versions are added after these are removed.
const STRIPPED = /^(authorization|proxy-authorization|cookie|forwarded|x-forwarded-.*|x-real-ip|x-request-id|x-lockbox-.*)$/

function rewriteRequestHeaders (request: FastifyRequest, headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const access = request.contentAccess
  const out: Record<string, string | string[] | undefined> = {}
  for (const name in headers) if (!STRIPPED.test(name)) out[name] = headers[name]
  const claims = access.claims as NonNullable<ContentAccess['claims']>
  out['x-lockbox-request-id'] = claims.requestId
  out['x-lockbox-actor'] = claims.actor
  out['x-lockbox-assertion'] = access.assertion
  out['x-request-id'] = request.id
  out['x-forwarded-for'] = request.ip
  return out
}

// Hop-by-hop headers describe the upstream's connection, not the client's (RFC 9110 §7.6.1): copied
// through, an upstream's `connection: keep-alive` would hold open a connection the client asked to close.
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'])

function dropHopByHopHeaders (headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const connection = headers.connection
  const named = typeof connection === 'string' ? connection.toLowerCase().split(',').map((name) => name.trim()) : []
  const out: Record<string, string | string[] | undefined> = {}
  for (const name in headers) if (!HOP_BY_HOP.has(name) && !named.includes(name)) out[name] = headers[name]
  return out
}

class ByteCounter extends Transform {
  count = 0
  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length
    callback(null, chunk)
  }
}

function onUpstreamResponse (request: FastifyRequest, reply: FastifyReply, res: { stream: NodeJS.ReadableStream & { destroy: (err?: Error) => void } }): void {
  const access = request.contentAccess
  const counter = new ByteCounter()
  access.upstream = counter
  res.stream.on('error', (err: Error) => { counter.destroy(err) })
  counter.on('end', () => { access.bytesOut = counter.count })
  counter.on('close', () => {
    access.bytesOut = counter.count
    // A response cut short (client gone, grant ended) must let go of the upstream too; piping alone
    // would leave it paused on a live connection until the body timeout.
    res.stream.destroy()
  })
  res.stream.pipe(counter)
  reply.send(counter)
}

const TIMEOUT_CODES = new Set(['FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_CONNECT_TIMEOUT'])

/** Connect, reset and TLS failures are 502, timeouts 504; the client never sees undici's text. */
function onUpstreamError (reply: FastifyReply, { error }: { error: Error & { code?: string } }): void {
  const timeout = TIMEOUT_CODES.has(error.code as string)
  reply.request.log.warn({ err: error, accessId: reply.request.contentAccess.accessId }, 'upstream failed')
  sendProblem(reply, timeout
    ? problem(504, 'UPSTREAM_TIMEOUT', 'the content service did not answer in time')
    : problem(502, 'UPSTREAM_UNAVAILABLE', 'the content service could not be reached'))
}

/** Counts uploaded bytes on their way through, without buffering them. */
async function countUploadedBytes (request: FastifyRequest): Promise<void> {
  const body = request.body as (NodeJS.ReadableStream & { pipe: unknown }) | undefined
  if (body === undefined || body === null || typeof body.pipe !== 'function') return
  const counter = new ByteCounter()
  const access = request.contentAccess
  counter.on('end', () => { access.bytesIn = counter.count })
  counter.on('close', () => { access.bytesIn = counter.count })
  body.on('error', (err: Error) => { counter.destroy(err) })
  body.pipe(counter)
  request.body = counter
}

export interface ContentRouteOptions {
  workload: Workload
  upstream: string
  timeoutMs: number
  unroutable: UnroutableRequests
}

async function workloadScope (app: FastifyInstance, { workload, upstream, timeoutMs, unroutable }: ContentRouteOptions): Promise<void> {
  const gw = app.gateway
  const tenantIds = new Set(app.tenants.ids())
  const guard = contentGuard({
    workload,
    now: app.now,
    knownTenant: (id) => tenantIds.has(id),
    verifyToken: (token) => gw.tokens.verify(token),
    grant: (requestId) => gw.grants.get(requestId),
    assertionFor: (claims) => gw.assertions.assertionFor({ ...claims, workload }),
    audit: async (draft) => await app.stores.lockbox.commit({ tenantId: draft.tenantId, audit: [draft] }),
    track: (access, request, reply) => {
      reply.raw.once('close', () => { recordAccessOutcome(request, reply) })
      access.untrack = gw.inFlight.add(access.claims?.requestId as string, {
        windowEndsAt: Date.parse(access.grant?.accessEndsAt as string),
        cut: (reason) => {
          access.cut = reason
          access.upstream?.destroy()
          request.raw.destroy()
          reply.raw.destroy()
        }
      })
    }
  })
  app.addHook('onRequest', guard)
  unroutable.guard(workload, guard)
  app.addHook('preHandler', countUploadedBytes)
  // A response cut short (revoke, window end, client gone) never emits 'finish', so Fastify runs no
  // onResponse hook for it: its 'close' records the outcome too, whichever comes first wins.
  function recordAccessOutcome (request: FastifyRequest, reply: FastifyReply): void {
    const access = request.contentAccess
    if (!access.recorded || access.settled) return
    access.settled = true
    access.untrack?.()
    const durationMs = Math.round((performance.now() - access.startedAt) * 1000) / 1000
    const claims = access.claims as NonNullable<ContentAccess['claims']>
    const completed = access.cut === null && reply.raw.writableEnded
    request.log.info({ accessId: access.accessId, requestId: claims.requestId, outcome: 'forwarded', status: reply.statusCode, bytes: access.bytesOut, durationMs, cut: access.cut }, 'content access')
    // The outcome is recorded after the response, without holding it up.
    app.stores.lockbox.commit({
      tenantId: claims.tenantId,
      audit: [{
        tenantId: claims.tenantId,
        operation: 'ContentAccessCompleted',
        result: completed && reply.statusCode < 400 ? 'Success' : 'Failure',
        actor: { id: claims.actor, type: 'SupportEngineer' },
        clientIp: request.ip,
        requestId: claims.requestId,
        workload,
        object: access.path,
        details: {
          accessId: access.accessId,
          method: access.method,
          status: reply.statusCode,
          bytes: access.bytesOut,
          bytesIn: access.bytesIn,
          durationMs,
          completed,
          cutBy: access.cut
        }
      }]
    }).catch((err: unknown) => { request.log.error({ err, accessId: access.accessId }, 'could not record a content access outcome') })
  }
  app.addHook('onResponse', async function recordFinishedAccess (request, reply) {
    recordAccessOutcome(request, reply)
  })

  await app.register(proxy, {
    upstream,
    prefix: `/${workload}`,
    rewritePrefix: '/tenants',
    websocket: false,
    disableRequestLogging: true,
    destroyAgent: true,
    undici: {
      connections: 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { rejectUnauthorized: true, timeout: 5_000 }
    },
    // The path forwarded is the one built from the checked parts, never the raw request URL.
    handler: (request: FastifyRequest, reply: FastifyReply, _dest: string, options: object) =>
      reply.from(request.contentAccess.upstreamPath, options),
    replyOptions: {
      queryString: (_search: string, _url: string, request: FastifyRequest) => request.contentAccess.query,
      rewriteRequestHeaders,
      rewriteHeaders: dropHopByHopHeaders,
      onResponse: onUpstreamResponse as never,
      onError: onUpstreamError as never
    }
  } as never)
}

export default async function contentRoutes (app: FastifyInstance, options: { timeoutMs: number, unroutable: UnroutableRequests }): Promise<void> {
  for (const workload of WORKLOADS) {
    await app.register(workloadScope, { workload, upstream: app.gateway.upstreams[workload], timeoutMs: options.timeoutMs, unroutable: options.unroutable })
  }
}
