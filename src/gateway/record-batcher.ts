// The content routes' audit records, committed together: every record appended during one turn of
// the event loop goes to the store in one change per tenant (the store's own group commit then
// makes that change durable with whatever else is waiting). Every record of a change shares one
// promise: each caller hears back once its own record is durable, and a failed commit fails every
// record in it. (One promise per change rather than per record: on the hot path, per-record
// promises and their settle callbacks were a measurable share of a record's cost.)
import type { AuditDraft } from '../domain/audit.js'
import type { Change } from '../stores/types.js'

interface Waiting {
  drafts: AuditDraft[]
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

  /** Resolves once the record is durable; rejects as the store's commit did. */
  append (draft: AuditDraft): Promise<void> {
    let batch = this.waiting.get(draft.tenantId)
    if (batch === undefined) {
      batch = this.open(draft.tenantId)
      this.waiting.set(draft.tenantId, batch)
    }
    batch.drafts.push(draft)
    const committed = batch.committed
    if (batch.drafts.length >= MAX_BATCH) {
      this.waiting.delete(draft.tenantId)
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
  private open (tenantId: string): Waiting {
    const drafts: AuditDraft[] = []
    let send!: () => void
    const committed = new Promise<void>((resolve, reject) => {
      send = () => {
        const sent: Promise<void> = this.commit({ tenantId, audit: drafts }).then(() => { resolve() }, reject)
          .finally(() => { this.inFlight.delete(sent) })
        this.inFlight.add(sent)
      }
    })
    return { drafts, committed, send }
  }
}
