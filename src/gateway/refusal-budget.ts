// The budget of content refusals without a valid token (API.md §5). Anyone can send requests with
// no token or a forged one, and each refusal used to be one audit record (with a path the sender
// chose): a flood grew a tenant's log, and the gateway's memory, without bound. Now each client
// address has a budget of such refusals per window, and each tenant one for all addresses together;
// within both, a refusal is answered and recorded one by one as before. Past either, it is answered
// 429 with Retry-After (after `delayMs`, which slows a flood down) and counted into its source's
// summary, written every `summaryIntervalMs`: at most one record per source per interval, however
// fast the flood. The counters are
// @fastify/rate-limit's (shared through Redis by every replica on the Redis store); a valid token
// never reaches this budget.
import { setTimeout as sleep } from 'node:timers/promises'
import { normalizeIP } from '@fastify/rate-limit'
import type { RefusalBudgetConfig } from '../../config/schema.js'
import type { AuditDraft } from '../domain/audit.js'
import { RefusalSummaries, summaryDraft, type RefusalTally } from './refusal-summaries.js'
import type { Log } from '../log.js'

/** Counts one refusal against `key`'s budget of `max` per window: over it or not, and for how long. */
export type BudgetCounter = (key: string, max: number) => Promise<{ exceeded: boolean, retryAfterSeconds: number }>

/** A refusal without a valid token, as the guard knows it. */
export interface UnauthenticatedRefusal {
  /** The tenant whose path was asked for; null when the path names no known tenant (nothing is recorded). */
  tenantId: string | null
  clientIp: string | null
  workload: string
  method: string
  path: string
  reason: string
}

export interface RefusalBudgetDeps {
  /** Appends a summary record; resolves once durable. */
  record: (draft: AuditDraft) => Promise<unknown>
  now: () => number
  log: Log
}

/** Throttled answers held back (`delayMs`) at once; past this many, they go out at once: memory stays bounded. */
export const MAX_HELD = 1000

export class RefusalBudget {
  private readonly summaries: RefusalSummaries
  private readonly timer: NodeJS.Timeout
  private writing: Promise<void> = Promise.resolve()
  private closed = false
  private held = 0

  constructor (private readonly config: RefusalBudgetConfig, private readonly deps: RefusalBudgetDeps) {
    this.summaries = new RefusalSummaries(config.maxSources)
    this.timer = setInterval(() => { this.flush().catch(() => {}) }, config.summaryIntervalMs)
    this.timer.unref()
  }

  /** Refusals counted and not yet written. */
  get pending (): number {
    return this.summaries.pending
  }

  /**
   * Judges one refusal: null while its address and tenant are within budget (the caller records
   * and answers it as usual); otherwise it is counted into its source's summary, and the answer is
   * the seconds the client should wait. Never rejects: a counter that cannot answer (Redis away)
   * leaves the refusal within budget, recorded one by one (or answered 503 if the log is away too).
   */
  async admit (refusal: UnauthenticatedRefusal, counter: BudgetCounter): Promise<number | null> {
    // Once closing, every refusal is recorded one by one: no summary is written after the last one.
    if (this.closed) return null
    const source = refusal.clientIp === null ? null : normalizeIP(refusal.clientIp)
    let retryAfterSeconds: number
    try {
      const byAddress = await counter(`addr:${source ?? 'unknown'}`, this.config.perAddress)
      // An address past its own budget no longer spends its tenant's: one loud source cannot use up
      // the budget of the others.
      const verdict = byAddress.exceeded || refusal.tenantId === null ? byAddress : await counter(`tenant:${refusal.tenantId}`, this.config.perTenant)
      if (!verdict.exceeded) return null
      retryAfterSeconds = Math.max(1, verdict.retryAfterSeconds)
    } catch (err) {
      this.deps.log.error({ err }, 'the refusal budget could not be checked: refusal recorded on its own')
      return null
    }
    // Closed while the counter answered: the last summaries may be written already.
    if (this.closed) return null
    if (refusal.tenantId !== null) this.summaries.count({ ...refusal, tenantId: refusal.tenantId, source, at: this.deps.now() })
    // The answer waits; the flood's connections wait with it, and the event loop serves the others.
    // Each wait is drawn from ½ to 1½ × delayMs: equal waits would answer a flood's connections in
    // step, and they would come back as one burst that holds up everyone else behind it.
    if (this.config.delayMs > 0 && this.held < MAX_HELD) {
      this.held++
      await sleep(Math.round(this.config.delayMs * (0.5 + Math.random())), undefined, { ref: false })
      this.held--
    }
    return retryAfterSeconds
  }

  /** Writes one summary per source counted since the last; resolves once they are durable (or failed). */
  async flush (): Promise<void> {
    // One write at a time, in order: a summary that failed is counted again before the next is taken.
    this.writing = this.writing.then(async () => { await this.write(this.summaries.take()) })
    await this.writing
  }

  /** Stops the timer and writes what is counted: no refusal counted before the close is lost. */
  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    await this.flush()
  }

  private async write (tallies: RefusalTally[]): Promise<void> {
    await Promise.all(tallies.map(async (tally) => {
      try {
        await this.deps.record(summaryDraft(tally))
        this.deps.log.warn({ tenantId: tally.tenantId, source: tally.source, count: tally.count }, 'content refusals past the budget, recorded as one summary')
      } catch (err) {
        this.deps.log.error({ err, tenantId: tally.tenantId, count: tally.count }, 'could not record a refusal summary: counted again for the next one')
        this.summaries.restore(tally)
      }
    }))
  }
}
