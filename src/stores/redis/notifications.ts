// The notification outbox's reads on Redis: the due messages of every tenant, soonest first, and
// newest-first listings merged across tenants from each tenant's creation-order indexes. The indexes
// are read before the values, so every value is checked again against what was asked: a claim on
// another replica may have come between.
import { isDue } from '../../domain/outbox.js'
import type { OutboxMessage } from '../../notify/types.js'
import type { RedisClient } from './connect.js'
import { decodeId, encodeId, type RedisKeys } from './keys.js'
import { readValues } from './reads.js'
import type { Registry } from './registry.js'

export interface NotificationQuery { status?: OutboxMessage['status'], requestId?: string, limit: number }

/** An index entry: `position` is `createdAt:id` (fixed-width time first, so text order is creation order). */
interface Entry { tenantId: string, position: string }

/**
 * The lexicographic range of the members that start with `stem:`, newest first: `;` follows `:`, and
 * an encoded id holds neither, so a longer stem cannot fall inside.
 */
const under = (stem: string): [string, string] => [`(${stem};`, `[${stem}:`]

const timeOf = (entry: Entry): number => Number(entry.position.slice(0, entry.position.indexOf(':')))

export class NotificationReads {
  constructor (private readonly client: RedisClient, private readonly keys: RedisKeys, private readonly registry: Registry) {}

  /** Each tenant's soonest `limit`, then the soonest `limit` of them all. */
  async listDue (now: number, limit: number): Promise<OutboxMessage[]> {
    const count = Math.max(1, Math.floor(limit))
    const perTenant = await Promise.all((await this.registry.tenants()).map(async (tenantId) => {
      const found = await this.client.zrangebyscore(this.keys.notificationsDue(tenantId), '-inf', now, 'WITHSCORES', 'LIMIT', 0, count)
      const due: Array<{ key: string, score: number }> = []
      for (let index = 0; index < found.length; index += 2) {
        due.push({ key: this.keys.notification(tenantId, found[index] as string), score: Number(found[index + 1]) })
      }
      return due
    }))
    const soonest = perTenant.flat().sort((a, b) => a.score - b.score).slice(0, count)
    const messages = await readValues<OutboxMessage>(this.client, soonest.map((due) => due.key))
    return messages.filter((message) => isDue(message, now))
  }

  async list (query: NotificationQuery): Promise<OutboxMessage[]> {
    const limit = Math.max(1, Math.floor(query.limit))
    const tenants = await this.registry.tenants()
    let entries: Entry[]
    if (query.requestId !== undefined) {
      // A request has few notifications: all of them are read, and the status is checked on the values.
      const stem = encodeId(query.requestId)
      entries = await this.newest(tenants, (tenantId) => this.keys.notificationsByRequest(tenantId), under(stem), stem.length + 1, -1)
    } else if (query.status !== undefined) {
      entries = await this.newest(tenants, (tenantId) => this.keys.notificationsByStatus(tenantId), under(query.status), query.status.length + 1, limit)
    } else {
      entries = await this.newest(tenants, (tenantId) => this.keys.notifications(tenantId), ['+', '-'], 0, limit)
    }
    const keys = entries.map(({ tenantId, position }) => this.keys.notification(tenantId, decodeId(position.split(':')[1] as string)))
    const messages = await readValues<OutboxMessage>(this.client, keys)
    return messages.filter((message) => query.status === undefined || message.status === query.status).slice(0, limit)
  }

  /**
   * Each tenant's newest `count` members in `range` of its set (-1: all of them), with the first
   * `skip` characters cut off, merged newest first. Equal times keep each tenant's own order.
   */
  private async newest (tenants: string[], setOf: (tenantId: string) => string, [max, min]: [string, string], skip: number, count: number): Promise<Entry[]> {
    const perTenant = await Promise.all(tenants.map(async (tenantId) => {
      const members = await this.client.zrevrangebylex(setOf(tenantId), max, min, 'LIMIT', 0, count)
      return members.map((member) => ({ tenantId, position: member.slice(skip) }))
    }))
    const entries = perTenant.flat().sort((a, b) => timeOf(b) - timeOf(a))
    return count === -1 ? entries : entries.slice(0, count)
  }
}
