// The durable append-only journal: one JSON line per commit, written with group commit so that
// commits arriving during a write share the next one.
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StoreUnavailableError } from '../../errors.js'

/** The audit trail says who read which tenant's content: only the service's own user may read it. */
export const JOURNAL_MODE = 0o600

/**
 * Appends with O_DSYNC: a write returns once its bytes are on disk, so a batch costs one system call
 * (and one trip through the thread pool) instead of a write and an fdatasync.
 */
const JOURNAL_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC

/** A new or renamed file's name only survives a crash once its directory entry is on disk too. */
export async function syncDirectory (file: string): Promise<void> {
  const directory = await open(dirname(file), 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}

export interface JournalStats {
  /** Synchronised writes made (O_DSYNC): with group commit, far fewer than commits under load. */
  readonly syncs: number
  /** Writes made, each holding every line queued while the previous one was in flight. */
  readonly batches: number
  readonly lines: number
}

interface Waiter {
  line: string
  resolve: () => void
  reject: (error: Error) => void
}

export class Journal {
  private readonly counters = { syncs: 0, batches: 0, lines: 0 }
  private queue: Waiter[] = []
  private draining: Promise<void> | null = null
  private failure: Error | null = null
  private closed = false

  private constructor (private readonly handle: FileHandle, readonly path: string, stats?: JournalStats) {
    if (stats !== undefined) this.counters = { ...stats }
  }

  /** Opens (or creates) the journal at `path`; the counters go on from `stats` (a compacted journal taking over). */
  static async open (path: string, stats?: JournalStats): Promise<Journal> {
    const handle = await open(path, JOURNAL_FLAGS, JOURNAL_MODE)
    await syncDirectory(path)
    return new Journal(handle, path, stats)
  }

  get stats (): JournalStats {
    return { ...this.counters }
  }

  /** False once a write failed or close began: the state on disk is then unknown or final. */
  get usable (): boolean {
    return this.failure === null && !this.closed
  }

  /** Resolves once the line is on disk. Callers check `usable` first. */
  append (line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject })
      this.draining ??= this.drain()
    })
  }

  /** Resolves once every line queued so far is written (or refused, when the journal failed). */
  async flush (): Promise<void> {
    await this.draining
  }

  /** Waits for queued lines to be written, then releases the file. */
  async close (): Promise<void> {
    this.closed = true
    await this.draining
    await this.handle.close()
  }

  private async drain (): Promise<void> {
    // Lines appended in the same synchronous stretch (one flush of several changes) share the first write.
    await Promise.resolve()
    while (this.queue.length > 0) {
      const batch = this.queue
      this.queue = []
      try {
        await this.write(Buffer.from(batch.map((waiter) => waiter.line + '\n').join('')))
      } catch (error) {
        this.fail(batch, error as Error)
        break
      }
      this.counters.batches++
      this.counters.syncs++
      this.counters.lines += batch.length
      for (const waiter of batch) waiter.resolve()
    }
    this.draining = null
  }

  /** A write to a regular file takes the whole buffer; should one ever take less, the rest follows. */
  private async write (bytes: Buffer): Promise<void> {
    for (let offset = 0; offset < bytes.length;) {
      const { bytesWritten } = await this.handle.write(bytes, offset)
      offset += bytesWritten
    }
  }

  /**
   * After a failed write the file may hold part of a batch, and nothing says what a retry would do:
   * every waiting commit is refused and the journal takes no more, so the gateway fails closed.
   */
  private fail (batch: Waiter[], cause: Error): void {
    this.failure = new StoreUnavailableError(`journal ${this.path}: write failed (${cause.message})`, { cause })
    const refused = [...batch, ...this.queue]
    this.queue = []
    for (const waiter of refused) waiter.reject(this.failure)
  }
}
