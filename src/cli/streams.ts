// Streaming helpers: answer bodies piped to stdout or a file without buffering, counted on the way.
import { createWriteStream } from 'node:fs'
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CliError, EXIT } from './errors.js'

/** Counts bytes and newlines (NDJSON records) as they pass. */
export class Counter extends Transform {
  bytes = 0
  lines = 0
  constructor (private readonly onCount: (counter: Counter) => void = () => {}) {
    super()
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.lines++
    this.onCount(this)
    callback(null, chunk)
  }
}

/**
 * Where a body goes: a file created 0600 (it is customer content or audit data), or stdout, which
 * pipeline must not end: later output (and other writers) still need it.
 */
export function destination (file: string | undefined, stdout: Writable): { stream: Writable, end: boolean } {
  if (file === undefined) return { stream: stdout, end: false }
  return { stream: createWriteStream(file, { mode: 0o600 }), end: true }
}

/** Pipes an answer body through `counter` into `file` or stdout; a body cut short is a failure. */
export async function streamBody (body: ReadableStream<Uint8Array> | null, counter: Counter, file: string | undefined, stdout: Writable): Promise<void> {
  const source = body === null ? Readable.from([]) : Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
  const { stream, end } = destination(file, stdout)
  try {
    await pipeline(source, counter, stream, { end })
  } catch (err) {
    // A system call that failed is ours to report as it is (no space, no such directory); anything
    // else broke the answer stream.
    if ((err as NodeJS.ErrnoException).syscall !== undefined) throw err
    throw new CliError(`the transfer was cut short after ${counter.bytes} bytes`, EXIT.refused,
      'the gateway ends transfers when access is revoked, canceled or its window ends: check with `lockbox request show <id>`')
  }
}
