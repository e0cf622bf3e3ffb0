// Grant events and new audit records across replicas, over Redis pub/sub. What this store commits
// or publishes is delivered to its own listeners directly; messages carry the store's origin so the
// copy Redis echoes back is dropped. Audit messages name a range of a tenant's stream, read only by
// replicas that have listeners. Pub/sub loses what is published while a replica is disconnected:
// the grant cache's short TTL bounds how long that can matter.
import type { AuditRecord } from '../../domain/audit.js'
import type { GrantEvent } from '../types.js'
import { createLocalEvents } from '../local-events.js'
import type { RedisClient } from './connect.js'
import type { RedisKeys } from './keys.js'
import type { Log } from '../../log.js'

interface GrantMessage { o: string, e: GrantEvent }
interface AuditMessage { o: string, t: string, f: string, l: string }

export class RedisEvents {
  readonly grants = createLocalEvents<GrantEvent>()
  readonly records = createLocalEvents<AuditRecord[]>()
  /** The grant subscription was renewed after a break: what was published meanwhile is lost. */
  readonly resubscribed = createLocalEvents<undefined>()
  private readies = 0
  private recordListeners = 0
  /** Remote batches are read one after another, so listeners hear them in the order they arrived. */
  private reading: Promise<void> = Promise.resolve()

  constructor (private readonly subscriber: RedisClient, private readonly client: RedisClient, private readonly keys: RedisKeys,
    private readonly origin: string, private readonly log: Log) {
    subscriber.on('message', (channel: string, message: string) => { this.receive(channel, message) })
  }

  /** Resolves once the grant channel is subscribed; the subscription is renewed after reconnects. */
  async start (): Promise<void> {
    await this.subscriber.subscribe(this.keys.grantChannel())
  }

  /**
   * The subscriber connection is ready (again). ioredis renews its subscriptions by itself; asking
   * once more (harmless) tells us when the grant channel is live, and only then are the listeners
   * told to re-read what they may have missed.
   */
  ready (): void {
    if (this.readies++ === 0) return
    this.subscriber.subscribe(this.keys.grantChannel()).then(() => { this.resubscribed.emit(undefined) }, this.renewalFailed)
  }

  /* c8 ignore next 3 -- the connection dropped again between its ready and this subscribe: its next ready renews it */
  private readonly renewalFailed = (err: unknown): void => {
    this.log.warn({ err }, 'could not renew the grant event subscription')
  }

  async publishGrant (event: GrantEvent): Promise<void> {
    await this.client.publish(this.keys.grantChannel(), JSON.stringify({ o: this.origin, e: event } satisfies GrantMessage))
    this.grants.emit(event)
  }

  subscribeRecords (listener: (records: AuditRecord[]) => void): () => void {
    if (this.recordListeners++ === 0) this.follow('subscribe')
    const unsubscribe = this.records.subscribe(listener)
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      unsubscribe()
      if (--this.recordListeners === 0) this.follow('unsubscribe')
    }
  }

  /** Waits for remote batches being read. */
  async settled (): Promise<void> {
    await this.reading
  }

  private follow (action: 'subscribe' | 'unsubscribe'): void {
    this.subscriber[action](this.keys.auditChannel()).catch((err: unknown) => {
      this.log.warn({ err }, `could not ${action} the audit record channel`)
    })
  }

  private receive (channel: string, message: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      return
    }
    if (typeof parsed !== 'object' || parsed === null || (parsed as { o?: unknown }).o === this.origin) return
    if (channel === this.keys.grantChannel()) {
      const { e: event } = parsed as Partial<GrantMessage>
      if (typeof event?.requestId === 'string') this.grants.emit({ requestId: event.requestId, tenantId: String(event.tenantId), status: event.status as GrantEvent['status'] })
      return
    }
    const { t: tenantId, f: first, l: last } = parsed as Partial<AuditMessage>
    if (channel !== this.keys.auditChannel() || typeof tenantId !== 'string' || typeof first !== 'string' || typeof last !== 'string') return
    this.reading = this.reading.then(async () => {
      const entries = await this.client.xrange(this.keys.auditStream(tenantId), first, last) as Array<[string, string[]]>
      const records = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('r') + 1] as string) as AuditRecord)
      if (records.length > 0) this.records.emit(records)
    }).catch((err: unknown) => {
      this.log.warn({ err, tenantId }, 'could not read audit records another replica committed')
    })
  }
}
