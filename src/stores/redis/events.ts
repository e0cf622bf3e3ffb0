// Grant events and new audit records across replicas, over Redis pub/sub. What this store commits
// or publishes is delivered to its own listeners directly; messages carry the store's origin so the
// copy Redis echoes back is dropped. Audit messages name a range of a tenant's stream, read only by
// replicas that have listeners. Pub/sub loses what is published while a replica is disconnected
// (or while Redis refuses its subscription): the grant cache's short TTL bounds how long that can
// matter for new requests, and transfers in flight are re-read from the store.
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditRecord } from '../../domain/audit.js'
import type { GrantEvent } from '../types.js'
import { createLocalEvents } from '../local-events.js'
import type { RedisClient } from './connect.js'
import type { RedisKeys } from './keys.js'
import type { Log } from '../../log.js'

const NOTHING = (): void => {}

interface GrantMessage { o: string, e: GrantEvent }
interface AuditMessage { o: string, t: string, f: string, l: string }

export class RedisEvents {
  readonly grants = createLocalEvents<GrantEvent>()
  readonly records = createLocalEvents<AuditRecord[]>()
  /** The grant subscription was renewed after a break: what was published meanwhile is lost. */
  readonly resubscribed = createLocalEvents<undefined>()
  private readies = 0
  /** Renewals started: a renewal still retrying stops once a newer one starts. */
  private renewals = 0
  private recordListeners = 0
  /** Remote batches are read one after another, so listeners hear them in the order they arrived. */
  private reading: Promise<void> = Promise.resolve()

  constructor (private readonly subscriber: RedisClient, private readonly client: RedisClient, private readonly keys: RedisKeys,
    private readonly origin: string, private readonly log: Log, private readonly retryMs = 1000) {
    subscriber.on('message', (channel: string, message: string) => { this.receive(channel, message) })
  }

  /** Resolves once the grant channel is subscribed; the subscription is renewed after reconnects. */
  async start (): Promise<void> {
    await this.subscriber.subscribe(this.keys.grantChannel())
  }

  /**
   * The subscriber connection is ready (again): its subscriptions are renewed here (ioredis's own
   * renewal is off: a refused one would reject with nobody to hear it), and only once the grant
   * channel is live are the listeners told to re-read what they may have missed. A renewal Redis
   * refuses while the connection stays up (NOPERM: the ACL user lost the channel) is tried again
   * every `retryMs` until it succeeds or the connection drops (its next ready starts over).
   */
  ready (): void {
    if (this.readies++ === 0) return
    const renewal = ++this.renewals
    this.renew(renewal).then(NOTHING, NOTHING)
  }

  private async renew (renewal: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.subscriber.subscribe(...this.channels())
        if (attempt > 1) this.log.info({ attempts: attempt }, 'the grant event subscription is renewed')
        this.resubscribed.emit(undefined)
        return
      } catch (err) {
        // Not while the connection is away (its next ready renews) or closing.
        /* c8 ignore next -- the connection dropped between its ready and this subscribe's answer */
        if (renewal !== this.renewals || this.subscriber.status !== 'ready') return
        if (attempt === 1) this.log.warn({ err }, `could not renew the grant event subscription: trying again every ${this.retryMs} ms; meanwhile grants in flight are re-read from the store`)
      }
      await sleep(this.retryMs, undefined, { ref: false })
      /* c8 ignore next -- the connection dropped, or the store closed, while a refused renewal waited */
      if (renewal !== this.renewals || this.subscriber.status !== 'ready') return
    }
  }

  /** The channels this store listens on now. */
  private channels (): string[] {
    return this.recordListeners > 0 ? [this.keys.grantChannel(), this.keys.auditChannel()] : [this.keys.grantChannel()]
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
