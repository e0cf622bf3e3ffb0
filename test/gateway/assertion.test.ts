import t, { type Test } from 'tap'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { AssertionSigner, type AssertionSubject } from '../../src/gateway/assertion.js'
import { openSigningKeys, type SigningKeys } from '../../src/gateway/signing-keys.js'
import { tempDir } from '../helpers/config.js'

const SUBJECT: AssertionSubject = { requestId: 'r1', actor: 'eng-ada', tenantId: 'contoso', workload: 'exchange', scope: '/mailboxes/alice@contoso.com', accessLevel: 'read' }

async function keysIn (t: Test): Promise<SigningKeys> {
  const dir = tempDir()
  t.teardown(dir.remove)
  return await openSigningKeys(join(dir.path, 'signing-key.json'))
}

t.test('signs a short-lived assertion for the workload', async (t) => {
  const keys = await keysIn(t)
  const now = Date.now()
  const signer = new AssertionSigner(keys, () => now)
  const jwt = await signer.assertionFor(SUBJECT)
  const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(keys.jwks), { issuer: 'urn:lockbox-gateway', audience: 'exchange', typ: 'lockbox-assertion+jwt', currentDate: new Date(now) })
  t.equal(protectedHeader.kid, keys.kid)
  t.match(payload, { requestId: 'r1', actor: 'eng-ada', tenantId: 'contoso', scope: '/mailboxes/alice@contoso.com', accessLevel: 'read', sub: 'eng-ada' })
  t.equal((payload.exp as number) - (payload.iat as number), 300)
})

t.test('reuses an assertion for a minute, then signs a fresh one', async (t) => {
  const keys = await keysIn(t)
  let now = Date.parse('2026-11-24T09:00:00.000Z')
  const signer = new AssertionSigner(keys, () => now)
  const first = await signer.assertionFor(SUBJECT)
  now += 59_999
  t.equal(signer.cached(SUBJECT), first, 'reused, synchronously')
  t.equal(await signer.assertionFor(SUBJECT), first, 'and by assertionFor')
  now += 1
  t.equal(signer.cached(SUBJECT), undefined)
  const second = await signer.assertionFor(SUBJECT)
  t.not(second, first)
  t.equal(signer.cached(SUBJECT), second)
  now -= 10_000
  t.equal(signer.cached(SUBJECT), undefined, 'a clock that went back does not reuse one from its future')
})

t.test('keeps assertions apart per grant and workload, and forgets a grant\'s', async (t) => {
  const keys = await keysIn(t)
  const now = Date.now()
  const signer = new AssertionSigner(keys, () => now)
  const exchange = await signer.assertionFor(SUBJECT)
  const sharepoint = await signer.assertionFor({ ...SUBJECT, workload: 'sharepoint' })
  const other = await signer.assertionFor({ ...SUBJECT, requestId: 'r2' })
  t.not(exchange, sharepoint)
  signer.forget('r1')
  t.equal(signer.cached(SUBJECT), undefined)
  t.equal(signer.cached({ ...SUBJECT, workload: 'sharepoint' }), undefined)
  t.equal(signer.cached({ ...SUBJECT, requestId: 'r2' }), other, 'another grant keeps its own')
})
