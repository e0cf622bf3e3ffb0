// The audit records' texts, kept as UTF-8 bytes in large buffers rather than as one string each.
// A million records as strings are a million objects that every full garbage collection visits and
// the old generation grows by; in buffers they are a few dozen allocations outside the V8 heap.
import { Column } from './column.js'

/** Bytes per buffer: large enough that allocations are rare, small enough that a prune frees memory. */
export const CHUNK_BYTES = 4 * 1024 * 1024

export class TextArena {
  private chunks: Buffer[] = []
  /** Where the next text goes in the last chunk; a chunk taken over from another arena counts as full. */
  private used = 0
  private readonly chunkOf = new Column((size) => new Uint32Array(size))
  private readonly startOf = new Column((size) => new Uint32Array(size))
  private readonly lengthOf = new Column((size) => new Uint32Array(size))

  get length (): number {
    return this.chunkOf.length
  }

  push (text: string): void {
    let chunk = this.chunks[this.chunks.length - 1]
    // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room, the text is measured by writing it.
    if (chunk === undefined || this.used + text.length * 3 > chunk.length) {
      const bytes = Buffer.byteLength(text)
      if (chunk === undefined || this.used + bytes > chunk.length) {
        chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bytes))
        this.chunks.push(chunk)
        this.used = 0
      }
    }
    const bytes = chunk.write(text, this.used)
    this.chunkOf.push(this.chunks.length - 1)
    this.startOf.push(this.used)
    this.lengthOf.push(bytes)
    this.used += bytes
  }

  at (index: number): string {
    const start = this.startOf.at(index)
    return (this.chunks[this.chunkOf.at(index)] as Buffer).toString('utf8', start, start + this.lengthOf.at(index))
  }

  between (start: number, end: number): string[] {
    const texts: string[] = []
    for (let index = start; index < end; index++) texts.push(this.at(index))
    return texts
  }

  /**
   * A new arena with this one's texts from `start` on. It shares the chunks still in use (they are
   * never written again: its own texts go into new chunks), and lets go of those before them.
   */
  from (start: number): TextArena {
    const next = new TextArena()
    if (start >= this.length) return next
    const firstChunk = this.chunkOf.at(start)
    next.chunks = this.chunks.slice(firstChunk)
    next.used = Number.POSITIVE_INFINITY
    for (let index = start; index < this.length; index++) {
      next.chunkOf.push(this.chunkOf.at(index) - firstChunk)
      next.startOf.push(this.startOf.at(index))
      next.lengthOf.push(this.lengthOf.at(index))
    }
    return next
  }
}
