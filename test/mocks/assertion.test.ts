import t from 'tap'
import { verifyGatewayAssertion } from '../../src/mocks/assertion.js'
import { buildMockService } from '../../src/mocks/index.js'
import { createAssertionSigner, TEST_ISSUER } from '../helpers/mock-assertions.js'

const signer = await createAssertionSigner()
const stranger = await createAssertionSigner()
const app = buildMockService('exchange', { keys: signer.keys, issuer: TEST_ISSUER })
t.teardown(async () => { await app.close() })

const url = '/tenants/contoso/mailboxes'
const now = Math.floor(Date.now() / 1000)

async function call (assertion?: string) {
  const headers = assertion === undefined ? {} : { 'x-lockbox-assertion': assertion }
  return await app.inject({ method: 'GET', url, headers })
}

t.test('answers a call carrying a valid assertion for its tenant', async (t) => {
  const res = await call(await signer.sign('exchange', 'contoso'))
  t.equal(res.statusCode, 200)
})

t.test('refuses a call without an assertion with 401', async (t) => {
  for (const assertion of [undefined, '']) {
    const res = await call(assertion)
    t.equal(res.statusCode, 401)
    t.same(res.json(), { error: 'assertion required' })
  }
})

t.test('refuses an invalid assertion with 401 and keeps the reason to itself', async (t) => {
  const refused: Record<string, string> = {
    'not a JWT': 'not-a-jwt',
    'another workload': await signer.sign('sharepoint', 'contoso'),
    'another issuer': await signer.sign('exchange', 'contoso', { issuer: 'https://impostor.test' }),
    'another key': await stranger.sign('exchange', 'contoso'),
    'another type': await signer.sign('exchange', 'contoso', { typ: 'lockbox-access+jwt' }),
    'an expired one': await signer.sign('exchange', 'contoso', { issuedAt: now - 600 }),
    'one older than 5 minutes': await signer.sign('exchange', 'contoso', { issuedAt: now - 360, lifetime: 3600 }),
    'one without a requestId': await signer.sign('exchange', 'contoso', { claims: { requestId: undefined } })
  }
  for (const [what, assertion] of Object.entries(refused)) {
    const res = await call(assertion)
    t.equal(res.statusCode, 401, what)
    t.same(res.json(), { error: 'assertion invalid' }, what)
  }
})

t.test('refuses an assertion for another tenant than the path with 403', async (t) => {
  const res = await call(await signer.sign('exchange', 'fabrikam'))
  t.equal(res.statusCode, 403)
  t.same(res.json(), { error: 'assertion is for another tenant' })
})

t.test('checks the assertion before telling whether a tenant exists', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/tenants/northwind/mailboxes' })
  t.equal(res.statusCode, 401)
})

t.test('returns the claims of a valid assertion', async (t) => {
  const token = await signer.sign('onedrive', 'fabrikam', { claims: { accessLevel: 'read', scope: '/drives/adele@fabrikam.com' } })
  const claims = await verifyGatewayAssertion(token, 'onedrive', { keys: signer.keys, issuer: TEST_ISSUER })
  t.match(claims, { requestId: 'req-0001', actor: 'eng-ada', tenantId: 'fabrikam', scope: '/drives/adele@fabrikam.com', accessLevel: 'read' })
})

t.test('refuses claims of the wrong type or an unknown access level', async (t) => {
  const options = { keys: signer.keys, issuer: TEST_ISSUER }
  for (const claims of [{ actor: 42 }, { tenantId: ['contoso'] }, { scope: null }, { accessLevel: 'admin' }, { accessLevel: 1 }]) {
    const token = await signer.sign('exchange', 'contoso', { claims })
    await t.rejects(verifyGatewayAssertion(token, 'exchange', options), TypeError, JSON.stringify(claims))
  }
})

t.test('checks assertions against the clock it is given', async (t) => {
  const hourAgo = Date.now() - 3600_000
  const options = { keys: signer.keys, issuer: TEST_ISSUER, now: () => hourAgo }
  const then = await signer.sign('sharepoint', 'contoso', { issuedAt: Math.floor(hourAgo / 1000) })
  t.match(await verifyGatewayAssertion(then, 'sharepoint', options), { tenantId: 'contoso' })
  await t.rejects(verifyGatewayAssertion(await signer.sign('sharepoint', 'contoso'), 'sharepoint', options))
  const app = buildMockService('sharepoint', options)
  t.teardown(async () => { await app.close() })
  const res = await app.inject({ url: '/tenants/contoso/sites', headers: { 'x-lockbox-assertion': then } })
  t.equal(res.statusCode, 200)
})
