// Audit search and chain verification (API.md §6).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { AUDIT_OPERATIONS, type AuditOperation } from '../../domain/audit.js'
import { isCustomerApprover, may, type Caller } from '../../domain/policy.js'
import { Forbidden, ValidationFailed } from '../../errors.js'
import type { AuditQuery as StoreAuditQuery } from '../../stores/types.js'
import { Readable } from 'node:stream'
import { toO365 } from '../../domain/o365.js'
import { toOcsf } from '../../domain/ocsf.js'
import type { AuditRecord } from '../../domain/audit.js'
import { signCheckpoint } from '../../gateway/checkpoint.js'
import { unbackedRequests } from '../../stores/state-check.js'
import { AuditExportQuery, AuditQuery, ChainVerification, TenantParams, pageOf, problems } from '../schemas.js'

const security = [{ identityToken: [] }]
const KNOWN_OPERATIONS: ReadonlySet<string> = new Set(AUDIT_OPERATIONS)

interface AuditFilters {
  tenantId?: string
  requestId?: string
  operation?: string
  actorId?: string
  from?: string
  to?: string
}

/** Which tenants the caller may read: one named tenant, its own, or (security readers) all. */
export function auditTenantScope (caller: Caller, tenantId: string | undefined): Pick<StoreAuditQuery, 'tenantId' | 'tenantIds'> {
  if (tenantId !== undefined) {
    if (!may.readAudit(caller, tenantId)) throw new Forbidden(`you may not read the audit log of ${tenantId}`)
    return { tenantId }
  }
  if (may.readAllAudit(caller)) return {}
  if (isCustomerApprover(caller, caller.tenantId)) return { tenantId: caller.tenantId }
  throw new Forbidden('you may not read the audit log')
}

/** Turns query-string filters into a store query, refusing unknown operations and bad ranges. */
export function auditFilters (caller: Caller, q: AuditFilters): Omit<StoreAuditQuery, 'limit' | 'cursor'> {
  let operations: AuditOperation[] | undefined
  if (q.operation !== undefined) {
    operations = q.operation.split(',').map((s) => s.trim()).filter((s) => s !== '') as AuditOperation[]
    const unknown = operations.find((op) => !KNOWN_OPERATIONS.has(op))
    if (unknown !== undefined) throw new ValidationFailed(`unknown audit operation "${unknown}"`)
  }
  const from = q.from === undefined ? undefined : Date.parse(q.from)
  const to = q.to === undefined ? undefined : Date.parse(q.to)
  if (from !== undefined && to !== undefined && from > to) throw new ValidationFailed('"from" is after "to"')
  return { ...auditTenantScope(caller, q.tenantId), requestId: q.requestId, operations, actorId: q.actorId, from, to }
}

export type AuditFormatName = 'native' | 'o365' | 'ocsf'

/** How a record is rendered in a format: as stored, or mapped onto a SIEM's schema. */
export function renderRecord (format: AuditFormatName | undefined): (record: AuditRecord) => object {
  if (format === 'o365') return toO365
  if (format === 'ocsf') return toOcsf
  return (record) => record
}

const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/audit', {
    schema: {
      tags: ['audit'],
      security,
      summary: 'Search the audit log, oldest first',
      querystring: AuditQuery,
      response: { 200: pageOf(Type.Union([Type.Ref('AuditRecord'), Type.Ref('O365Record'), Type.Ref('OcsfRecord')])), ...problems(400, 401, 403) }
    }
  }, async (request) => {
    const { limit, cursor, format, ...filters } = request.query
    const page = await app.stores.audit.query({ ...auditFilters(request.caller, filters), limit: limit as number, cursor })
    return format === undefined || format === 'native' ? page : { items: page.items.map(renderRecord(format)), nextCursor: page.nextCursor }
  })

  app.get('/audit/export', {
    schema: {
      tags: ['audit'],
      security,
      summary: 'Every matching record, oldest first, as streamed NDJSON (application/x-ndjson)',
      querystring: AuditExportQuery,
      response: { ...problems(400, 401, 403) }
    }
  }, async (request, reply) => {
    const { format, ...filters } = request.query
    const filter = auditFilters(request.caller, filters)
    // Native records go out as the store keeps them; the other formats map each one.
    const native = format === undefined || format === 'native'
    const body = app.stores.audit.exportNdjson(filter, native ? undefined : renderRecord(format))
    const name = `lockbox-audit-${filters.tenantId ?? 'all'}${native ? '' : `-${format}`}.ndjson`
    return await reply
      .type('application/x-ndjson')
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(Readable.from(body, { objectMode: false }))
  })

  app.get('/audit/checkpoint', {
    schema: {
      tags: ['audit'],
      security,
      summary: 'A compact JWS (application/jose) over the tenant\'s chain head { tenantId, seq, hash, time }',
      querystring: Type.Pick(TenantParams, ['tenantId']),
      response: { 200: Type.String({ description: 'compact JWS, verifiable with /.well-known/jwks.json' }), ...problems(400, 401, 403) }
    }
  }, async (request, reply) => {
    const { tenantId } = request.query
    auditTenantScope(request.caller, tenantId)
    const head = await app.stores.audit.head(tenantId)
    return await reply.type('application/jose').send(await signCheckpoint(app.gateway.keys, tenantId, head, Date.now()))
  })

  app.get('/audit/verify', {
    schema: {
      tags: ['audit'],
      security,
      summary: 'Walk a tenant\'s hash chain and report the first break, every access after its grant ended, and stored state the chain does not back',
      querystring: Type.Pick(TenantParams, ['tenantId']),
      response: {
        200: ChainVerification,
        ...problems(400, 401, 403)
      }
    }
  }, async (request) => {
    const { tenantId } = request.query
    auditTenantScope(request.caller, tenantId)
    const chain = await app.stores.audit.verify(tenantId)
    const stateMismatches = (await unbackedRequests(app.stores.lockbox, app.stores.audit, { tenantId, now: app.now() }))
      .map(({ tenantId: _tenant, ...mismatch }) => mismatch)
    return { tenantId, ...chain, valid: chain.valid && stateMismatches.length === 0, stateMismatches }
  })
}

export default auditRoutes
