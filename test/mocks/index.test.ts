import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import t from 'tap'
import { WORKLOADS } from '../../src/domain/lockbox.js'
import { LARGE_FILE_SIZE } from '../../src/mocks/bytes.js'
import { buildMockService, startMockServices } from '../../src/mocks/index.js'
import { createAssertionSigner, TEST_ISSUER } from '../helpers/mock-assertions.js'

const signer = await createAssertionSigner()
const mocks = await startMockServices({ keys: signer.keys, issuer: TEST_ISSUER })
t.teardown(mocks.close)

async function headers (workload: string, tenantId = 'contoso') {
  return { 'x-lockbox-assertion': await signer.sign(workload, tenantId) }
}

/** Reads a response body to its end, counting bytes and those that break the n mod 256 pattern. */
async function countPatternBytes (body: ReadableStream<Uint8Array>): Promise<{ bytes: number, mismatches: number }> {
  let bytes = 0
  let mismatches = 0
  for await (const chunk of body) {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== (bytes + i) % 256) mismatches++
    }
    bytes += chunk.length
  }
  return { bytes, mismatches }
}

t.test('listens each service on its own loopback port', async (t) => {
  t.same(Object.keys(mocks.urls).sort(), [...WORKLOADS].sort())
  for (const url of Object.values(mocks.urls)) t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(new Set(Object.values(mocks.urls)).size, WORKLOADS.length)
  const mailboxes = await fetch(`${mocks.urls.exchange}/tenants/contoso/mailboxes`, { headers: await headers('exchange') })
  t.equal(mailboxes.status, 200)
  t.ok((await mailboxes.json() as unknown[]).length >= 2)
})

t.test('refuses a call without an assertion over HTTP too', async (t) => {
  for (const [workload, path] of [['exchange', 'mailboxes'], ['sharepoint', 'sites'], ['onedrive', 'drives/alice@contoso.com/items']] as const) {
    const res = await fetch(`${mocks.urls[workload]}/tenants/contoso/${path}`)
    t.equal(res.status, 401, workload)
    t.same(await res.json(), { error: 'assertion required' })
  }
})

t.test('streams the 50 MiB SharePoint and OneDrive files with their full length', async (t) => {
  const files = [
    ['sharepoint', '/tenants/contoso/sites/finance/files/Shared%20Documents/Archive/Project%20Phoenix%20assets.zip'],
    ['onedrive', '/tenants/contoso/drives/alice@contoso.com/items/Videos/Team%20offsite.mp4']
  ] as const
  for (const [workload, path] of files) {
    const res = await fetch(`${mocks.urls[workload]}${path}`, { headers: await headers(workload) })
    t.equal(res.status, 200, workload)
    t.equal(res.headers.get('content-length'), String(LARGE_FILE_SIZE), workload)
    t.same(await countPatternBytes(res.body as ReadableStream<Uint8Array>), { bytes: LARGE_FILE_SIZE, mismatches: 0 }, workload)
  }
})

t.test('takes a 50 MiB upload as a stream and proves every byte arrived', async (t) => {
  const hash = createHash('sha256')
  const chunk = Buffer.alloc(1024 * 1024)
  const body = Readable.from((function * () {
    for (let i = 0; i < 50; i++) {
      chunk.fill(i)
      hash.update(chunk)
      yield Buffer.from(chunk)
    }
  })())
  const url = `${mocks.urls.onedrive}/tenants/contoso/drives/bob@contoso.com/items/Backups/laptop.img`
  const put = await fetch(url, {
    method: 'PUT',
    headers: { ...await headers('onedrive'), 'content-type': 'application/octet-stream' },
    body: Readable.toWeb(body) as ReadableStream,
    duplex: 'half'
  })
  t.equal(put.status, 201)
  const sha256 = hash.digest('hex')
  t.same(await put.json(), { path: 'Backups/laptop.img', name: 'laptop.img', size: LARGE_FILE_SIZE, contentType: 'application/octet-stream', sha256 })
  const get = await fetch(url, { headers: await headers('onedrive') })
  t.equal(get.status, 410)
  t.same(await get.json(), { error: 'content not retained', size: LARGE_FILE_SIZE, sha256 })
})

t.test('refuses a raw dot-segment path sent over HTTP', async (t) => {
  const { port } = new URL(mocks.urls.sharepoint)
  const assertion = await headers('sharepoint')
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/tenants/contoso/sites/finance/files/Shared%20Documents/%2e%2e/x.txt',
      headers: assertion
    }, (res) => { res.resume(); resolve(res.statusCode) })
    req.on('error', reject)
    req.end('x')
  })
  t.equal(status, 400)
})

t.test('stops listening once closed', async (t) => {
  const others = await startMockServices({ keys: signer.keys, issuer: TEST_ISSUER })
  await others.close()
  await t.rejects(fetch(`${others.urls.exchange}/tenants/contoso/mailboxes`))
})

t.test('builds a service that does not listen until asked', async (t) => {
  for (const workload of WORKLOADS) {
    const app = buildMockService(workload, { keys: signer.keys, issuer: TEST_ISSUER, logger: false })
    await app.ready()
    t.equal(app.server.listening, false, workload)
    await app.close()
  }
})
