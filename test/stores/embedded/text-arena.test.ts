import t from 'tap'
import { CHUNK_BYTES, TextArena } from '../../../src/stores/embedded/text-arena.js'

const texts = ['{"a":1}', '', 'caf\u00e9 \u2603 \ud83d\ude00', '"quoted" \\ line\nbreak']

t.test('gives back each text as it was pushed, multi-byte characters included', async (t) => {
  const arena = new TextArena()
  for (const text of texts) arena.push(text)
  t.equal(arena.length, texts.length)
  t.same(texts.map((_, i) => arena.at(i)), texts)
  t.same(arena.between(1, 3), texts.slice(1, 3))
  t.same(arena.between(2, 2), [])
})

t.test('starts a new chunk when a text does not fit, and takes a text larger than a chunk whole', async (t) => {
  const arena = new TextArena()
  const almostFull = 'x'.repeat(CHUNK_BYTES - 3)
  const huge = 'y'.repeat(CHUNK_BYTES + 10)
  // 'é' is two bytes: the third text fits only in a new chunk.
  const pushed = [almostFull, 'ab', '\u00e9\u00e9', huge, 'after']
  for (const text of pushed) arena.push(text)
  t.same(pushed.map((_, i) => arena.at(i)), pushed)
})

t.test('from() keeps the later texts and writes its own into new chunks', async (t) => {
  const arena = new TextArena()
  for (let i = 0; i < 10; i++) arena.push(`record ${i}`)
  const kept = arena.from(6)
  t.equal(kept.length, 4)
  t.same(kept.between(0, 4), ['record 6', 'record 7', 'record 8', 'record 9'])
  kept.push('record 10')
  arena.push('old 10')
  t.equal(kept.at(4), 'record 10', 'the new arena does not share a chunk it writes to')
  t.equal(arena.at(10), 'old 10')
  t.equal(kept.at(0), 'record 6')

  const empty = arena.from(arena.length)
  t.equal(empty.length, 0)
  empty.push('first')
  t.same(empty.between(0, 1), ['first'])
})

t.test('from() lets go of chunks before the first kept text', async (t) => {
  const arena = new TextArena()
  arena.push('x'.repeat(CHUNK_BYTES))
  arena.push('second chunk')
  const kept = arena.from(1)
  t.same(kept.between(0, 1), ['second chunk'])
  t.equal((kept as unknown as { chunks: Buffer[] }).chunks.length, 1)
})
