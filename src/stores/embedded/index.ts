// The embedded store: all state in memory, made durable by one append-only journal in the data dir
// and rebuilt from it at start. One process owns the data dir; this is the single-machine backend.
import { randomUUID } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { sealRecordText, type AuditRecord, type SealedRecord } from '../../domain/audit.js'
import { iso } from '../../domain/lockbox.js'
import { StoreUnavailableError } from '../../errors.js'
import type { Change, GrantEvent, Stores } from '../types.js'
import { AuditIndex } from './audit-index.js'
import { CompactedJournal, COMPACTING_SUFFIX, compactedLines } from './compaction.js'
import type { JournalLine } from './lines.js'
import { createLocalEvents } from './local-events.js'
import { Journal, type JournalStats } from './journal.js'
import { replayJournal } from './replay.js'
import { EntityState, type CheckedChange, type JournalEntry } from './state.js'
import { assertOneTenant, grantEnded } from '../change.js'

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

export async function openEmbeddedStores (options: EmbeddedStoreOptions): Promise<EmbeddedStores> {
  const now = options.now ?? Date.now
  await mkdir(options.dataDir, { recursive: true })
  const path = join(options.dataDir, JOURNAL_FILE)
  // What a compaction cut short by a crash left behind: the journal itself is still the old one.
  await rm(path + COMPACTING_SUFFIX, { force: true })
  const state = new EntityState()
  let audit = new AuditIndex()
  const applyEntry = (entry: JournalEntry): void => {
    state.apply(entry)
    for (const record of entry.audit ?? []) audit.append(record)
  }
  let replayed = 0
  await replayJournal(path, (line: JournalLine) => {
    if ('snapshot' in line) {
      if (replayed > 0) throw new Error('a snapshot can only be the first line')
      audit.restore(line.snapshot)
    } else if ('kept' in line) {
      state.applyKept(line.kept)
      for (const record of line.kept.audit ?? []) audit.append(record)
    } else {
      applyEntry(line)
    }
    replayed++
  })
  let journal = await Journal.open(path)
  const grantEvents = createLocalEvents<GrantEvent>()
  const appended = createLocalEvents<AuditRecord[]>()
  let closing: Promise<void> | null = null
  /** While a compaction swaps journals, commits wait for it here. */
  let gate: Promise<void> | null = null
  /** While a compaction writes its file, the lines committed since its snapshot, to carry over. */
  let carried: string[] | null = null
  /** Compactions run one at a time. */
  let pruning: Promise<unknown> = Promise.resolve()

  /** Commits within one millisecond share their timestamp text. */
  let lastStamp = { ms: Number.NaN, text: '' }
  const stamp = (ms: number): string => {
    if (ms !== lastStamp.ms) lastStamp = { ms, text: iso(ms) }
    return lastStamp.text
  }

  /** Nothing is answered from a store that is closing, closed or whose journal failed: callers fail closed. */
  function guard (): void {
    if (closing !== null || !journal.usable) {
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
    // A compaction swapping journals: wait, then look again (another may have begun meanwhile).
    for (let swap = gate; swap !== null; swap = gate) await swap
    guard()
    assertOneTenant(change)
    const checked = state.check(change)
    // The enforcement invariant: checked against the state this same section seals onto.
    const guarded = change.requireApproved
    const ended = guarded === undefined ? null : grantEnded(change.tenantId, guarded, state.getRequest(guarded.requestId))
    if (ended !== null) throw ended
    const time = stamp(Math.max(now(), audit.lastTime))
    let head = audit.head(change.tenantId)
    const records = change.audit.map((draft) => {
      const sealed = sealRecordText(draft, head, { id: randomUUID(), time })
      head = sealed.record
      return sealed
    })
    const { line, sealed } = records.length > 0 && checked.requests.length === 0 && checked.serviceRequests.length === 0 &&
      checked.tenantSettings === undefined && checked.notifications.length === 0
      ? recordsOnly(change.tenantId, records)
      : entities(change.tenantId, checked, records)
    carried?.push(line)
    await journal.append(line)
    for (const event of checked.leftApproved) grantEvents.emit(event)
    if (sealed !== undefined) appended.emit(sealed)
    return sealed ?? []
  }

  /** Memory takes the values back from the line itself, so it holds exactly what a replay would. */
  function entities (tenantId: string, checked: CheckedChange, records: SealedRecord[]): { line: string, sealed: AuditRecord[] | undefined } {
    const values = JSON.stringify({
      tenantId,
      requests: nonEmpty(checked.requests),
      serviceRequests: nonEmpty(checked.serviceRequests),
      tenantSettings: checked.tenantSettings,
      notifications: nonEmpty(checked.notifications)
    } satisfies JournalEntry)
    // The records go in as the texts they were sealed as (JSON.stringify would reorder their keys).
    const line = records.length === 0 ? values : `${values.slice(0, -1)},"audit":[${records.map(({ text }) => text).join(',')}]}`
    const entry = JSON.parse(line) as JournalEntry
    applyEntry(entry)
    return { line, sealed: entry.audit }
  }

  /**
   * A change of audit records only (the content routes' every access and outcome): each record's
   * sealed text goes into the line and the index as it is, the text a replay of the line gives back.
   */
  function recordsOnly (tenantId: string, records: SealedRecord[]): { line: string, sealed: AuditRecord[] } {
    let line = `{"tenantId":${JSON.stringify(tenantId)},"audit":[`
    const sealed: AuditRecord[] = []
    for (let i = 0; i < records.length; i++) {
      const { record, text } = records[i] as SealedRecord
      audit.append(record, text)
      sealed.push(record)
      line += i === 0 ? text : ',' + text
    }
    return { line: line + ']}', sealed }
  }

  /**
   * Rewrites the journal without the records before `before`. Commits go on while the bulk is
   * written (their lines are carried over); only the final swap makes them wait, and it starts once
   * every carried line is durable in the old journal, so whichever file a crash leaves holds every
   * acknowledged commit.
   */
  async function compact (before: number): Promise<number> {
    guard()
    if (audit.cutBefore(before) === audit.start) return 0
    const writer = await CompactedJournal.create(path)
    // One synchronous section from here to `carried = lines`: the snapshot and the lines carried
    // over meet exactly, whatever commits ran while the file was being created.
    const source = audit
    const base = source.start
    const cut = source.cutBefore(before)
    const snapshot = { base: cut, lastTime: source.lastTime, anchors: source.anchorsAt(cut) }
    const bulk = compactedLines(snapshot, state.entities(), (start, end) => source.textsBetween(start, end), source.end)
    const lines: string[] = []
    carried = lines
    let release!: () => void
    const swapping = new Promise<void>((resolve) => { release = resolve })
    let retired: Journal | null = null
    try {
      await writer.write(bulk, guard)
      await writer.sync()
      gate = swapping
      await journal.flush()
      guard()
      await writer.write(lines, guard)
      const next = await writer.install(path, journal.stats)
      retired = journal
      journal = next
      audit = source.compacted(cut)
    } catch (error) {
      await writer.discard()
      /* c8 ignore next -- the directory fsync failed right after the rename: the old file is gone and the new one may not survive a crash, so the store fails closed */
      if (writer.renamed) await journal.close()
      throw error
    } finally {
      carried = null
      gate = null
      release()
    }
    // Outside the swap: closing the old file's last handle frees its blocks, which can take a while.
    await (retired as Journal).close()
    return cut - base
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
      listUnsettledRequests: guarded(() => state.listUnsettledRequests()),
      listDueNotifications: guarded((now, limit) => state.listDueNotifications(now, limit)),
      listNotifications: guarded((query) => state.listNotifications(query))
    },
    audit: {
      query: guarded((query) => audit.query(query)),
      export: (filter) => audit.export(filter, guard),
      verify: async (tenantId) => {
        guard()
        return await audit.verify(tenantId, guard)
      },
      head: guarded((tenantId) => audit.head(tenantId)),
      prune: async (before) => {
        guard()
        const run = pruning.then(async () => await compact(before))
        pruning = run.catch(() => {})
        return await run
      },
      subscribe: appended.subscribe
    },
    grantEvents: {
      publish: guarded(grantEvents.emit),
      subscribe: grantEvents.subscribe,
      // One process: nothing published can be missed.
      resubscribed: () => () => {}
    },
    ping: async () => closing === null && journal.usable,
    close: async () => {
      // A compaction under way stops at its next check, or finishes its swap first.
      closing ??= pruning.then(async () => await journal.close())
      await closing
    },
    get stats () {
      return journal.stats
    }
  }
}
