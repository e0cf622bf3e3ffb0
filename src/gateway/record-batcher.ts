// The content routes' audit records, committed together: every record appended during one turn of
// the event loop goes to the store in one change per tenant, and a record guarded by its grant
// (ContentAccessed: the enforcement invariant) in one change per grant, so that a grant that ended
// refuses only its own records and never another grant's (the store's own group commit then
// makes that change durable with whatever else is waiting). Every record of a change shares one
// promise: each caller hears back once its own record is durable, and a failed commit fails every
// record in it. (One promise per change rather than per record: on the hot path, per-record
// promises and their settle callbacks were a measurable share of a record's cost.)
import type { AuditDraft } from '../domain/audit.js'
import type { Change } from '../stores/types.js'

interface Waiting {
  drafts: AuditDraft[]
  /** The grant a guarded change requires, its `now` raised to the latest record's. */
  guard: { requestId: string, now: number } | undefined
  /** Settles as the change's commit does; made when the change is sent. */
  committed: Promise<void>
  send: () => void
}

/** Records one change may carry: keeps a store's single write short however large a burst is. */
export const MAX_BATCH = 256

export class RecordBatcher {
  private waiting = new Map<string, Waiting>()
  private scheduled = false
  private readonly inFlight = new Set<Promise<void>>()

  constructor (private readonly commit: (change: Change) => Promise<unknown>) {}

  /**
   * Resolves once the record is durable; rejects as the store's commit did (GrantEndedError when
   * `requireApproved` names a grant that is no longer Approved at `now`: nothing written).
   */
  append (draft: AuditDraft, requireApproved?: { requestId: string, now: number }): Promise<void> {
    // Tenant ids and request ids hold no NUL: the two kinds of key never meet.
    const key = requireApproved === undefined ? draft.tenantId : `${draft.tenantId}\0${requireApproved.requestId}`
    let batch = this.waiting.get(key)
    if (batch === undefined) {
      batch = this.open(draft.tenantId, requireApproved)
      this.waiting.set(key, batch)
    } else if (batch.guard !== undefined && requireApproved !== undefined && requireApproved.now > batch.guard.now) {
      // The latest clock of the batch: the check is then at least as strict as each record's own.
      batch.guard.now = requireApproved.now
    }
    batch.drafts.push(draft)
    const committed = batch.committed
    if (batch.drafts.length >= MAX_BATCH) {
      this.waiting.delete(key)
      batch.send()
    }
    if (!this.scheduled) {
      this.scheduled = true
      // After the I/O of this turn: requests read together are recorded together.
      setImmediate(this.flush)
    }
    return committed
  }

  /** Sends what is waiting now and resolves once every change sent so far has settled. */
  async drain (): Promise<void> {
    this.flush()
    await Promise.allSettled([...this.inFlight])
  }

  private readonly flush = (): void => {
    this.scheduled = false
    const waiting = this.waiting
    this.waiting = new Map()
    for (const batch of waiting.values()) batch.send()
  }

  /** A change being filled: its promise settles once `send` has handed it to the store and the store answered. */
  private open (tenantId: string, requireApproved: { requestId: string, now: number } | undefined): Waiting {
    const drafts: AuditDraft[] = []
    const guard = requireApproved === undefined ? undefined : { ...requireApproved }
    let send!: () => void
    const committed = new Promise<void>((resolve, reject) => {
      send = () => {
        const change: Change = guard === undefined ? { tenantId, audit: drafts } : { tenantId, audit: drafts, requireApproved: guard }
        const sent: Promise<void> = this.commit(change).then(() => { resolve() }, reject)
          .finally(() => { this.inFlight.delete(sent) })
        this.inFlight.add(sent)
      }
    })
    return { drafts, guard, committed, send }
  }
}
