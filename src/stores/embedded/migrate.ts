// First start on a data dir written by the old journal store (journal.jsonl): its lines are replayed
// into the LMDB environment, each tenant's chain is walked before (as read from the journal) and
// after (as stored), and the journal is kept beside it renamed. A migration cut short by a crash
// starts again from an empty environment at the next start.
import { access, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { ChainVerifier, type AuditRecord } from '../../domain/audit.js'
import type { AuditLog } from './audit-log.js'
import { inTransaction, type Tables } from './db.js'
import type { CheckedChange, Entities } from './entities.js'
import type { JournalLine } from './lines.js'
import { replayJournal } from './replay.js'

/** The old store's journal, in the data dir. */
export const JOURNAL_FILE = 'journal.jsonl'
/** What the journal is renamed to once migrated: kept, never read again. */
export const MIGRATED_SUFFIX = '.migrated'

export interface MigrationLog { info: (fields: object, message: string) => void, warn: (fields: object, message: string) => void }

/** Lines written per transaction, and records between two progress lines. */
const LINES_PER_TRANSACTION = 2000
export const PROGRESS_EVERY = 100_000

const exists = async (path: string): Promise<boolean> => await access(path).then(() => true, () => false)

type Values = CheckedChange

export async function migrateJournal (dataDir: string, t: Tables, entities: Entities, log: AuditLog, progress?: MigrationLog, progressEvery = PROGRESS_EVERY): Promise<void> {
  const path = join(dataDir, JOURNAL_FILE)
  if (!await exists(path)) return
  if (t.counters.get('migrated') === undefined) await migrate(path, t, entities, log, progress, progressEvery)
  await rename(path, path + MIGRATED_SUFFIX)
}

async function migrate (path: string, t: Tables, entities: Entities, log: AuditLog, progress: MigrationLog | undefined, progressEvery: number): Promise<void> {
  progress?.info({ journal: path }, 'migrating the embedded store from its journal to LMDB')
  // Whatever an interrupted migration left: start again from nothing.
  await inTransaction(t, () => {
    for (const db of Object.values(t)) if (db !== t.root) db.clearSync()
  })
  const before = new Map<string, ChainVerifier>()
  const verifierOf = (tenantId: string): ChainVerifier => {
    let verifier = before.get(tenantId)
    if (verifier === undefined) before.set(tenantId, verifier = new ChainVerifier())
    return verifier
  }
  let batch: JournalLine[] = []
  let records = 0
  let nextProgress = progressEvery
  const flush = async (): Promise<void> => {
    const lines = batch
    batch = []
    await inTransaction(t, () => { for (const line of lines) write(line) })
    if (records >= nextProgress) {
      progress?.info({ records }, 'migrating the embedded store: records copied')
      nextProgress += progressEvery
    }
  }
  const write = (line: JournalLine): void => {
    if ('snapshot' in line) {
      const { base, lastTime, anchors } = line.snapshot
      t.counters.put('position', base)
      t.counters.put('first', base)
      t.counters.put('lastTime', lastTime)
      for (const { tenantId, seq, hash } of anchors) {
        t.anchors.put(tenantId, JSON.stringify({ seq, hash }))
        t.heads.put(tenantId, JSON.stringify({ seq, hash }))
      }
      return
    }
    const values = 'kept' in line ? line.kept : { ...line, tenantSettings: line.tenantSettings === undefined ? [] : [line.tenantSettings] }
    for (const tenantSettings of values.tenantSettings ?? []) writeValues({ tenantSettings })
    writeValues({ requests: values.requests, serviceRequests: values.serviceRequests, notifications: values.notifications })
    for (const record of values.audit ?? []) writeRecord(record)
  }
  const writeValues = (values: Partial<Values>): void => {
    entities.write({ requests: values.requests ?? [], serviceRequests: values.serviceRequests ?? [], tenantSettings: values.tenantSettings, notifications: values.notifications ?? [] }, () => {
      const ordinal = t.counters.get('ordinal') ?? 0
      t.counters.put('ordinal', ordinal + 1)
      return ordinal
    })
  }
  const writeRecord = (record: AuditRecord): void => {
    // Written as it was read (a tampered record stays tampered, for verify to find).
    const position = log.end()
    log.write(record.tenantId, [{ record, text: JSON.stringify(record) }], position)
    log.advance(new Map([[record.tenantId, record]]), position + 1)
    const time = Date.parse(record.time)
    if (time > (t.counters.get('lastTime') ?? 0)) t.counters.put('lastTime', time)
  }
  await replayJournal(path, async (line) => {
    if ('snapshot' in line) {
      for (const { tenantId, seq, hash } of line.snapshot.anchors) before.set(tenantId, new ChainVerifier({ seq, hash }))
    }
    for (const record of ('kept' in line ? line.kept.audit : 'snapshot' in line ? undefined : line.audit) ?? []) {
      verifierOf(record.tenantId).push(record)
      records++
    }
    batch.push(line)
    if (batch.length >= LINES_PER_TRANSACTION) await flush()
  })
  await flush()
  for (const [tenantId, verifier] of before) {
    const journal = verifier.result()
    const stored = await log.verify(tenantId, () => {})
    const { anchorSeq, ...walk } = stored
    /* c8 ignore next 3 -- the same records were written: only a store that lost writes gets here */
    if (JSON.stringify(walk) !== JSON.stringify(journal)) {
      throw new Error(`migrating ${path}: tenant ${tenantId}'s chain reads ${JSON.stringify(stored)} once migrated, ${JSON.stringify(journal)} in the journal; the journal is left as it was`)
    }
    if (!journal.valid) progress?.warn({ tenantId, firstInvalidSeq: journal.firstInvalidSeq }, 'migrating the embedded store: this tenant\'s chain was already broken in the journal (migrated as it is)')
  }
  await inTransaction(t, () => t.counters.put('migrated', Date.now()))
  progress?.info({ records, tenants: before.size }, 'migrated the embedded store to LMDB; every chain reads the same as in the journal')
}
