// Deterministic bytes for the mock content: small sample files, and the large file streamed on the fly.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { SmallBody } from './content.js'

/** The size of the one large file in SharePoint and in OneDrive: 50 MiB, enough to exercise streaming. */
export const LARGE_FILE_SIZE = 50 * 1024 * 1024

// Byte n of a pattern stream is n mod 256. A block is a whole number of periods, so the same block
// can be pushed again and again and a 50 MiB answer never costs more than these 64 KiB.
const PATTERN_BLOCK = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i % 256))

/** `size` bytes where byte n is n mod 256, produced as they are read. */
export function patternStream (size: number): Readable {
  let sent = 0
  return new Readable({
    highWaterMark: PATTERN_BLOCK.length,
    read () {
      const length = Math.min(PATTERN_BLOCK.length, size - sent)
      sent += length
      this.push(length > 0 ? PATTERN_BLOCK.subarray(0, length) : null)
    }
  })
}

// Each app's mock services hash their samples anew; a process that builds many apps (the tests)
// computes each sample once and hands out copies.
const samples = new Map<string, Buffer>()

/** `size` bytes that look random but depend only on `seed`: SHA-256 in counter mode. */
export function sampleBytes (seed: string, size: number): Buffer {
  const key = `${size}:${seed}`
  let sample = samples.get(key)
  if (sample === undefined) {
    const blocks: Buffer[] = []
    for (let counter = 0; counter * 32 < size; counter++) {
      blocks.push(createHash('sha256').update(`${seed}#${counter}`).digest())
    }
    sample = Buffer.concat(blocks).subarray(0, size)
    samples.set(key, sample)
  }
  return Buffer.from(sample)
}

/** The bytes of a small sample; `seed` tells apart samples of the same size. */
export function smallBodyBytes (body: SmallBody, seed: string): Buffer {
  return body.kind === 'text' ? Buffer.from(body.text) : sampleBytes(seed, body.size)
}
