import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import { FileLibrary, RETAINED_UPLOAD_LIMIT } from '../../src/mocks/file-library.js'

const TEXT = 'text/plain'
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

function library (): FileLibrary {
  return new FileLibrary([
    { path: 'b/notes.txt', contentType: TEXT, body: { kind: 'text', text: 'hello' } },
    { path: 'a.bin', contentType: 'application/octet-stream', body: { kind: 'sample', size: 10 } },
    { path: 'big/video.mp4', contentType: 'video/mp4', body: { kind: 'pattern', size: 1234 } }
  ], 'seed')
}

t.test('lists its files by path with name, size and content type', async (t) => {
  t.same(library().list(), [
    { path: 'a.bin', name: 'a.bin', size: 10, contentType: 'application/octet-stream' },
    { path: 'b/notes.txt', name: 'notes.txt', size: 5, contentType: TEXT },
    { path: 'big/video.mp4', name: 'video.mp4', size: 1234, contentType: 'video/mp4' }
  ])
})

t.test('keeps sample bytes and generates nothing for a pattern file', async (t) => {
  const files = library()
  t.same(files.get('b/notes.txt')?.content, { kind: 'bytes', data: Buffer.from('hello') })
  t.same(files.get('big/video.mp4')?.content, { kind: 'pattern' })
  t.equal(files.get('nothing'), undefined)
})

t.test('derives different sample bytes from different seeds', async (t) => {
  const other = new FileLibrary([{ path: 'a.bin', contentType: TEXT, body: { kind: 'sample', size: 10 } }], 'other')
  t.notSame(other.get('a.bin')?.content, library().get('a.bin')?.content)
})

t.test('stores an upload, telling a new file from a replaced one', async (t) => {
  const files = library()
  const bytes = Buffer.from('new content')
  const first = await files.put('c/new.txt', TEXT, Readable.from([bytes]))
  t.same(first, { created: true, file: { path: 'c/new.txt', name: 'new.txt', size: bytes.length, contentType: TEXT, sha256: sha256(bytes) } })
  t.same(files.get('c/new.txt')?.content, { kind: 'bytes', data: bytes })
  const second = await files.put('c/new.txt', 'application/json', Readable.from([Buffer.from('{}')]))
  t.equal(second.created, false)
  t.equal(files.get('c/new.txt')?.contentType, 'application/json')
})

t.test('keeps only the size and digest of an upload over the retained limit', async (t) => {
  const files = library()
  const chunk = Buffer.alloc(1024 * 1024, 7)
  const chunks = Array.from({ length: RETAINED_UPLOAD_LIMIT / chunk.length + 1 }, () => chunk)
  const { file } = await files.put('huge.bin', 'application/octet-stream', Readable.from(chunks))
  const digest = sha256(Buffer.concat(chunks))
  t.equal(file.size, RETAINED_UPLOAD_LIMIT + chunk.length)
  t.equal(file.sha256, digest)
  t.same(files.get('huge.bin')?.content, { kind: 'digest', sha256: digest })
})

t.test('keeps an upload of exactly the retained limit', async (t) => {
  const files = library()
  await files.put('edge.bin', 'application/octet-stream', Readable.from([Buffer.alloc(RETAINED_UPLOAD_LIMIT)]))
  t.equal(files.get('edge.bin')?.content.kind, 'bytes')
})

t.test('stores nothing when the upload fails midway', async (t) => {
  const files = library()
  const failing = new Readable({ read () { this.destroy(new Error('client went away')) } })
  await t.rejects(files.put('b/notes.txt', TEXT, failing), { message: 'client went away' })
  t.same(files.get('b/notes.txt')?.content, { kind: 'bytes', data: Buffer.from('hello') })
})

t.test('deletes a file once', async (t) => {
  const files = library()
  t.equal(files.delete('a.bin'), true)
  t.equal(files.delete('a.bin'), false)
  t.equal(files.list().length, 2)
})
