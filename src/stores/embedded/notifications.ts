// The notification outbox in memory: the current messages, their creation order (all of them, per
// status and per lockbox request) for listings, and the due list the delivery worker polls.
import type { OutboxMessage } from '../../notify/types.js'
import { NewestFirst } from './newest-first.js'

type Status = OutboxMessage['status']

export interface NotificationQuery { status?: Status, requestId?: string, limit: number }

/** Where a message sorts: its creation time, then the store-wide ordinal it was first seen with. */
interface Place { time: number, ordinal: number }

/** Ids are unique within a tenant, as the Redis store keys them: the same id in two tenants is two messages. */
export const notificationKey = (tenantId: string, id: string): string => tenantId + '\n' + id

/** When a pending message falls due: not before its next attempt, nor while a worker holds its lease. */
const dueAt = (message: OutboxMessage): number => Math.max(message.nextAttemptAt, message.leaseUntil)

function listOf (lists: Map<string, NewestFirst>, name: string): NewestFirst {
  let list = lists.get(name)
  if (list === undefined) {
    list = new NewestFirst('n')
    lists.set(name, list)
  }
  return list
}

export class NotificationState {
  private readonly messages = new Map<string, OutboxMessage>()
  private readonly places = new Map<string, Place>()
  private readonly all = new NewestFirst('n')
  /** Sent ones pile up for good; pending and dead ones are few, and found without walking past the sent. */
  private readonly ofStatus = new Map<string, NewestFirst>()
  private readonly ofRequest = new Map<string, NewestFirst>()

  get (key: string): OutboxMessage | undefined {
    return this.messages.get(key)
  }

  /** In first-seen order. */
  values (): OutboxMessage[] {
    return [...this.messages.values()]
  }

  /**
   * Stores the message's new value. Its tenant, id, request and creation time never change, so it
   * is placed on first sight (taking an `ordinal`) and only moves between status lists after that.
   */
  put (message: OutboxMessage, ordinal: () => number): void {
    const key = notificationKey(message.tenantId, message.id)
    const before = this.messages.get(key)
    let place = this.places.get(key)
    if (place === undefined) {
      place = { time: Date.parse(message.createdAt), ordinal: ordinal() }
      this.places.set(key, place)
      this.all.insert(key, place.time, place.ordinal)
      if (message.requestId !== null) listOf(this.ofRequest, message.requestId).insert(key, place.time, place.ordinal)
    }
    if (before?.status !== message.status) {
      if (before !== undefined) listOf(this.ofStatus, before.status).remove(place.time, place.ordinal)
      listOf(this.ofStatus, message.status).insert(key, place.time, place.ordinal)
    }
    this.messages.set(key, message)
  }

  /** A scan of the pending ones only: sorted by when each fell due, ties oldest first (the sort is stable). */
  listDue (now: number, limit: number): OutboxMessage[] {
    const pending = this.ofStatus.get('pending')?.keys() ?? []
    const due = pending.map((key) => this.messages.get(key) as OutboxMessage).filter((message) => dueAt(message) <= now)
    return due.sort((a, b) => dueAt(a) - dueAt(b)).slice(0, Math.max(1, Math.floor(limit)))
  }

  list (query: NotificationQuery): OutboxMessage[] {
    const order = query.requestId !== undefined
      ? this.ofRequest.get(query.requestId)
      : query.status !== undefined ? this.ofStatus.get(query.status) : this.all
    const page = order?.page({ limit: query.limit }, (key) => this.messages.get(key) as OutboxMessage,
      (message) => query.status === undefined || message.status === query.status)
    return page?.items ?? []
  }
}
