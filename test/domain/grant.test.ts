import t from 'tap'
import { checkCanonicalPath, decodeSegments, methodAllowed, parseScope, pathInScope } from '../../src/domain/grant.js'

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
    ['/a/%' + '25'.repeat(9) + '41', 'bad-encoding']
  ]
  for (const [path, reason] of cases) t.same(checkCanonicalPath(path), { ok: false, reason }, JSON.stringify(path))
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
