// Retention's rewrite of the journal. The new file (a snapshot line, every current entity, the kept
// audit records, then the commits that arrived meanwhile) is written under a temporary name, synced
// and only then renamed over the journal: a crash at any point leaves the old file or the new one
// whole, never a mix.
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { Journal, JOURNAL_MODE, type JournalStats } from './journal.js'
import type { Kept, Snapshot } from './lines.js'

/** Appended to the journal's name while a compaction writes; a file left there by a crash is removed at start. */
export const COMPACTING_SUFFIX = '.compacting'

/** Values per line: lines of a few hundred kilobytes, nowhere near a string's size limit. */
const VALUES_PER_LINE = 1000
/** Text gathered before each write: few enough writes to be quick, while commits go on between them. */
const WRITE_CHARS = 1 << 20

export type Entities = Required<Omit<Kept, 'audit'>>

/**
 * The lines of a compacted journal. `texts(start, end)` hands out the kept records' JSON texts by
 * position: they are written as they are, never parsed again.
 */
export function * compactedLines (snapshot: Snapshot, entities: Entities, texts: (start: number, end: number) => string[], end: number): Generator<string> {
  yield JSON.stringify({ snapshot })
  for (const kind of ['requests', 'serviceRequests', 'tenantSettings', 'notifications'] as const) {
    const values = entities[kind]
    for (let at = 0; at < values.length; at += VALUES_PER_LINE) {
      yield JSON.stringify({ kept: { [kind]: values.slice(at, at + VALUES_PER_LINE) } })
    }
  }
  for (let at = snapshot.base; at < end; at += VALUES_PER_LINE) {
    yield '{"kept":{"audit":[' + texts(at, Math.min(at + VALUES_PER_LINE, end)).join(',') + ']}}'
  }
}

export class CompactedJournal {
  /** True once the file took the journal's name: from then on there is no going back to the old one. */
  renamed = false

  private constructor (private readonly handle: FileHandle, private readonly path: string) {}

  static async create (journalPath: string): Promise<CompactedJournal> {
    const path = journalPath + COMPACTING_SUFFIX
    await rm(path, { force: true })
    return new CompactedJournal(await open(path, 'ax', JOURNAL_MODE), path)
  }

  /** Writes the lines; `check` runs after each write and throws to stop (the store closed or failed). */
  async write (lines: Iterable<string>, check: () => void): Promise<void> {
    let text = ''
    for (const line of lines) {
      text += line + '\n'
      if (text.length >= WRITE_CHARS) {
        await this.handle.writeFile(text)
        text = ''
        check()
      }
    }
    if (text !== '') await this.handle.writeFile(text)
  }

  /** Puts what was written so far on disk, so that the final sync (with commits waiting) has little left to do. */
  async sync (): Promise<void> {
    await this.handle.datasync()
  }

  /** Makes the file durable, gives it the journal's name, and carries on appending to it as the journal. */
  async install (journalPath: string, stats: JournalStats): Promise<Journal> {
    await this.handle.datasync()
    await rename(this.path, journalPath)
    this.renamed = true
    // Appended to from now on as the journal, with the journal's own flags (its directory entry is synced there).
    const journal = await Journal.open(journalPath, stats)
    await this.handle.close()
    return journal
  }

  /** Gives up: the file is closed and removed (a no-op for the name once it was renamed). */
  async discard (): Promise<void> {
    await this.handle.close()
    await rm(this.path, { force: true })
  }
}
