import t from 'tap'
import { createHash } from 'node:crypto'
import {
  approvalCovers, approvalDigest, canonicalGrant, grantBytes, grantChallenge, grantWithin, verifyApprovalProof, verifySignedApproval,
  type ApprovalProof, type ApproverJwk, type ApproverKeySet, type CanonicalGrant
} from '../../src/domain/approval.js'
import { SoftAuthenticator } from '../helpers/authenticator.js'

const RP = { origin: 'https://lockbox.example', rpId: 'lockbox.example' }
const REQUEST = {
  id: '5f0c1c52-0000-4000-8000-000000000001',
  tenantId: 'contoso',
  workload: 'exchange' as const,
  scope: '/mailboxes/alice@contoso.com',
  accessLevel: 'read' as const,
  duration: 'PT2H',
  requester: { id: 'eng-ada', name: 'Ada' },
  serviceRequestNumber: '100001',
  justification: 'Mailbox rule loop — "urgent"'
}
const AT = '2026-01-01T10:00:00.000Z'

t.test('encodes the grant as RFC 8785 canonical JSON, byte for byte as docs/security.md writes it', async (t) => {
  const grant = canonicalGrant(REQUEST)
  const expected = '{"accessLevel":"read","duration":"PT2H","justification":"Mailbox rule loop — \\"urgent\\"","requestId":"5f0c1c52-0000-4000-8000-000000000001",' +
    '"requester":"eng-ada","scope":"/mailboxes/alice@contoso.com","serviceRequestNumber":"100001","tenantId":"contoso","type":"lockbox-grant/v1","workload":"exchange"}'
  t.equal(grantBytes(grant).toString('utf8'), expected)
  t.equal(grantChallenge(grant), createHash('sha256').update(expected, 'utf8').digest('base64url'))
  const narrowed = canonicalGrant(REQUEST, { scope: '/mailboxes/alice@contoso.com/messages', accessLevel: 'read', duration: 'PT30M' })
  t.same([narrowed.scope, narrowed.duration], ['/mailboxes/alice@contoso.com/messages', 'PT30M'], 'granted terms replace the asked ones')
  t.not(grantChallenge(narrowed), grantChallenge(grant))
})

function keyOf (a: SoftAuthenticator, sub: string, alg: ApproverJwk['alg'], validity: { nbf?: number, exp?: number } = {}): ApproverJwk {
  return { ...(a.publicJwk() as { kty: string }), kid: a.id, alg, use: 'sig', sub, nbf: validity.nbf ?? Date.parse('2026-01-01T00:00:00Z') / 1000, ...(validity.exp === undefined ? {} : { exp: validity.exp }) }
}

function proofBy (a: SoftAuthenticator, grant: CanonicalGrant, approver: string, overrides: { type?: string, origin?: string } = {}): ApprovalProof {
  const r = a.assert(grantChallenge(grant), overrides) as { id: string, response: Record<string, string> }
  return { kid: r.id, approver, authenticatorData: r.response.authenticatorData as string, clientDataJSON: r.response.clientDataJSON as string, signature: r.response.signature as string, approvedAt: AT }
}

t.test('verifies proofs of every supported algorithm and refuses each broken part', async (t) => {
  const grant = canonicalGrant(REQUEST)
  const es = new SoftAuthenticator(RP)
  const ed = new SoftAuthenticator({ ...RP, alg: 'EdDSA' })
  const rs = new SoftAuthenticator({ ...RP, alg: 'RS256' })
  const keys: ApproverKeySet = { tenantId: 'contoso', rpId: RP.rpId, origins: [RP.origin], keys: [keyOf(es, 'lee', 'ES256'), keyOf(ed, 'megan', 'EdDSA'), keyOf(rs, 'nestor', 'RS256')] }
  t.same(verifyApprovalProof(proofBy(es, grant, 'lee'), grant, keys), { ok: true })
  t.same(verifyApprovalProof(proofBy(ed, grant, 'megan'), grant, keys), { ok: true })
  t.same(verifyApprovalProof(proofBy(rs, grant, 'nestor'), grant, keys), { ok: true })

  const good = proofBy(es, grant, 'lee')
  const reason = (proof: ApprovalProof, g = grant, k = keys): string => {
    const check = verifyApprovalProof(proof, g, k)
    return check.ok ? 'ok' : check.reason
  }
  t.match(reason({ ...good, kid: 'nope' }), /unknown approver key/)
  t.match(reason({ ...good, approver: 'megan' }), /belongs to lee/)
  t.match(reason({ ...good, approvedAt: 'yesterday' }), /not valid/)
  t.match(reason({ ...good, approvedAt: '2025-12-31T23:59:59.000Z' }), /not valid/, 'before the key was registered')
  t.match(reason(good, grant, { ...keys, keys: [keyOf(es, 'lee', 'ES256', { exp: Date.parse(AT) / 1000 })] }), /not valid/, 'at or after its revocation')
  t.same(reason(good, grant, { ...keys, keys: [keyOf(es, 'lee', 'ES256', { exp: Date.parse(AT) / 1000 + 1 })] }), 'ok', 'before its revocation')
  t.match(reason({ ...good, signature: 'not base64url!' }), /not base64url/)
  t.match(reason({ ...good, authenticatorData: 'AAAA' }), /not base64url/, 'authenticator data too short')
  t.match(reason({ ...good, clientDataJSON: Buffer.from('{').toString('base64url') }), /not JSON/)
  t.match(reason(proofBy(es, grant, 'lee', { type: 'webauthn.create' })), /not an assertion/)
  t.match(reason(good, { ...grant, scope: '/' }), /not this grant/)
  t.match(reason(proofBy(es, grant, 'lee', { origin: 'https://evil.example' })), /origin/)
  t.match(reason(good, grant, { ...keys, rpId: 'evil.example' }), /another relying party/)
  const unverified = new SoftAuthenticator({ ...RP, withoutFlags: 0x04 })
  t.match(reason(proofBy(unverified, grant, 'lee'), grant, { ...keys, keys: [keyOf(unverified, 'lee', 'ES256')] }), /present and verified/)
  t.match(reason({ ...good, signature: proofBy(es, grant, 'lee').signature.slice(4) }), /does not verify/)
  t.match(reason(good, grant, { ...keys, keys: [{ ...keyOf(es, 'lee', 'ES256'), x: 'AA' }] }), /does not verify/, 'a malformed key verifies nothing')
})

t.test('checks a quorum of distinct approvers of the tenant', async (t) => {
  const grant = canonicalGrant(REQUEST)
  const lee = new SoftAuthenticator(RP)
  const leeToo = new SoftAuthenticator(RP)
  const megan = new SoftAuthenticator(RP)
  const keys: ApproverKeySet = { tenantId: 'contoso', rpId: RP.rpId, origins: [RP.origin], keys: [keyOf(lee, 'lee', 'ES256'), keyOf(leeToo, 'lee', 'ES256'), keyOf(megan, 'megan', 'ES256')] }
  const two = { grant, proofs: [proofBy(lee, grant, 'lee'), proofBy(megan, grant, 'megan')] }
  t.same(verifySignedApproval(two, keys, 2), { ok: true })
  t.match(verifySignedApproval({ grant, proofs: [proofBy(lee, grant, 'lee'), proofBy(leeToo, grant, 'lee')] }, keys, 2), { ok: false, reason: /1 approver signature\(s\), 2 required/ })
  t.match(verifySignedApproval({ grant, proofs: [] }, keys, 1), { ok: false })
  t.match(verifySignedApproval({ grant, proofs: [{ ...proofBy(lee, grant, 'lee'), approver: 'megan' }] }, keys, 1), { ok: false, reason: /belongs to lee/ })
  t.match(verifySignedApproval(two, { ...keys, tenantId: 'fabrikam' }, 1), { ok: false, reason: /tenant contoso/ })
  t.equal(approvalCovers(two, canonicalGrant(REQUEST)), true)
  t.equal(approvalCovers(two, canonicalGrant({ ...REQUEST, id: 'other' })), false)
  t.match(approvalDigest(two), /^[A-Za-z0-9_-]{43}$/)
})

t.test('a signed grant covers an access granted within it, and nothing else', async (t) => {
  const asked = canonicalGrant(REQUEST)
  t.equal(grantWithin(asked, asked), true)
  t.equal(grantWithin(canonicalGrant(REQUEST, { scope: '/mailboxes/alice@contoso.com/messages', accessLevel: 'read', duration: 'PT1H' }), asked), true)
  t.equal(grantWithin(asked, canonicalGrant(REQUEST, { scope: REQUEST.scope, accessLevel: 'read', duration: 'PT1H' })), false, 'longer than signed')
  t.equal(grantWithin(canonicalGrant({ ...REQUEST, accessLevel: 'readwrite' }), asked), false, 'readwrite where read was signed')
  t.equal(grantWithin(canonicalGrant(REQUEST, { scope: '/mailboxes/bob@contoso.com', accessLevel: 'read', duration: 'PT2H' }), asked), false, 'another scope')
  t.equal(grantWithin({ ...asked, scope: 'not a path' }, asked), false)
  t.equal(grantWithin({ ...asked, duration: 'forever' }, asked), false)
  t.equal(grantWithin({ ...asked, requestId: 'other' }, asked), false, 'another request')
  const lee = new SoftAuthenticator(RP)
  const keys: ApproverKeySet = { tenantId: 'contoso', rpId: RP.rpId, origins: [RP.origin], keys: [keyOf(lee, 'lee', 'ES256')] }
  const narrow = canonicalGrant(REQUEST, { scope: REQUEST.scope, accessLevel: 'read', duration: 'PT1H' })
  t.same(verifySignedApproval({ grant: narrow, proofs: [{ ...proofBy(lee, asked, 'lee'), grant: asked }] }, keys, 1), { ok: true }, 'a wider signature covers a narrower grant')
  t.match(verifySignedApproval({ grant: asked, proofs: [{ ...proofBy(lee, narrow, 'lee'), grant: narrow }] }, keys, 1), { ok: false, reason: /does not cover/ })
})
