// Reads an old-format journal back for migration: every whole line is handed to `apply` in order, a
// torn last line (the crash came mid-write) is cut off, and damage anywhere else stops the start.
import { open, type FileHandle } from 'node:fs/promises'
import { parseLine, type JournalLine } from './lines.js'

const CHUNK_BYTES = 1 << 20

interface Line { text: string, end: number, complete: boolean }

/**
 * The lines of the first `size` bytes, with the file offset just past each newline; a last line
 * without one is `complete: false`. Reading stops at `size`, the length seen when replay began.
 */
async function * readLines (handle: FileHandle, size: number): AsyncGenerator<Line> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES)
  let carry = Buffer.alloc(0)
  let carryStart = 0
  for (let position = 0; position < size;) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK_BYTES, size - position), position)
    /* c8 ignore next -- only another process shrinking the file during replay gets here */
    if (bytesRead === 0) break
    position += bytesRead
    const data = Buffer.concat([carry, chunk.subarray(0, bytesRead)])
    let start = 0
    for (let newline = data.indexOf(10); newline !== -1; newline = data.indexOf(10, start)) {
      yield { text: data.toString('utf8', start, newline), end: carryStart + newline + 1, complete: true }
      start = newline + 1
    }
    carry = data.subarray(start)
    carryStart += start
  }
  if (carry.length > 0) yield { text: carry.toString('utf8'), end: carryStart + carry.length, complete: false }
}

/** Replays the journal at `path` and leaves it ending on a whole line. */
export async function replayJournal (path: string, apply: (line: JournalLine) => void | Promise<void>): Promise<void> {
  const handle: FileHandle = await open(path, 'r+')
  try {
    let goodEnd = 0
    let lineNumber = 0
    let damaged: number | null = null
    const { size } = await handle.stat()
    for await (const line of readLines(handle, size)) {
      lineNumber++
      if (damaged !== null) {
        throw new Error(`journal ${path}: line ${damaged} is damaged and is not the last line; refusing to start (restore the file or repair that line)`)
      }
      const entry = line.complete ? parseLine(line.text) : null
      if (entry === null) {
        damaged = lineNumber
        continue
      }
      try {
        await apply(entry)
      } catch (error) {
        throw new Error(`journal ${path}: line ${lineNumber} cannot be replayed (${(error as Error).message}); refusing to start`, { cause: error })
      }
      goodEnd = line.end
    }
    if (goodEnd < size) {
      await handle.truncate(goodEnd)
      await handle.datasync()
    }
  } finally {
    await handle.close()
  }
}
