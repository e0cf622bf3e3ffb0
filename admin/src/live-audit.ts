// Follows a request's audit trail: the records so far from GET /v1/audit, then each new one as the
// stream delivers it. Reconnects after a drop and fills the gap from the search, so nothing is missed.
import { api, detach, fetchApi, isAbort, problemOf, ApiError } from './api.js'
import { readEvents } from './sse.js'
import type { AuditRecord, Page } from './types.js'

export type LiveState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'reconnecting' }
  | { kind: 'failed', message: string }

export interface LiveAuditOptions {
  tenantId: string
  requestId: string
  signal: AbortSignal
  /** Records in seq order, each once. */
  onRecords: (records: AuditRecord[]) => void
  onState: (state: LiveState) => void
}

const RETRY_MS = 2000

export function followAudit (options: LiveAuditOptions): void {
  const { tenantId, requestId, signal, onRecords, onState } = options
  const query = new URLSearchParams({ tenantId, requestId }).toString()
  const seen = new Set<number>()

  const deliver = (records: AuditRecord[]): void => {
    const fresh = records.filter((r) => !seen.has(r.seq)).sort((a, b) => a.seq - b.seq)
    for (const r of fresh) seen.add(r.seq)
    if (fresh.length > 0) onRecords(fresh)
  }

  const loadHistory = async (signal: AbortSignal): Promise<void> => {
    let cursor: string | null = null
    do {
      const page: Page<AuditRecord> = await api('GET', `/v1/audit?${query}&limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, { signal })
      deliver(page.items)
      cursor = page.nextCursor
    } while (cursor !== null)
  }

  const connectOnce = async (): Promise<void> => {
    // Each attempt ends its own stream, whatever way it fails: never two streams at once.
    const attempt = new AbortController()
    const attemptSignal = AbortSignal.any([signal, attempt.signal])
    try {
      const res = await fetchApi('GET', `/v1/audit/stream?${query}`, { signal: attemptSignal })
      if (!res.ok || res.body === null) throw await problemOf(res)
      // The server subscribes before it answers, so the search below cannot miss a record that the
      // stream will not carry either.
      const streamed = readEvents(res.body, (event) => {
        if (event.event === 'record') deliver([JSON.parse(event.data) as AuditRecord])
      })
      streamed.catch(() => {})
      await loadHistory(attemptSignal)
      onState({ kind: 'live' })
      await streamed
    } finally {
      attempt.abort()
    }
  }

  const run = async (): Promise<void> => {
    onState({ kind: 'connecting' })
    while (!signal.aborted) {
      try {
        await connectOnce()
      } catch (err) {
        if (isAbort(err) || signal.aborted) return
        // A refusal (403, 400) will not change by retrying; a drop or a 5xx may.
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          onState({ kind: 'failed', message: err.message })
          return
        }
      }
      if (signal.aborted) return
      onState({ kind: 'reconnecting' })
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    }
  }
  detach(run())
}
