// Builders and helpers for the store contract: realistic values made with the domain's own functions.
import type tap from 'tap'
import { randomUUID } from 'node:crypto'
import type { AuditDraft, AuditOperation } from '../../src/domain/audit.js'
import { grantEventsOf } from '../../src/domain/grant-event.js'
import { createRequest, iso, transition, type HistoryActor, type LockboxEvent, type LockboxOperation, type LockboxRequest } from '../../src/domain/lockbox.js'
import type { ServiceRequest } from '../../src/domain/tenant.js'
import type { OutboxMessage } from '../../src/notify/types.js'
import type { Page, Stores } from '../../src/stores/types.js'

/** A tap test, top-level or subtest. */
export type Test = Parameters<Parameters<typeof tap.test>[0]>[0]
export type OpenStores = () => Promise<Stores>

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const PENDING_TTL = 12 * HOUR
export const T0 = Date.parse('2025-06-02T08:00:00.000Z')

const MANAGER: HistoryActor = { id: 'mgr-1', role: 'SupportManager' }
const APPROVER: HistoryActor = { id: 'approver-1', role: 'CustomerLockboxApprover' }

/** Opens a store that closes itself when the test ends. */
export async function openFor (t: Test, open: OpenStores): Promise<Stores> {
  const stores = await open()
  t.teardown(() => stores.close())
  return stores
}

export function newRequest (spec: { tenantId?: string, requester?: string, serviceRequestNumber?: string, at?: number } = {}): LockboxRequest {
  const requester = spec.requester ?? 'eng-1'
  return createRequest({
    id: randomUUID(),
    tenantId: spec.tenantId ?? 'contoso',
    serviceRequestNumber: spec.serviceRequestNumber ?? '100001',
    workload: 'exchange',
    scope: '/mailboxes/alice@contoso.com',
    accessLevel: 'read',
    duration: 'PT1H',
    durationMs: HOUR,
    justification: 'Mailbox stopped syncing after migration',
    requester: { id: requester, name: `Engineer ${requester}` }
  }, { now: spec.at ?? T0, pendingTtlMs: PENDING_TTL })
}

export function newServiceRequest (number: string, tenantId = 'contoso', at = T0): ServiceRequest {
  return {
    number,
    tenantId,
    title: `Case ${number}`,
    description: null,
    status: 'Open',
    createdBy: { id: 'eng-1', name: 'Engineer eng-1' },
    createdAt: iso(at),
    closedAt: null,
    version: 0
  }
}

/** A pending e-mail to approvers, created at `at` and first due then, unless the spec says otherwise. */
export function newNotification (spec: { tenantId?: string, requestId?: string | null, at?: number, status?: OutboxMessage['status'], nextAttemptAt?: number, leaseUntil?: number } = {}): OutboxMessage {
  const at = spec.at ?? T0
  return {
    id: randomUUID(),
    tenantId: spec.tenantId ?? 'contoso',
    requestId: spec.requestId === undefined ? randomUUID() : spec.requestId,
    channel: 'email',
    kind: 'ApprovalRequested',
    event: 'lockbox.request.awaiting_customer_approval',
    email: { to: ['it@contoso.com'], subject: 'Lockbox: a request awaits your decision', text: 'Decide before 20:00 UTC.', html: '<p>Decide before 20:00 UTC.</p>' },
    webhook: null,
    createdAt: iso(at),
    status: spec.status ?? 'pending',
    attempts: 0,
    nextAttemptAt: spec.nextAttemptAt ?? at,
    lastError: null,
    leaseUntil: spec.leaseUntil ?? 0,
    version: 0
  }
}

export function draft (operation: AuditOperation, spec: { tenantId?: string, requestId?: string, actorId?: string, details?: Record<string, unknown> } = {}): AuditDraft {
  return {
    tenantId: spec.tenantId ?? 'contoso',
    operation,
    result: 'Success',
    actor: { id: spec.actorId ?? 'eng-1', type: 'SupportEngineer' },
    clientIp: '127.0.0.1',
    requestId: spec.requestId ?? null,
    workload: 'exchange',
    object: null,
    details: spec.details ?? {}
  }
}

function actorFor (event: LockboxEvent): HistoryActor {
  return event.startsWith('Manager') ? MANAGER : APPROVER
}

/** The request after `event` at `now`, as the domain computes it (not stored). */
export function next (request: LockboxRequest, event: LockboxEvent, now: number, actor = actorFor(event)): { request: LockboxRequest, operation: LockboxOperation } {
  const result = transition(request, event, { now, actor, pendingTtlMs: PENDING_TTL, lockboxEnabled: true })
  if (!result.ok) throw new Error(`${event} is not allowed from ${result.status}`)
  return result
}

/** Creates the request in the store, with its record, and returns it as stored. */
export async function storeRequest (stores: Stores, request: LockboxRequest): Promise<LockboxRequest> {
  await stores.lockbox.commit({
    tenantId: request.tenantId,
    requests: [{ value: request, expectedVersion: 0 }],
    audit: [draft('LockboxRequestCreated', { tenantId: request.tenantId, requestId: request.id, actorId: request.requester.id })]
  })
  return await stores.lockbox.getRequest(request.id) as LockboxRequest
}

/**
 * Applies `event` to the stored request, commits it with its record and the grant event it implies
 * (as the workflow does), and returns it as stored.
 */
export async function advance (stores: Stores, request: LockboxRequest, event: LockboxEvent, now: number, actor = actorFor(event)): Promise<LockboxRequest> {
  const step = next(request, event, now, actor)
  await stores.lockbox.commit({
    tenantId: request.tenantId,
    requests: [{ value: step.request, expectedVersion: request.version }],
    audit: [draft(step.operation, { tenantId: request.tenantId, requestId: request.id, actorId: actor.id })],
    grantEvents: grantEventsOf(request.status, step.request)
  })
  return await stores.lockbox.getRequest(request.id) as LockboxRequest
}

/** Follows cursors to the end. */
export async function allPages<T> (fetch: (cursor: string | undefined) => Promise<Page<T>>): Promise<{ items: T[], pages: number }> {
  const items: T[] = []
  let cursor: string | undefined
  for (let pages = 1; ; pages++) {
    const page = await fetch(cursor)
    items.push(...page.items)
    if (page.nextCursor === null) return { items, pages }
    if (pages === 1000) throw new Error('paging never ends')
    cursor = page.nextCursor
  }
}
