// Records as NDJSON text in chunks of about 64 KiB: few enough writes to be fast, small enough to
// keep memory flat. For records that exist as objects only (a backend without their stored text, or
// a mapped format such as o365).

const CHUNK_CHARS = 64 * 1024

export async function * ndjsonChunks<T> (records: AsyncIterable<T>, line: (record: T) => unknown = (record) => record): AsyncGenerator<string> {
  let chunk = ''
  for await (const record of records) {
    chunk += JSON.stringify(line(record)) + '\n'
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk !== '') yield chunk
}
