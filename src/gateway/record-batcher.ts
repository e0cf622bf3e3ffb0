// The content routes' audit records, committed together: every record appended during one turn of
// the event loop goes to the store in one change per tenant (the store's own group commit then
// makes that change durable with whatever else is waiting). Each caller still hears back only once
// its own record is durable, and a failed commit fails every record in it.
import type { AuditDraft } from '../domain/audit.js'
import type { Change } from '../stores/types.js'

interface Waiting {
  drafts: AuditDraft[]
  settle: Array<{ resolve: () => void, reject: (err: unknown) => void }>
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
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(draft.tenantId)
      if (batch === undefined) {
        batch = { drafts: [], settle: [] }
        this.waiting.set(draft.tenantId, batch)
      }
      batch.drafts.push(draft)
      batch.settle.push({ resolve, reject })
      if (batch.drafts.length >= MAX_BATCH) {
        this.waiting.delete(draft.tenantId)
        this.send(draft.tenantId, batch)
      }
      if (!this.scheduled) {
        this.scheduled = true
        // After the I/O of this turn: requests read together are recorded together.
        setImmediate(this.flush)
      }
    })
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
    for (const [tenantId, batch] of waiting) this.send(tenantId, batch)
  }

  private send (tenantId: string, batch: Waiting): void {
    const sent: Promise<void> = this.commit({ tenantId, audit: batch.drafts }).then(
      () => { for (const { resolve } of batch.settle) resolve() },
      (err: unknown) => { for (const { reject } of batch.settle) reject(err) }
    ).finally(() => { this.inFlight.delete(sent) })
    this.inFlight.add(sent)
  }
}
