import t, { type Test } from 'tap'
import { LARGE_FILE_SIZE } from '../../src/mocks/bytes.js'
import { buildMockService } from '../../src/mocks/index.js'
import { createAssertionSigner, TEST_ISSUER } from '../helpers/mock-assertions.js'

const signer = await createAssertionSigner()

type Method = 'GET' | 'HEAD' | 'PUT' | 'DELETE'

async function service (t: Test) {
  const app = buildMockService('onedrive', { keys: signer.keys, issuer: TEST_ISSUER })
  t.teardown(async () => { await app.close() })
  return async function call (method: Method, url: string, payload?: string) {
    const tenantId = url.split('/')[2] as string
    const headers: Record<string, string> = { 'x-lockbox-assertion': await signer.sign('onedrive', tenantId) }
    if (payload !== undefined) headers['content-type'] = 'text/plain'
    return await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) })
  }
}

const alice = '/tenants/contoso/drives/alice@contoso.com/items'

t.test('lists the items of a user\'s drive', async (t) => {
  const call = await service(t)
  const res = await call('GET', alice)
  t.equal(res.statusCode, 200)
  t.match(res.json(), [
    { path: 'Documents/Notes.txt', name: 'Notes.txt', contentType: /^text\/plain/ },
    { path: 'Documents/Résumé draft.docx', name: 'Résumé draft.docx', size: 12_800 },
    { path: 'Videos/Team offsite.mp4', name: 'Team offsite.mp4', size: LARGE_FILE_SIZE, contentType: 'video/mp4' }
  ])
  t.match((await call('GET', '/tenants/fabrikam/drives/adele@fabrikam.com/items')).json(), [{ path: 'Documents/Renewal comparison.xlsx' }])
})

t.test('reads an item by its percent-encoded path', async (t) => {
  const call = await service(t)
  const resume = await call('GET', `${alice}/Documents/R%C3%A9sum%C3%A9%20draft.docx`)
  t.equal(resume.statusCode, 200)
  t.equal(resume.rawPayload.length, 12_800)
  const notes = await call('GET', `${alice}/Documents/Notes.txt`)
  t.match(notes.body, /Fabrikam/)
  const large = await call('HEAD', `${alice}/Videos/Team%20offsite.mp4`)
  t.equal(large.headers['content-length'], String(LARGE_FILE_SIZE))
})

t.test('creates, replaces and deletes an item', async (t) => {
  const call = await service(t)
  const url = `${alice}/Documents/Plans/2025%20goals.txt`
  t.equal((await call('PUT', url, 'ship it')).statusCode, 201)
  t.equal((await call('PUT', url, 'ship it, really')).statusCode, 200)
  t.equal((await call('GET', url)).body, 'ship it, really')
  t.equal((await call('DELETE', url)).statusCode, 204)
  t.equal((await call('GET', url)).statusCode, 404)
})

t.test('keeps each user\'s drive apart', async (t) => {
  const call = await service(t)
  t.equal((await call('GET', `${alice}/Documents/Expenses%20September.xlsx`)).statusCode, 404)
  t.equal((await call('GET', '/tenants/contoso/drives/bob@contoso.com/items/Documents/Expenses%20September.xlsx')).statusCode, 200)
})

t.test('answers 404 naming the unknown tenant, drive or item', async (t) => {
  const call = await service(t)
  const cases: Array<[Method, string, string]> = [
    ['GET', '/tenants/northwind/drives/nancy@northwind.example/items', 'tenant not found'],
    ['GET', '/tenants/contoso/drives/adele@fabrikam.com/items', 'drive not found'],
    ['PUT', '/tenants/contoso/drives/zoe@contoso.com/items/a.txt', 'drive not found'],
    ['DELETE', `${alice}/Documents/none.txt`, 'file not found'],
    ['GET', '/tenants/contoso/drives', 'route not found']
  ]
  for (const [method, url, error] of cases) {
    const res = await call(method, url, method === 'PUT' ? 'x' : undefined)
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.same(res.json(), { error }, `${method} ${url}`)
  }
})

t.test('refuses an assertion for another tenant', async (t) => {
  const app = buildMockService('onedrive', { keys: signer.keys, issuer: TEST_ISSUER })
  t.teardown(async () => { await app.close() })
  const res = await app.inject({ url: alice, headers: { 'x-lockbox-assertion': await signer.sign('onedrive', 'fabrikam') } })
  t.equal(res.statusCode, 403)
})
