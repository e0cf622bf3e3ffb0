import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { LARGE_FILE_SIZE } from '../../src/mocks/bytes.js'
import { RETAINED_UPLOAD_LIMIT } from '../../src/mocks/file-library.js'
import { buildMockService } from '../../src/mocks/index.js'
import { createAssertionSigner, TEST_ISSUER } from '../helpers/mock-assertions.js'

const signer = await createAssertionSigner()

type Method = 'GET' | 'HEAD' | 'PUT' | 'DELETE'

async function service (t: Test) {
  const app = buildMockService('sharepoint', { keys: signer.keys, issuer: TEST_ISSUER })
  t.teardown(async () => { await app.close() })
  return async function call (method: Method, url: string, payload?: Buffer | string, contentType?: string) {
    const tenantId = url.split('/')[2] as string
    const headers: Record<string, string> = { 'x-lockbox-assertion': await signer.sign('sharepoint', tenantId) }
    if (contentType !== undefined) headers['content-type'] = contentType
    return await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) })
  }
}

const finance = '/tenants/contoso/sites/finance/files'
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex')

t.test('lists the sites of a tenant', async (t) => {
  const call = await service(t)
  t.same((await call('GET', '/tenants/contoso/sites')).json(), [{ id: 'finance', name: 'Finance' }, { id: 'hr', name: 'Human Resources' }])
  t.same((await call('GET', '/tenants/fabrikam/sites')).json(), [{ id: 'engineering', name: 'Engineering' }])
})

t.test('lists the files of a site with paths usable in file URLs', async (t) => {
  const call = await service(t)
  const res = await call('GET', finance)
  t.equal(res.statusCode, 200)
  const files = res.json() as Array<{ path: string, name: string, size: number, contentType: string }>
  t.match(files, [
    { path: 'Shared Documents/Archive/Project Phoenix assets.zip', name: 'Project Phoenix assets.zip', size: LARGE_FILE_SIZE, contentType: 'application/zip' },
    { path: 'Shared Documents/Budgets/FY25 budget.xlsx', name: 'FY25 budget.xlsx', size: 18_432 },
    { path: 'Shared Documents/Q3 report.docx', name: 'Q3 report.docx', size: 24_576 },
    { path: 'Shared Documents/README.txt', name: 'README.txt' }
  ])
  for (const { path, size } of files.filter(({ size }) => size < LARGE_FILE_SIZE)) {
    const url = `${finance}/${path.split('/').map(encodeURIComponent).join('/')}`
    const file = await call('GET', url)
    t.equal(file.statusCode, 200, path)
    t.equal(file.rawPayload.length, size, path)
  }
})

t.test('reads a file by its percent-encoded path, with its content type and length', async (t) => {
  const call = await service(t)
  const res = await call('GET', `${finance}/Shared%20Documents/Q3%20report.docx`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /wordprocessingml/)
  t.equal(res.headers['content-length'], '24576')
  t.same((await call('GET', `${finance}/Shared%20Documents/Q3%20report.docx?download=1`)).rawPayload, res.rawPayload)
  const readme = await call('GET', `${finance}/Shared%20Documents/README.txt`)
  t.match(readme.body, /^Finance team site/)
})

t.test('announces the large file with its full length on HEAD', async (t) => {
  const call = await service(t)
  const res = await call('HEAD', `${finance}/Shared%20Documents/Archive/Project%20Phoenix%20assets.zip`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], String(LARGE_FILE_SIZE))
  t.equal(res.headers['content-type'], 'application/zip')
  t.equal(res.rawPayload.length, 0)
})

t.test('creates, replaces, reads and deletes a file', async (t) => {
  const call = await service(t)
  const url = `${finance}/Shared%20Documents/New%20folder/minutes%202024.txt`
  const created = await call('PUT', url, 'first draft', 'text/plain')
  t.equal(created.statusCode, 201)
  t.same(created.json(), { path: 'Shared Documents/New folder/minutes 2024.txt', name: 'minutes 2024.txt', size: 11, contentType: 'text/plain', sha256: sha256('first draft') })
  const replaced = await call('PUT', url, '{"final":true}', 'application/json')
  t.equal(replaced.statusCode, 200)
  const read = await call('GET', url)
  t.equal(read.body, '{"final":true}', 'a JSON body is stored as sent, not parsed')
  t.equal(read.headers['content-type'], 'application/json')
  t.ok((await call('GET', finance)).json().some(({ path }: { path: string }) => path === 'Shared Documents/New folder/minutes 2024.txt'))
  const deleted = await call('DELETE', url)
  t.equal(deleted.statusCode, 204)
  t.equal((await call('GET', url)).statusCode, 404)
  t.equal((await call('DELETE', url)).statusCode, 404)
})

t.test('replaces the large sample file and deletes it', async (t) => {
  const call = await service(t)
  const url = `${finance}/Shared%20Documents/Archive/Project%20Phoenix%20assets.zip`
  const replaced = await call('PUT', url, Buffer.from('PK'), 'application/zip')
  t.equal(replaced.statusCode, 200)
  t.equal((await call('GET', url)).body, 'PK')
  t.equal((await call('DELETE', url)).statusCode, 204)
  t.equal((await call('HEAD', url)).statusCode, 404)
})

t.test('stores a body without a content type as application/octet-stream', async (t) => {
  const call = await service(t)
  const url = `${finance}/blob`
  const res = await call('PUT', url, Buffer.from([0, 1, 2, 3]))
  t.equal(res.statusCode, 201)
  t.equal(res.json().contentType, 'application/octet-stream')
  const empty = await call('PUT', `${finance}/empty.txt`)
  t.equal(empty.statusCode, 201)
  t.equal(empty.json().size, 0)
  t.equal((await call('GET', `${finance}/empty.txt`)).rawPayload.length, 0)
})

t.test('answers 410 with size and digest for an upload too large to keep', async (t) => {
  const call = await service(t)
  const url = `${finance}/Shared%20Documents/huge.bin`
  const body = Buffer.alloc(RETAINED_UPLOAD_LIMIT + 1, 'x')
  const put = await call('PUT', url, body, 'application/octet-stream')
  t.equal(put.statusCode, 201)
  t.equal(put.json().sha256, sha256(body))
  const get = await call('GET', url)
  t.equal(get.statusCode, 410)
  t.same(get.json(), { error: 'content not retained', size: body.length, sha256: sha256(body) })
  t.ok((await call('GET', finance)).json().some(({ size }: { size: number }) => size === body.length))
})

t.test('refuses to write to a path that is not a plain file path', async (t) => {
  const call = await service(t)
  for (const tail of ['', 'a%2Fb.txt', 'a%5Cb.txt', 'Shared%20Documents/..%2Fx.txt', 'a//b.txt', 'dir/']) {
    t.equal((await call('PUT', `${finance}/${tail}`, 'x', 'text/plain')).statusCode, 400, `PUT ${tail}`)
    t.equal((await call('GET', `${finance}/${tail}`)).statusCode, 404, `GET ${tail}`)
    t.equal((await call('DELETE', `${finance}/${tail}`)).statusCode, 404, `DELETE ${tail}`)
  }
})

t.test('answers 404 naming the unknown tenant, site or file', async (t) => {
  const call = await service(t)
  const cases: Array<[Method, string, string]> = [
    ['GET', '/tenants/northwind/sites', 'tenant not found'],
    ['GET', '/tenants/northwind/sites/finance/files', 'tenant not found'],
    ['GET', '/tenants/contoso/sites/engineering/files', 'site not found'],
    ['GET', '/tenants/contoso/sites/engineering/files/Design/data-flow.png', 'site not found'],
    ['PUT', '/tenants/northwind/sites/finance/files/x.txt', 'tenant not found'],
    ['DELETE', '/tenants/contoso/sites/legal/files/x.txt', 'site not found'],
    ['GET', `${finance}/Shared%20Documents/q3%20report.docx`, 'file not found'],
    ['GET', `${finance}/Shared%20Documents`, 'file not found']
  ]
  for (const [method, url, error] of cases) {
    const res = await call(method, url, method === 'PUT' ? 'x' : undefined, method === 'PUT' ? 'text/plain' : undefined)
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.same(res.json(), { error }, `${method} ${url}`)
  }
})

t.test('keeps the writes of one instance away from another', async (t) => {
  const first = await service(t)
  t.equal((await first('DELETE', `${finance}/Shared%20Documents/Q3%20report.docx`)).statusCode, 204)
  const second = await service(t)
  t.equal((await second('GET', `${finance}/Shared%20Documents/Q3%20report.docx`)).statusCode, 200)
})

t.test('refuses an assertion made for another workload', async (t) => {
  const app = buildMockService('sharepoint', { keys: signer.keys, issuer: TEST_ISSUER })
  t.teardown(async () => { await app.close() })
  const res = await app.inject({ url: '/tenants/contoso/sites', headers: { 'x-lockbox-assertion': await signer.sign('onedrive', 'contoso') } })
  t.equal(res.statusCode, 401)
})
