// The granted access: narrowing by one approver, the intersection of a quorum, the canonical grant.
import t from 'tap'
import {
  grantedAccess, intersectAccess, isExactGrant, narrowAccess, publicGrant, requestedAccess,
  type GrantedAccess, type NarrowingResult
} from '../../src/domain/granted-access.js'

const HOUR = 3_600_000
const REQUESTED: GrantedAccess = { scope: '/mailboxes/alice@contoso.com', accessLevel: 'readwrite', duration: 'PT2H', durationMs: 2 * HOUR }

function accessOf (result: NarrowingResult): GrantedAccess {
  if (!result.ok) throw new Error(result.refusal.detail)
  return result.access
}

function codeOf (result: NarrowingResult): string | null {
  return result.ok ? null : result.refusal.code
}

t.test('an approval that narrows nothing grants exactly what was requested', async (t) => {
  const access = accessOf(narrowAccess(REQUESTED, {}))
  t.same(access, REQUESTED)
  t.ok(isExactGrant(REQUESTED, access))
})

t.test('an approver may give a shorter window, a sub-path and read instead of readwrite', async (t) => {
  const access = accessOf(narrowAccess(REQUESTED, { duration: 'PT30M', scope: '/mailboxes/alice@contoso.com/messages', accessLevel: 'read' }))
  t.same(access, { scope: '/mailboxes/alice@contoso.com/messages', accessLevel: 'read', duration: 'PT30M', durationMs: HOUR / 2 })
  t.notOk(isExactGrant(REQUESTED, access))
  t.same(publicGrant(access), { scope: '/mailboxes/alice@contoso.com/messages', accessLevel: 'read', duration: 'PT30M' })
  t.same(accessOf(narrowAccess(REQUESTED, { scope: REQUESTED.scope, accessLevel: 'readwrite', duration: 'PT2H' })), REQUESTED, 'the requested values themselves are not a widening')
})

t.test('refuses anything wider than what was requested with GRANT_WIDENED', async (t) => {
  t.equal(codeOf(narrowAccess(REQUESTED, { duration: 'PT3H' })), 'GRANT_WIDENED')
  t.equal(codeOf(narrowAccess(REQUESTED, { scope: '/mailboxes' })), 'GRANT_WIDENED')
  t.equal(codeOf(narrowAccess(REQUESTED, { scope: '/mailboxes/alice@contoso.com.evil' })), 'GRANT_WIDENED', 'a prefix is only a prefix on whole segments')
  t.equal(codeOf(narrowAccess({ ...REQUESTED, accessLevel: 'read' }, { accessLevel: 'readwrite' })), 'GRANT_WIDENED')
})

t.test('refuses a malformed duration or scope with VALIDATION_FAILED', async (t) => {
  t.equal(codeOf(narrowAccess(REQUESTED, { duration: 'P1D' })), 'VALIDATION_FAILED')
  t.equal(codeOf(narrowAccess(REQUESTED, { duration: 'PT0S' })), 'VALIDATION_FAILED')
  t.equal(codeOf(narrowAccess(REQUESTED, { scope: '/mailboxes/alice@contoso.com/../bob' })), 'VALIDATION_FAILED')
})

t.test('the intersection of two approvals is the shorter window, the inner scope and the lesser level', async (t) => {
  const a = accessOf(narrowAccess(REQUESTED, { duration: 'PT1H' }))
  const b = accessOf(narrowAccess(REQUESTED, { scope: '/mailboxes/alice@contoso.com/messages', accessLevel: 'read' }))
  const both = { scope: '/mailboxes/alice@contoso.com/messages', accessLevel: 'read', duration: 'PT1H', durationMs: HOUR }
  t.same(accessOf(intersectAccess(a, b)), both)
  t.same(accessOf(intersectAccess(b, a)), both, 'in either order')
  t.same(accessOf(intersectAccess(REQUESTED, REQUESTED)), REQUESTED)
})

t.test('two scopes that share no path have no intersection: GRANT_DISJOINT', async (t) => {
  const wide = { ...REQUESTED, scope: '/mailboxes' }
  const a = accessOf(narrowAccess(wide, { scope: '/mailboxes/alice@contoso.com' }))
  const b = accessOf(narrowAccess(wide, { scope: '/mailboxes/bob@contoso.com' }))
  t.equal(codeOf(intersectAccess(a, b)), 'GRANT_DISJOINT')
})

t.test('a request grants its narrowed grant once decided, and what it asked for before', async (t) => {
  const narrowed = { ...REQUESTED, accessLevel: 'read' as const }
  t.same(grantedAccess({ ...REQUESTED, granted: null }), REQUESTED)
  t.same(grantedAccess({ ...REQUESTED }), REQUESTED, 'a request stored before grants were narrowed')
  t.same(grantedAccess({ ...REQUESTED, granted: narrowed }), narrowed)
  t.same(requestedAccess({ ...REQUESTED, granted: narrowed } as GrantedAccess), REQUESTED)
})
