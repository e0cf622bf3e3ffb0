// The content routes (API.md §5): one encapsulated scope per workload, its guard inside it, so
// health, metrics and the API are never caught by proxy auth and nothing proxied escapes the guard.
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import { WORKLOADS, type Workload } from '../../domain/lockbox.js'
import type { AuditDraft } from '../../domain/audit.js'
import type { RefusalBudgetConfig } from '../../../config/schema.js'
import { RecordBatcher } from '../../gateway/record-batcher.js'
import { RefusalBudget } from '../../gateway/refusal-budget.js'
import { BadGateway, GatewayTimeout, sendProblem, toProblem } from '../../errors.js'
import { countedBody, hasBody, upstreamPool, upstreamRequestHeaders, UpstreamExchange } from './forward.js'
import { clientIpOf, contentGuard, type CheckedAccess, type ContentRequest, type GuardOutcome, type Transfer } from './guard.js'
import type { UnroutableRequests } from './unroutable.js'

/** The methods a content service can be asked for; anything else is not a content route (404). */
const METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS']

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`
const methodLabel = (method: string): string => METHODS.includes(method) ? method : 'OTHER'
const seconds = (from: number, to: number): number => (to - from) / 1000

export interface ContentRouteOptions {
  workload: Workload
  upstream: string
  timeoutMs: number
  unroutable: UnroutableRequests
  records: RecordBatcher
  budget: RefusalBudget
}

async function workloadScope (app: FastifyInstance, { workload, upstream, timeoutMs, unroutable, records, budget }: ContentRouteOptions): Promise<void> {
  const gw = app.gateway
  const metrics = app.metrics
  const tenantIds = new Set(app.tenants.ids())
  const pool = upstreamPool(upstream, timeoutMs)
  app.addHook('onClose', async () => { await pool.destroy() })

  /** Commits one content record and times it. */
  async function commitRecord (draft: AuditDraft, requireApproved?: { requestId: string, now: number }): Promise<void> {
    const startedAt = performance.now()
    await records.append(draft, requireApproved)
    metrics.auditAppend.observe({ operation: draft.operation }, seconds(startedAt, performance.now()))
  }

  const guard = contentGuard({
    workload,
    closing: app.shuttingDown,
    now: app.now,
    knownTenant: (id) => tenantIds.has(id),
    tokens: { cached: (token) => gw.tokens.cached(token), get: (token) => gw.tokens.verify(token) },
    grants: gw.grants,
    assertions: {
      cached: ({ claims, grant }) => gw.assertions.cached({ ...claims, workload, approval: grant.approval }),
      get: ({ claims, grant }) => gw.assertions.assertionFor({ ...claims, workload, approval: grant.approval })
    },
    audit: commitRecord,
    throttle: async (arrival, request, tenantId, reason) => await budget.admit({
      tenantId,
      clientIp: request.ip ?? null,
      workload,
      method: request.method,
      path: arrival.path,
      reason
    }, app.refusalCounter(request)),
    register: (requestId, request, reply) => {
      const transfer: Transfer = {
        forwardedAt: 0,
        bytesIn: 0,
        bytesOut: 0,
        cut: null,
        upstreamFailure: null,
        upstream: null,
        untrack: null,
        windowEndsAt: Number.POSITIVE_INFINITY
      }
      transfer.untrack = gw.inFlight.add(requestId, {
        get windowEndsAt () { return transfer.windowEndsAt },
        set windowEndsAt (windowEndsAt) { transfer.windowEndsAt = windowEndsAt },
        cut: (reason) => {
          transfer.cut = reason
          transfer.untrack = null
          transfer.upstream?.abort(new Error(`grant ended: ${reason}`))
          request.raw.destroy()
          reply.raw.destroy()
        }
      })
      return transfer
    },
    track: (access, request, reply) => {
      // 'close' comes for every response, whole or cut short (revoke, window end, client gone); a
      // client that left while its access was being recorded is gone already.
      if (reply.raw.closed) settleAccess(access, request, reply)
      else reply.raw.once('close', () => { settleAccess(access, request, reply) })
    },
    answered: (arrival: ContentRequest, request: FastifyRequest, outcome: GuardOutcome, code: string, status: number) => {
      metrics.contentRequests.inc({ workload, method: methodLabel(arrival.method), outcome, reason: code, status_class: statusClass(status) })
      // Past the refusal budget, one warning per summary stands for them (the budget writes it): a
      // flood must not grow the access log one line per request any more than the audit log.
      const line = { accessId: arrival.accessId, outcome, reason: code, status }
      if (code === 'RATE_LIMITED') request.log.debug(line, 'content access')
      else request.log.info(line, 'content access')
    }
  })
  app.addHook('onRequest', guard)
  unroutable.guard(workload, guard)

  // Bodies are never parsed: the route forwards the client's stream as it arrives.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', function leaveBodyStreaming (_request, _payload, done) { done(null) })

  function forwardContentRequest (request: FastifyRequest, reply: FastifyReply): void {
    const access = request.contentAccess
    // Nobody to answer (gone, and its address with it): forwarding now would leave the upstream's
    // answer unread on a pooled socket. Its 'close' settles the access.
    const clientIp = clientIpOf(request)
    if (reply.raw.closed || clientIp === null) return
    const claims = access.claims
    const exchange = new UpstreamExchange(reply, workload, access.accessId, {
      responded: () => { metrics.upstreamResponse.observe({ workload }, seconds(access.transfer.forwardedAt, performance.now())) },
      bytes: (count) => { access.transfer.bytesOut += count },
      failed: (error) => { answerUpstreamFailure(access, request, reply, error) },
      // A stalled body is cut by the body timeout, and its record says so.
      brokeOff: (error) => { if (error.code === 'UND_ERR_BODY_TIMEOUT') access.transfer.cut = 'UpstreamTimeout' }
    })
    access.transfer.upstream = exchange
    const raw = request.raw
    // The path forwarded is the one built from the checked parts, never the raw request URL.
    const path = access.query === '' ? access.upstreamPath : `${access.upstreamPath}?${access.query}`
    const headers = upstreamRequestHeaders(raw.rawHeaders, [
      'x-lockbox-request-id', claims.requestId,
      'x-lockbox-actor', claims.actor,
      'x-lockbox-assertion', access.assertion,
      'x-request-id', request.id,
      'x-forwarded-for', clientIp
    ])
    // undici takes an async iterable body (its types list streams only).
    const body = hasBody(raw) ? countedBody(raw, (count) => { access.transfer.bytesIn += count }) as unknown as Readable : null
    access.transfer.forwardedAt = performance.now()
    metrics.gatewayOverhead.observe({ workload }, seconds(access.startedAt, access.transfer.forwardedAt))
    pool.dispatch({ path, method: request.method as Dispatcher.HttpMethod, headers, body }, exchange)
  }

  /** Connect, reset and TLS failures are 502, timeouts 504; the client never sees undici's text. */
  function answerUpstreamFailure (access: CheckedAccess, request: FastifyRequest, reply: FastifyReply, error: Error & { code?: string }): void {
    const answer = toProblem(TIMEOUT_CODES.has(error.code as string)
      ? new GatewayTimeout('the content service did not answer in time')
      : new BadGateway('the content service could not be reached'))
    access.transfer.upstreamFailure = answer.code
    request.log.warn({ err: error, accessId: access.accessId }, 'upstream failed')
    sendProblem(reply.header('x-lockbox-access-id', access.accessId), answer)
  }

  for (const url of [`/${workload}`, `/${workload}/*`]) app.route({ method: METHODS, url, config: { contentRoute: true }, handler: forwardContentRequest })

  // An exchange has one outcome, recorded once its response is over (its one 'close'), without holding it up.
  function settleAccess (access: CheckedAccess, request: FastifyRequest, reply: FastifyReply): void {
    access.transfer.untrack?.()
    // The client went away mid-exchange: let go of the upstream at once, not at its body timeout.
    if (access.transfer.upstream !== null && !access.transfer.upstream.done) access.transfer.upstream.abort(new Error('client gone'))
    const durationMs = Math.round((performance.now() - access.startedAt) * 1000) / 1000
    const claims = access.claims
    // No status when nothing answered: the client left, or the grant ended, before any answer.
    const status = reply.raw.headersSent ? reply.statusCode : null
    const completed = access.transfer.cut === null && reply.raw.writableEnded
    const outcome = access.transfer.upstreamFailure === null ? 'forwarded' : 'upstream_error'
    metrics.contentRequests.inc({ workload, method: methodLabel(access.method), outcome, reason: access.transfer.upstreamFailure ?? 'none', status_class: status === null ? 'none' : statusClass(status) })
    request.log.info({ accessId: access.accessId, requestId: claims.requestId, outcome, status, bytes: access.transfer.bytesOut, bytesIn: access.transfer.bytesIn, durationMs, cut: access.transfer.cut }, 'content access')
    commitRecord({
      tenantId: claims.tenantId,
      operation: 'ContentAccessCompleted',
      result: completed && status !== null && status < 400 ? 'Success' : 'Failure',
      actor: { id: claims.actor, type: 'SupportEngineer' },
      clientIp: clientIpOf(request),
      requestId: claims.requestId,
      workload,
      object: access.path,
      // Keys in sorted order: the record's canonical form then needs no reordered copy.
      details: {
        accessId: access.accessId,
        bytes: access.transfer.bytesOut,
        bytesIn: access.transfer.bytesIn,
        completed,
        cutBy: access.transfer.cut,
        durationMs,
        method: access.method,
        status
      }
    }).catch((err: unknown) => { request.log.error({ err, accessId: access.accessId }, 'could not record a content access outcome') })
  }
}

export default async function contentRoutes (app: FastifyInstance, options: { timeoutMs: number, unroutable: UnroutableRequests, refusalBudget: RefusalBudgetConfig }): Promise<void> {
  // Declared, so every content request has the same shape; the guard sets it before any handler runs
  // (its type is the one a handler sees, hence the placeholder's cast).
  app.decorateRequest('contentAccess', null as unknown as CheckedAccess)
  const records = new RecordBatcher(async (change) => await app.stores.lockbox.commit(change))
  const budget = new RefusalBudget(options.refusalBudget, { record: async (draft) => await records.append(draft), now: app.now, log: app.log })
  // The last refusal summaries and the outcomes of the last responses are recorded before the store closes.
  app.addHook('onClose', async () => {
    await budget.close()
    await records.drain()
  })
  for (const workload of WORKLOADS) {
    await app.register(workloadScope, { workload, upstream: app.gateway.upstreams[workload], timeoutMs: options.timeoutMs, unroutable: options.unroutable, records, budget })
  }
}
