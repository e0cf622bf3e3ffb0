import t from 'tap'
import { canonicalEncoding, checkCanonicalPath, decodeSegments, methodAllowed, parseScope, pathInScope } from '../../src/domain/grant.js'

t.test('accepts canonical paths and keeps their segments encoded', async (t) => {
  t.same(checkCanonicalPath('/'), { ok: true, segments: [] })
  t.same(checkCanonicalPath('/exchange/contoso/mailboxes/alice@contoso.com'), { ok: true, segments: ['exchange', 'contoso', 'mailboxes', 'alice@contoso.com'] })
  t.same(checkCanonicalPath('/sites/finance/files/Shared%20Documents/Q3%20report.docx'), { ok: true, segments: ['sites', 'finance', 'files', 'Shared%20Documents', 'Q3%20report.docx'] })
  t.same(checkCanonicalPath('/drives/alice/items/'), { ok: true, segments: ['drives', 'alice', 'items'] }, 'one trailing slash is allowed')
  t.same(checkCanonicalPath('/a/R%C3%A9sum%C3%A9.docx'), { ok: true, segments: ['a', 'R%C3%A9sum%C3%A9.docx'] })
  t.same(checkCanonicalPath('/a/b.c/.d/c..d'), { ok: true, segments: ['a', 'b.c', '.d', 'c..d'] }, 'dots inside a name are fine')
})

t.test('rejects every non-canonical form, never repairing it', async (t) => {
  const cases: Array<[string, string]> = [
    ['relative', 'not-absolute'],
    ['', 'not-absolute'],
    ['/a/../b', 'dot-segment'],
    ['/a/./b', 'dot-segment'],
    ['/a/..', 'dot-segment'],
    ['/a/...', 'dot-segment'],
    ['/a/..notes', 'dot-segment'],
    ['/a/%2e%2enotes', 'dot-segment'],
    ['/a/%2e%2e/b', 'dot-segment'],
    ['/a/%2E%2E/b', 'dot-segment'],
    ['/a/.%2e/b', 'dot-segment'],
    ['/a/%2e/b', 'dot-segment'],
    ['/a/%252e%252e/b', 'dot-segment'],
    ['/a/%25252e%25252e/b', 'dot-segment'],
    ['/a/..%2f/b', 'encoded-separator'],
    ['/a/%2f/b', 'encoded-separator'],
    ['/a/x%2Fy', 'encoded-separator'],
    ['/a/%252f', 'encoded-separator'],
    ['/a/%5c', 'encoded-separator'],
    ['/a/%5C..', 'encoded-separator'],
    ['/a\\b', 'backslash'],
    ['/a//b', 'empty-segment'],
    ['//a', 'empty-segment'],
    ['/a/b//', 'empty-segment'],
    ['/a;jsessionid=1', 'semicolon'],
    ['/a/%3b', 'semicolon'],
    ['/a/%00', 'control-byte'],
    ['/a/b%0a', 'control-byte'],
    ['/a/\u0001', 'control-byte'],
    ['/a/%zz', 'bad-encoding'],
    ['/a/%e', 'bad-encoding'],
    ['/a/%C0%AF', 'bad-encoding'],
    ['/a/%ff', 'bad-encoding'],
    ['/a/b c', 'bad-encoding'],
    ['/a/é', 'bad-encoding'],
    ['/a/b?c', 'bad-encoding'],
    ['/a/%' + '25'.repeat(9) + '41', 'bad-encoding'],
    // Text an NFKC-normalising server reads as something else: full-width dots, solidus and reverse
    // solidus, the two-dot leader, a ligature, a decomposed accent; also behind a %25 layer.
    ['/a/%EF%BC%8E%EF%BC%8E', 'not-nfkc'],
    ['/a/%EF%BC%8E', 'not-nfkc'],
    ['/a/x%EF%BC%8Fy', 'not-nfkc'],
    ['/a/x%EF%BC%BCy', 'not-nfkc'],
    ['/a/%E2%80%A5', 'not-nfkc'],
    ['/a/%EF%AC%80', 'not-nfkc'],
    ['/a/e%CC%81', 'not-nfkc'],
    ['/a/%25EF%25BC%258E%25EF%25BC%258E', 'not-nfkc']
  ]
  for (const [path, reason] of cases) t.same(checkCanonicalPath(path), { ok: false, reason }, JSON.stringify(path))
})

t.test('spells every accepted path one way: unreserved escapes decoded, the rest in upper case', async (t) => {
  t.same(checkCanonicalPath('/%65xchange/%63ontoso/a%2db%5f%7e%2E/caf%c3%a9/x%40y/%2541'), {
    ok: true,
    segments: ['exchange', 'contoso', 'a-b_~.', 'caf%C3%A9', 'x%40y', '%2541']
  })
  t.equal(canonicalEncoding('plain'), 'plain')
  t.equal(canonicalEncoding('%41%3a%3A'), 'A%3A%3A', 'a reserved character stays escaped: it may mean something else unescaped')
  t.same(checkCanonicalPath('/a/caf%C3%A9'), { ok: true, segments: ['a', 'caf%C3%A9'] }, 'NFC text NFKC leaves alone is canonical')
})

t.test('matches scopes on whole segments only', async (t) => {
  const scope = parseScope('/mailboxes/alice@contoso.com') as string[]
  t.same(scope, ['mailboxes', 'alice@contoso.com'])
  const inScope = (path: string): boolean => {
    const check = checkCanonicalPath(path)
    return check.ok && pathInScope(decodeSegments(check.segments), scope)
  }
  t.ok(inScope('/mailboxes/alice@contoso.com'))
  t.ok(inScope('/mailboxes/alice@contoso.com/messages/1'))
  t.ok(inScope('/mailboxes/alice%40contoso.com/messages'), 'the same segment, encoded differently')
  t.notOk(inScope('/mailboxes/alice@contoso.com.evil'))
  t.notOk(inScope('/mailboxes/alice'))
  t.notOk(inScope('/mailboxes'))
  t.notOk(inScope('/mailboxes/bob@contoso.com/messages'))
  t.same(parseScope('/'), [])
  t.ok(pathInScope(['anything'], []), 'the root scope covers the whole workload')
  t.equal(parseScope('/a/../b'), null)
})

t.test('allows methods by access level', async (t) => {
  for (const m of ['GET', 'HEAD']) t.ok(methodAllowed(m, 'read'), m)
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND']) t.notOk(methodAllowed(m, 'read'), m)
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) t.ok(methodAllowed(m, 'readwrite'), m)
  for (const m of ['OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND']) t.notOk(methodAllowed(m, 'readwrite'), m)
})
