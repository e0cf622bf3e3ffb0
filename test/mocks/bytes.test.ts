import t from 'tap'
import { LARGE_FILE_SIZE, patternStream, sampleBytes, smallBodyBytes } from '../../src/mocks/bytes.js'

async function collect (stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

t.test('streams exactly the requested number of pattern bytes, byte n being n mod 256', async (t) => {
  for (const size of [0, 1, 1000, 64 * 1024, 200_001]) {
    const bytes = await collect(patternStream(size))
    t.equal(bytes.length, size, `${size} bytes`)
    t.ok(bytes.every((byte, n) => byte === n % 256), `${size} bytes follow the pattern`)
  }
})

t.test('sizes the large file at 50 MiB', async (t) => {
  t.equal(LARGE_FILE_SIZE, 52_428_800)
})

t.test('derives sample bytes from the seed alone', async (t) => {
  t.same(sampleBytes('contoso/a', 100), sampleBytes('contoso/a', 100))
  t.notSame(sampleBytes('contoso/a', 100), sampleBytes('contoso/b', 100))
  t.same(sampleBytes('contoso/a', 40), sampleBytes('contoso/a', 100).subarray(0, 40))
  for (const size of [0, 31, 32, 33]) t.equal(sampleBytes('x', size).length, size)
})

t.test('turns a small body into its bytes', async (t) => {
  t.equal(smallBodyBytes({ kind: 'text', text: 'héllo' }, 'seed').toString(), 'héllo')
  t.same(smallBodyBytes({ kind: 'sample', size: 10 }, 'seed'), sampleBytes('seed', 10))
})
