import t from 'tap'
import { createHash } from 'node:crypto'
import { canonicalGrant, grantBytes, grantChallenge, type ApprovalProof, type ApproverJwk, type ApproverKeySet, type Signable, type SignedApproval } from '../../src/domain/approval.js'
import {
  canonicalExtension, extensionWithin, signedWindowEnd, verifyExtensions, verifySignedExtension, type CanonicalExtension, type SignedExtension
} from '../../src/domain/signed-extension.js'
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
  justification: 'Mailbox rule loop',
  accessEndsAt: '2026-01-01T12:00:00.000Z',
  extension: { justification: 'Still looping', requestedAt: '2026-01-01T11:30:00.000Z' }
}
const AT = '2026-01-01T10:00:00.000Z'
const GRANT = canonicalGrant(REQUEST)

function keyOf (a: SoftAuthenticator, sub: string): ApproverJwk {
  return { ...(a.publicJwk() as { kty: string }), kid: a.id, alg: 'ES256', use: 'sig', sub, nbf: Date.parse('2026-01-01T00:00:00Z') / 1000 }
}

function proofBy<G extends Signable> (a: SoftAuthenticator, grant: G, approver: string, approvedAt = AT): ApprovalProof<G> {
  const r = a.assert(grantChallenge(grant)) as { id: string, response: Record<string, string> }
  return { kid: r.id, approver, authenticatorData: r.response.authenticatorData as string, clientDataJSON: r.response.clientDataJSON as string, signature: r.response.signature as string, approvedAt, grant }
}

const lee = new SoftAuthenticator(RP)
const megan = new SoftAuthenticator(RP)
const KEYS: ApproverKeySet = { tenantId: 'contoso', rpId: RP.rpId, origins: [RP.origin], keys: [keyOf(lee, 'lee'), keyOf(megan, 'megan')] }
const APPROVAL: SignedApproval = { grant: GRANT, proofs: [proofBy(lee, GRANT, 'lee')] }

function extension (duration = 'PT1H', over: Partial<CanonicalExtension> = {}): CanonicalExtension {
  return { ...canonicalExtension(REQUEST, grantChallenge(GRANT), duration), ...over }
}

function signed (grant: CanonicalExtension, by: Array<[SoftAuthenticator, string]> = [[lee, 'lee']], required = 1): SignedExtension {
  return { grant, proofs: by.map(([a, who]) => proofBy(a, grant, who, '2026-01-01T11:40:00.000Z')), required }
}

t.test('encodes the extension as RFC 8785 canonical JSON, byte for byte as docs/security.md writes it', async (t) => {
  const ext = extension()
  const expected = `{"accessEndsAt":"2026-01-01T12:00:00.000Z","duration":"PT1H","extends":"${grantChallenge(GRANT)}","justification":"Still looping",` +
    '"requestId":"5f0c1c52-0000-4000-8000-000000000001","requestedAt":"2026-01-01T11:30:00.000Z","requester":"eng-ada","tenantId":"contoso","type":"lockbox-extension/v1"}'
  t.equal(grantBytes(ext).toString('utf8'), expected)
  t.equal(grantChallenge(ext), createHash('sha256').update(expected, 'utf8').digest('base64url'))
})

t.test('an extension covers one granted for less time, and nothing else', async (t) => {
  t.equal(extensionWithin(extension('PT30M'), extension()), true)
  t.equal(extensionWithin(extension('PT2H'), extension()), false, 'more time than signed')
  t.equal(extensionWithin(extension('PT1H', { accessEndsAt: '2026-01-01T13:00:00.000Z' }), extension()), false, 'from a later end')
  t.equal(extensionWithin(extension('forever'), extension()), false)
})

t.test('verifies an extension of this approval by a quorum of the tenant\'s approvers, and refuses each forgery', async (t) => {
  const two = signed(extension(), [[lee, 'lee'], [megan, 'megan']], 2)
  t.same(verifySignedExtension(two, APPROVAL, KEYS, 2), { ok: true })
  const reason = (ext: SignedExtension, required = 1): string => {
    const check = verifySignedExtension(ext, APPROVAL, KEYS, required)
    return check.ok ? 'ok' : check.reason
  }
  t.match(reason(signed(extension()), 2), /1 approver signature\(s\), 2 required/)
  // The approval's own signature, presented as an extension's.
  t.match(reason({ grant: extension(), proofs: [{ ...APPROVAL.proofs[0] as ApprovalProof, grant: undefined }] as never, required: 1 }), /not this grant/)
  t.match(reason({ ...signed(extension()), grant: { ...GRANT, extends: grantChallenge(GRANT) } as never }), /not an extension/)
  const otherApproval = grantChallenge(canonicalGrant({ ...REQUEST, scope: '/' }))
  t.match(reason(signed(extension('PT1H', { extends: otherApproval }))), /extends another approval/)
  t.match(reason(signed(extension('PT1H', { requester: 'eng-eve' }))), /requester is not the approval's/)
  t.match(reason(signed(extension('PT1H', { accessEndsAt: 'soon' }))), /names no window end/)
  const longer = extension('PT4H')
  t.match(reason({ grant: longer, proofs: signed(extension()).proofs, required: 1 }), /does not cover/, 'more time than its approver signed')

  t.same(verifyExtensions({ ...APPROVAL, extensions: [two] }, KEYS, (e) => e.required), { ok: true })
  t.same(verifyExtensions(APPROVAL, KEYS, () => 1), { ok: true }, 'no extensions')
  t.match(verifyExtensions({ ...APPROVAL, extensions: [two, signed(extension('PT1H', { requester: 'x' }))] }, KEYS, () => 1), { ok: false })
})

t.test('the signed window ends a grant\'s duration after its last approval, or where the latest extension signed', async (t) => {
  const end = (approval: SignedApproval): string | null => {
    const ms = signedWindowEnd(approval)
    return ms === null ? null : new Date(ms).toISOString()
  }
  t.equal(end(APPROVAL), '2026-01-01T12:00:00.000Z')
  const quorum = { grant: GRANT, proofs: [...APPROVAL.proofs, proofBy(megan, GRANT, 'megan', '2026-01-01T10:30:00.000Z')] }
  t.equal(end(quorum), '2026-01-01T12:30:00.000Z', 'the window opened with the last approval')
  t.equal(end({ ...APPROVAL, extensions: [signed(extension())] }), '2026-01-01T13:00:00.000Z')
  t.equal(end({ ...APPROVAL, extensions: [signed(extension('PT1H', { accessEndsAt: '2026-01-01T10:30:00.000Z' }))] }), '2026-01-01T12:00:00.000Z', 'an extension ending earlier moves nothing')
  t.equal(end({ ...APPROVAL, extensions: [signed(extension('forever'))] }), '2026-01-01T12:00:00.000Z', 'an unreadable extension moves nothing')
  t.equal(end({ grant: GRANT, proofs: [] }), null, 'no approval, no window')
  t.equal(end({ grant: { ...GRANT, duration: 'forever' }, proofs: APPROVAL.proofs }), null)
})
