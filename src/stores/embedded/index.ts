// The embedded store: all state in memory, made durable by one append-only journal in the data dir
// and rebuilt from it at start. One process owns the data dir; this is the single-machine backend.
import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { sealRecord, type AuditRecord } from '../../domain/audit.js'
import { iso } from '../../domain/lockbox.js'
import { StoreUnavailableError } from '../../errors.js'
import type { Change, GrantEvent, Stores } from '../types.js'
import { AuditIndex } from './audit-index.js'
import { createLocalEvents } from './local-events.js'
import { Journal, type JournalStats } from './journal.js'
import { replayJournal } from './replay.js'
import { EntityState, type JournalEntry } from './state.js'

export const JOURNAL_FILE = 'journal.jsonl'

export interface EmbeddedStoreOptions {
  dataDir: string
  /** Epoch ms; audit times come from it (never going backwards). */
  now?: () => number
}

export interface EmbeddedStores extends Stores {
  /** Journal counters, for tests and metrics: how well group commit is batching. */
  readonly stats: JournalStats
}

function nonEmpty<T> (list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined
}

/** Every entity and draft of a change must belong to the change's tenant: its chain, its keys. */
function assertOneTenant (change: Change): void {
  const tenants = [
    ...(change.requests ?? []).map((put) => put.value.tenantId),
    ...(change.serviceRequests ?? []).map((put) => put.value.tenantId),
    ...[change.tenantSettings?.value.tenantId].filter((tenantId) => tenantId !== undefined),
    ...change.audit.map((draft) => draft.tenantId)
  ]
  const stranger = tenants.find((tenantId) => tenantId !== change.tenantId)
  if (stranger !== undefined) throw new Error(`a change of tenant ${change.tenantId} touches tenant ${stranger}`)
}

export async function openEmbeddedStores (options: EmbeddedStoreOptions): Promise<EmbeddedStores> {
  const now = options.now ?? Date.now
  await mkdir(options.dataDir, { recursive: true })
  const path = join(options.dataDir, JOURNAL_FILE)
  const state = new EntityState()
  const audit = new AuditIndex()
  const applyEntry = (entry: JournalEntry): void => {
    state.apply(entry)
    for (const record of entry.audit ?? []) audit.append(record)
  }
  await replayJournal(path, applyEntry)
  const journal = await Journal.open(path)
  const grantEvents = createLocalEvents<GrantEvent>()
  const appended = createLocalEvents<AuditRecord[]>()
  let closing: Promise<void> | null = null

  /** Nothing is answered from a store that is closed or whose journal failed: callers fail closed. */
  function guard (): void {
    if (!journal.usable) {
      throw new StoreUnavailableError(closing === null ? `the embedded store could not write ${path} and is out of service` : 'the embedded store is closed')
    }
  }

  function guarded<A extends unknown[], R> (read: (...args: A) => R): (...args: A) => Promise<R> {
    return async (...args) => {
      guard()
      return read(...args)
    }
  }

  /**
   * Check, seal and apply run in one synchronous section, so no other commit can interleave: that is
   * the whole compare-and-set. The journal line is queued in the same section, so file order is
   * commit order. The caller hears back once the line is durable.
   */
  async function commit (change: Change): Promise<AuditRecord[]> {
    guard()
    assertOneTenant(change)
    const checked = state.check(change)
    const time = iso(Math.max(now(), audit.lastTime))
    let head = audit.head(change.tenantId)
    const records = change.audit.map((draft) => {
      const record = sealRecord(draft, head, { id: randomUUID(), time })
      head = record
      return record
    })
    const line = JSON.stringify({
      tenantId: change.tenantId,
      requests: nonEmpty(checked.requests),
      serviceRequests: nonEmpty(checked.serviceRequests),
      tenantSettings: checked.tenantSettings,
      audit: nonEmpty(records)
    } satisfies JournalEntry)
    // Memory takes the values back from the line itself, so it holds exactly what a replay would.
    const entry = JSON.parse(line) as JournalEntry
    applyEntry(entry)
    await journal.append(line)
    for (const event of checked.leftApproved) grantEvents.emit(event)
    if (entry.audit !== undefined) appended.emit(entry.audit)
    return entry.audit ?? []
  }

  return {
    lockbox: {
      commit,
      getTenantSettings: guarded((tenantId) => state.getTenantSettings(tenantId)),
      nextServiceRequestNumber: guarded((tenantId) => state.nextServiceRequestNumber(tenantId)),
      getServiceRequest: guarded((tenantId, number) => state.getServiceRequest(tenantId, number)),
      listServiceRequests: guarded((tenantId, page) => state.listServiceRequests(tenantId, page)),
      getRequest: guarded((id) => state.getRequest(id)),
      listRequests: guarded((query) => state.listRequests(query)),
      listRequestsOfServiceRequest: guarded((tenantId, number) => state.listRequestsOfServiceRequest(tenantId, number)),
      listUnsettledRequests: guarded(() => state.listUnsettledRequests())
    },
    audit: {
      query: guarded((query) => audit.query(query)),
      export: (filter) => audit.export(filter, guard),
      verify: async (tenantId) => {
        guard()
        return await audit.verify(tenantId, guard)
      },
      head: guarded((tenantId) => audit.head(tenantId)),
      subscribe: appended.subscribe
    },
    grantEvents: {
      publish: guarded(grantEvents.emit),
      subscribe: grantEvents.subscribe
    },
    ping: async () => journal.usable,
    close: async () => {
      closing ??= journal.close()
      await closing
    },
    get stats () {
      return journal.stats
    }
  }
}
