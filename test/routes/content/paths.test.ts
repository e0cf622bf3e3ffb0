// Paths that are not canonical are rejected, never repaired (API.md §5). Sent over a raw socket:
// inject and fetch would normalise them before the gateway ever saw them.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import type { TestApp } from '../../helpers/app.js'
import { contentRecords, granted, listen, type Granted } from '../../helpers/content.js'
import { rawExchange, rawRequest } from '../../helpers/raw-http.js'
import { startAppBehindUpstream, type RecordingUpstream } from '../../helpers/recording-upstream.js'

const ALICE = '/exchange/contoso/mailboxes/alice@contoso.com'

interface Setup { h: TestApp, upstream: RecordingUpstream, grant: Granted, port: number }

async function setup (t: Test): Promise<Setup> {
  const { h, upstream } = await startAppBehindUpstream(t)
  // A whole-tenant read scope: no rejection below can be mistaken for a scope refusal.
  const grant = await granted(h, { scope: '/' })
  return { h, upstream, grant, port: await listen(h) }
}

// [what, request target, recorded reason]
const REJECTED: Array<[string, string, string]> = [
  ['a dot-dot segment', `${ALICE}/../bob@contoso.com/messages`, 'dot-segment'],
  ['a dot segment', `${ALICE}/./messages`, 'dot-segment'],
  ['a trailing dot-dot segment', `${ALICE}/messages/..`, 'dot-segment'],
  ['an encoded dot-dot', `${ALICE}/%2e%2e/bob@contoso.com/messages`, 'dot-segment'],
  ['an upper-case encoded dot-dot', `${ALICE}/%2E%2E/bob@contoso.com/messages`, 'dot-segment'],
  ['a half-encoded dot-dot', `${ALICE}/.%2e/bob@contoso.com/messages`, 'dot-segment'],
  ['an encoded dot', `${ALICE}/%2e/messages`, 'dot-segment'],
  ['a double-encoded dot-dot', `${ALICE}/%252e%252e/bob@contoso.com/messages`, 'dot-segment'],
  ['a triple-encoded dot-dot', `${ALICE}/%25252e%25252e/bob@contoso.com/messages`, 'dot-segment'],
  ['a dot-dot with an encoded slash', `${ALICE}/..%2fbob@contoso.com/messages`, 'encoded-separator'],
  ['an encoded slash', `${ALICE}%2f..%2fbob@contoso.com/messages`, 'encoded-separator'],
  ['an upper-case encoded slash', `${ALICE}%2F..%2Fbob@contoso.com/messages`, 'encoded-separator'],
  ['a double-encoded slash', `${ALICE}%252f..%252fbob@contoso.com/messages`, 'encoded-separator'],
  ['an encoded backslash', `${ALICE}%5c..%5cbob@contoso.com/messages`, 'encoded-separator'],
  ['an upper-case encoded backslash', `${ALICE}/a%5Cb`, 'encoded-separator'],
  ['an encoded NUL', `${ALICE}/messages%00.json`, 'control-byte'],
  ['an encoded control byte', `${ALICE}/messages%0d%0aX-Injected:%20yes`, 'control-byte'],
  ['an encoded DEL', `${ALICE}/messages%7f`, 'control-byte'],
  ['a double slash', `${ALICE}//messages`, 'empty-segment'],
  ['a double slash after the workload', '/exchange//contoso/mailboxes/alice@contoso.com', 'empty-segment'],
  ['a semicolon', `${ALICE};x=1/messages`, 'semicolon'],
  ['an encoded semicolon', `${ALICE}%3bx=1/messages`, 'semicolon'],
  ['a raw backslash', `${ALICE}\\..\\bob@contoso.com`, 'backslash'],
  ['a fragment marker', `${ALICE}#/../bob@contoso.com`, 'bad-encoding'],
  ['a character that must be escaped', `${ALICE}/a"b`, 'bad-encoding'],
  ['a bad escape behind %25', `${ALICE}/a%25ZZ`, 'bad-encoding'],
  ['an absolute-form target', `http://127.0.0.1${ALICE}/messages`, 'empty-segment'],
  ['full-width dots, which NFKC reads as ..', `${ALICE}/%EF%BC%8E%EF%BC%8E/bob@contoso.com/messages`, 'not-nfkc'],
  ['a full-width solidus', `${ALICE}%EF%BC%8F..%EF%BC%8Fbob@contoso.com/messages`, 'not-nfkc'],
  ['a two-dot leader', `${ALICE}/%E2%80%A5/bob@contoso.com`, 'not-nfkc'],
  ['double-encoded full-width dots', `${ALICE}/%25EF%25BC%258E%25EF%25BC%258E/bob@contoso.com`, 'not-nfkc']
]

// Escapes that are not UTF-8: the router cannot decode them and refuses before any route runs.
const UNDECODABLE: Array<[string, string]> = [
  ['an invalid escape', `${ALICE}/%ZZ`],
  ['an overlong UTF-8 slash', `${ALICE}/%C0%AF..%C0%AFbob@contoso.com`],
  ['a truncated UTF-8 sequence', `${ALICE}/%E2%82`],
  ['a lone percent sign', `${ALICE}/100%`],
  ['an invalid escape in the tenant', '/exchange/%ZZ/mailboxes']
]

t.test('rejects every non-canonical path with 400 and forwards nothing', async (t) => {
  const s = await setup(t)
  for (const [what, target, reason] of REJECTED) {
    const res = await rawRequest(s.port, target, { headers: { authorization: s.grant.authorization } })
    t.equal(res.status, 400, what)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', what)
    t.match(res.json(), { status: 400, code: 'PATH_REJECTED', detail: `the path is not canonical (${reason}); it is rejected, never repaired` }, what)
  }
  t.equal(s.upstream.requests.length, 0, 'nothing reaches the upstream')
  t.equal(s.upstream.connections, 0)
  const denied = await contentRecords(s.h, s.grant.request.id, 'ContentAccessDenied')
  t.same(denied.map((r) => r.details.reason), REJECTED.map(([, , reason]) => `path rejected: ${reason}`), 'every rejection is recorded')
  t.match(denied[0], { actor: { id: 'eng-ada' }, requestId: s.grant.request.id, details: { status: 400 } })
})

t.test('rejects escapes that are not UTF-8, which the router itself cannot decode', async (t) => {
  const s = await setup(t)
  for (const [what, target] of UNDECODABLE) {
    const res = await rawRequest(s.port, target, { headers: { authorization: s.grant.authorization } })
    t.equal(res.status, 400, what)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', what)
    t.match(res.json(), { status: 400, code: 'PATH_REJECTED', detail: /bad-encoding/ }, what)
  }
  t.equal(s.upstream.requests.length, 0)
  const denied = await contentRecords(s.h, s.grant.request.id, 'ContentAccessDenied')
  t.equal(denied.length, UNDECODABLE.length, 'each one judged by the guard and recorded')
  t.ok(denied.every((r) => r.details.reason === 'path rejected: bad-encoding'))
})

t.test('checks the token of an undecodable path first, as for any other', async (t) => {
  const s = await setup(t)
  const res = await rawRequest(s.port, `${ALICE}/%C0%AF`)
  t.equal(res.status, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer')
  t.match(res.json(), { code: 'TOKEN_INVALID' })
  const [denied] = await contentRecords(s.h, null, 'ContentAccessDenied')
  t.match(denied, { tenantId: 'contoso', details: { reason: 'missing access token', path: '/contoso/mailboxes/alice@contoso.com/%C0%AF' } })
  const unknown = await rawRequest(s.port, '/exchange/%ZZ/mailboxes')
  t.equal(unknown.status, 401, 'no tenant to record it for, still refused')
  t.equal(s.upstream.requests.length, 0)
})

t.test('answers the router\'s refusals outside the content routes as problem+json', async (t) => {
  const s = await setup(t)
  const bad = await rawRequest(s.port, '/v1/requests/%ZZ', { headers: { authorization: `Bearer ${await s.h.token('eng-ada')}` } })
  t.equal(bad.status, 400)
  t.equal(bad.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(bad.json(), { status: 400, code: 'PATH_REJECTED' })
  const long = await rawRequest(s.port, `/v1/requests/${'x'.repeat(101)}`)
  t.equal(long.status, 414)
  t.equal(long.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(long.json(), { status: 414 })
})

t.test('leaves raw control and non-ASCII bytes to the HTTP parser, which refuses them', async (t) => {
  const s = await setup(t)
  for (const bytes of ['\x00', '\x01', '\x7f', '\xc3\xa9', '\xff']) {
    const head = `GET ${ALICE}/a${bytes}b HTTP/1.1\r\nhost: x\r\nauthorization: ${s.grant.authorization}\r\nconnection: close\r\n\r\n`
    const res = await rawExchange(s.port, Buffer.from(head, 'latin1'))
    t.equal(res.status, 400, JSON.stringify(bytes))
  }
  t.equal(s.upstream.requests.length, 0)
})

t.test('forwards a canonical path that merely looks odd', async (t) => {
  const s = await setup(t)
  const targets = [
    `${ALICE}/a..b`,
    `${ALICE}/a.`,
    `${ALICE}/x%2e%2e.txt`,
    `${ALICE}/%2541`,
    `${ALICE}/caf%C3%A9`,
    `${ALICE}/it's~(1)+!$&=,:@`
  ]
  for (const target of targets) {
    const res = await rawRequest(s.port, target, { headers: { authorization: s.grant.authorization } })
    t.equal(res.status, 200, target)
  }
  // In its canonical spelling: `%2e` is `.` (unreserved), every other escape stays as it is.
  t.same(s.upstream.requests.map((r) => r.url), targets.map((target) => target.replace('/exchange/', '/tenants/').replace('%2e%2e', '..')))
})

/** What an upstream might make of a path: percent-decoding, NFKC, `\` as `/`, merged slashes, dot segments removed; repeated. */
function upstreamNormalised (path: string): string {
  let current = path
  for (let round = 0; round < 4; round++) {
    const bytes = Buffer.from(current.replace(/%([0-9A-Fa-f]{2})/g, (_e, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1')
    const decoded = bytes.toString('utf8').normalize('NFKC').replaceAll('\\', '/').replace(/\/{2,}/g, '/')
    const out: string[] = []
    for (const segment of decoded.split('/').slice(1)) {
      if (segment === '..') out.pop()
      else if (segment !== '.') out.push(segment)
    }
    current = '/' + out.join('/')
  }
  return current
}

// Pieces of paths: traversal in every spelling, NFKC look-alikes of `.` `/` `\`, escapes of the scope itself.
const PIECES = ['..', '.', '%2e%2e', '%2E%2e', '.%2e', '%2e', '%252e%252e', '%EF%BC%8E%EF%BC%8E', '%ef%bc%8e', '%E2%80%A5', '%E2%80%A4',
  '%EF%B9%92', '%EF%BC%8F', '%EF%BC%BC', '%5c', '%2f', '%252f', 'bob@contoso.com', 'x', 'a..b', 'a.', '%C3%A9', 'e%CC%81', '%25',
  '%2541', 'mailboxes', 'alice@contoso.com', '%61lice@contoso.com', 'alice%40contoso.com', '', '%41%42', 'messages']
const PREFIXES = ['/exchange/contoso/mailboxes/alice@contoso.com', '/%65xchange/%63ontoso/mailboxes/alice%40contoso.com',
  '/exchange/contoso/mailboxes/%61lice@contoso.com', '/exchange/contoso/mailboxes', '/exchange/%63ontoso']

t.test('every path the guard accepts stays inside the scope after any upstream normalisation, and is recorded as forwarded (property)', async (t) => {
  const s = await setup(t)
  const grant = await granted(s.h, { scope: '/mailboxes/alice@contoso.com' })
  let accepted = 0
  const target = fc.tuple(fc.constantFrom(...PREFIXES), fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.stringMatching(/^[A-Za-z0-9._~%-]{1,6}$/)), { maxLength: 4 }))
    .map(([prefix, tail]) => tail.length === 0 ? prefix : `${prefix}/${tail.join('/')}`)
  await fc.assert(fc.asyncProperty(target, async (path) => {
    const forwardedBefore = s.upstream.requests.length
    const res = await rawRequest(s.port, path, { headers: { authorization: grant.authorization } })
    if (s.upstream.requests.length === forwardedBefore) {
      if (res.status === 200) throw new Error(`${path}: 200 without reaching the upstream`)
      return
    }
    accepted++
    const forwarded = (s.upstream.requests.at(-1) as { url: string }).url
    const normalised = upstreamNormalised(forwarded)
    if (normalised !== '/tenants/contoso/mailboxes/alice@contoso.com' && !normalised.startsWith('/tenants/contoso/mailboxes/alice@contoso.com/')) {
      throw new Error(`${path} was forwarded as ${forwarded}, which an upstream may read as ${normalised}`)
    }
    const accessId = res.headers['x-lockbox-access-id']
    const [accessed] = (await contentRecords(s.h, grant.request.id, 'ContentAccessed')).filter((r) => r.details.accessId === accessId)
    if (accessed?.details.path !== forwarded.slice('/tenants'.length) || accessed.object !== accessed.details.path) {
      throw new Error(`${path} was forwarded as ${forwarded} but recorded as ${String(accessed?.details.path)}`)
    }
  }), { numRuns: 200 })
  t.ok(accepted > 20, `${accepted} of 200 paths accepted, each inside the scope and recorded as forwarded`)
})
