// The budget of refusals without a valid token: within it, each refusal is answered and recorded
// one by one; past it, 429 with Retry-After and one summary record per source per interval, written
// on close too. A valid token is never throttled, the address is the one a trusted proxy names, and
// replicas on one Redis spend one budget.
import t, { type Test } from 'tap'
import type { Config } from '../../../config/schema.js'
import { loggerOptions } from '../../../src/app.js'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { tempDir, testConfig } from '../../helpers/config.js'
import { summaryRecordHead } from '../../helpers/audit-records.js'
import { contentRecords, eventually, granted } from '../../helpers/content.js'
import { freshNamespace, openTestStores, redisForTests } from '../../helpers/redis.js'

const URL = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

function budget (overrides: Partial<Config['refusalBudget']> = {}): Partial<Config> {
  return { refusalBudget: { perAddress: 3, perTenant: 1000, windowMs: 60_000, delayMs: 0, summaryIntervalMs: 60_000, maxSources: 1000, ...overrides } }
}

async function start (t: Test, config: Partial<Config>, dataDir?: string): Promise<TestApp> {
  const h = await startTestApp({ config, ...(dataDir === undefined ? {} : { dataDir }) })
  t.teardown(h.close)
  return h
}

async function refused (h: TestApp, headers: Record<string, string> = {}, url = URL): Promise<{ status: number, retryAfter: string | undefined, body: any, accessId: unknown }> {
  const res = await h.app.inject({ url, headers })
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined, body: res.json(), accessId: res.headers['x-lockbox-access-id'] }
}

const isSummary = (record: Record<string, any>): boolean => record.details.summary === true
const denied = async (h: TestApp, tenantId = 'contoso'): Promise<Array<Record<string, any>>> => await contentRecords(h, null, 'ContentAccessDenied', tenantId)

t.test('answers refusals without a valid token past the address budget with 429 and Retry-After', async (t) => {
  const h = await start(t, budget({ perAddress: 3, delayMs: 50 }))
  for (let i = 0; i < 3; i++) t.equal((await refused(h)).status, 401, 'within budget: refused as usual')
  const throttled = await refused(h, { authorization: 'Bearer not-a-jwt' })
  t.equal(throttled.status, 429)
  t.match(throttled.body, { status: 429, code: 'RATE_LIMITED', title: 'Too Many Requests', type: 'urn:lockbox-gateway:problem:rate-limited' })
  t.ok(Number(throttled.retryAfter) >= 1 && Number(throttled.retryAfter) <= 60, `Retry-After ${String(throttled.retryAfter)} is within the window`)
  t.type(throttled.accessId, 'string', 'the answer names its access id')
  const records = await denied(h)
  t.equal(records.length, 3, 'only the refusals within budget are recorded one by one, so far')
  t.notOk(records.some(isSummary))
})

t.test('counts refusals past the budget into one summary per source per interval', async (t) => {
  const h = await start(t, { ...budget({ perAddress: 2, summaryIntervalMs: 1000 }), trustProxy: ['127.0.0.1'] })
  const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address })
  const statuses: number[] = []
  for (let i = 0; i < 7; i++) statuses.push((await refused(h, from('203.0.113.7'), `${URL}/${i}`)).status)
  for (let i = 0; i < 4; i++) statuses.push((await refused(h, { ...from('198.51.100.9'), authorization: 'Bearer not-a-jwt' }, '/sharepoint/contoso/sites')).status)
  t.same(statuses, [401, 401, 429, 429, 429, 429, 429, 401, 401, 429, 429])
  const summaries = await eventually('two summaries', async () => (await denied(h)).filter(isSummary), (list) => list.length === 2)
  const bySource = Object.fromEntries(summaries.map((record) => [record.details.source, record]))
  t.match(bySource['203.0.113.7'], {
    ...summaryRecordHead('contoso', '203.0.113.7', 'exchange'),
    details: { summary: true, count: 5, status: 429, reasons: { 'missing access token': 5 } }
  })
  t.same(bySource['203.0.113.7'].details.samplePaths, ['/contoso/mailboxes/alice@contoso.com/messages/2', '/contoso/mailboxes/alice@contoso.com/messages/3', '/contoso/mailboxes/alice@contoso.com/messages/4'], 'a few sample paths')
  t.ok(bySource['203.0.113.7'].details.firstAt <= bySource['203.0.113.7'].details.lastAt)
  t.match(bySource['198.51.100.9'], { clientIp: '198.51.100.9', workload: 'sharepoint', details: { count: 2, samplePaths: ['/contoso/sites'], reasons: { 'token is not a compact JWS': 2 } } })
  t.equal((await denied(h)).filter((record) => !isSummary(record)).length, 4, 'the refusals within budget, one record each')

  // The next interval starts from nothing: a new summary counts only what came after.
  t.equal((await refused(h, from('203.0.113.7'))).status, 429)
  const later = await eventually('a third summary', async () => (await denied(h)).filter(isSummary), (list) => list.length === 3)
  t.match(later[2], { clientIp: '203.0.113.7', details: { count: 1 } })
})

t.test('never throttles a valid token', async (t) => {
  const h = await start(t, budget({ perAddress: 1 }))
  const grant = await granted(h)
  t.equal((await refused(h)).status, 401)
  t.equal((await refused(h)).status, 429, 'the address is past its budget')
  for (let i = 0; i < 5; i++) {
    const res = await h.app.inject({ url: URL, headers: { authorization: grant.authorization } })
    t.equal(res.statusCode, 200, 'the engineer with a valid token is served')
  }
  // A valid token refused for its scope is not a refusal without a valid token: recorded, never throttled.
  for (let i = 0; i < 3; i++) {
    const res = await h.app.inject({ url: '/exchange/contoso/mailboxes/bob@contoso.com/messages', headers: { authorization: grant.authorization } })
    t.equal(res.statusCode, 403)
  }
  t.equal((await denied(h)).filter((record) => record.details.status === 403).length, 3)
})

t.test('budgets the address a trusted proxy names, and the socket address otherwise', async (t) => {
  const trusting = await start(t, { ...budget({ perAddress: 1, summaryIntervalMs: 1000 }), trustProxy: ['127.0.0.1'] })
  t.equal((await refused(trusting, { 'x-forwarded-for': '203.0.113.7' })).status, 401)
  t.equal((await refused(trusting, { 'x-forwarded-for': '203.0.113.7' })).status, 429)
  t.equal((await refused(trusting, { 'x-forwarded-for': '203.0.113.8' })).status, 401, 'another client behind the same proxy has its own budget')
  const [summary] = await eventually('a summary', async () => (await denied(trusting)).filter(isSummary), (list) => list.length === 1)
  t.match(summary, { clientIp: '203.0.113.7', details: { source: '203.0.113.7', count: 1 } })

  const direct = await start(t, budget({ perAddress: 1 }))
  t.equal((await refused(direct, { 'x-forwarded-for': '203.0.113.7' })).status, 401)
  t.equal((await refused(direct, { 'x-forwarded-for': '203.0.113.8' })).status, 429, 'an untrusted X-Forwarded-For buys no fresh budget')
})

t.test('budgets all addresses together per tenant, and spares the other tenants', async (t) => {
  const h = await start(t, { ...budget({ perAddress: 100, perTenant: 2, summaryIntervalMs: 1000 }), trustProxy: ['127.0.0.1'] })
  const at = (i: number): Record<string, string> => ({ 'x-forwarded-for': `203.0.113.${i}` })
  t.equal((await refused(h, at(1))).status, 401)
  t.equal((await refused(h, at(2))).status, 401)
  t.equal((await refused(h, at(3))).status, 429, 'the tenant is past its budget, whatever the address')
  t.equal((await refused(h, at(3), '/exchange/fabrikam/mailboxes')).status, 401, 'another tenant has a budget of its own')
  const [summary] = await eventually('a summary', async () => (await denied(h)).filter(isSummary), (list) => list.length === 1)
  t.match(summary, { clientIp: '203.0.113.3', details: { count: 1 } })
})

t.test('throttles paths of no known tenant without recording them', async (t) => {
  const h = await start(t, budget({ perAddress: 1 }))
  t.equal((await refused(h, {}, '/exchange/nosuch/mailboxes')).status, 401)
  t.equal((await refused(h, {}, '/exchange/nosuch/mailboxes')).status, 429)
  t.equal((await refused(h, {}, '/exchange/contoso/%ZZ')).status, 429, 'a path the router cannot decode is judged by the same budget')
  await h.app.close()
})

t.test('writes the summaries counted so far when the app closes', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const first = await startTestApp({ config: budget({ perAddress: 1 }), dataDir: dir.path })
  t.equal((await refused(first)).status, 401)
  for (let i = 0; i < 4; i++) t.equal((await refused(first)).status, 429)
  await first.close()
  const again = await start(t, budget(), dir.path)
  const summaries = (await denied(again)).filter(isSummary)
  t.equal(summaries.length, 1)
  t.match(summaries[0], { clientIp: '127.0.0.1', details: { count: 4 } })
})

t.test('replicas on one Redis spend one shared budget', async (t) => {
  const url = await redisForTests(t)
  const namespace = freshNamespace()
  const connection = { url }
  const replicas: TestApp[] = []
  const dir = tempDir()
  t.teardown(dir.remove)
  for (let i = 0; i < 2; i++) {
    const stores = await openTestStores(t, connection, { namespace })
    const h = await startTestApp({ config: { ...budget({ perAddress: 4 }), store: 'redis' }, overrides: { stores }, dataDir: dir.path })
    t.teardown(h.close)
    replicas.push(h)
  }
  const [a, b] = replicas as [TestApp, TestApp]
  t.same([(await refused(a)).status, (await refused(b)).status, (await refused(a)).status, (await refused(b)).status], [401, 401, 401, 401])
  t.equal((await refused(a)).status, 429, 'the fifth refusal is past the budget the replicas share')
  t.equal((await refused(b)).status, 429)
  t.equal((await refused(b)).status, 429)
  await a.app.close()
  await b.app.close()
  const reader = await startTestApp({ overrides: { stores: await openTestStores(t, connection, { namespace }) }, dataDir: dir.path })
  t.teardown(reader.close)
  const records = await denied(reader)
  t.equal(records.filter((record) => !isSummary(record)).length, 4, 'the refusals within budget, recorded one by one')
  const counted = records.filter(isSummary).map((record) => record.details.count as number)
  t.same(counted.sort(), [1, 2], 'each replica wrote its own summary of what it throttled')
})

t.test('logs one warning per summary, not one access line per throttled request', async (t) => {
  const lines: Array<Record<string, any>> = []
  const options = loggerOptions(testConfig('unused', { logLevel: 'info' })) as object
  const h = await startTestApp({
    config: budget({ perAddress: 1, summaryIntervalMs: 1000 }),
    overrides: { logger: { ...options, stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } }
  })
  t.teardown(h.close)
  for (let i = 0; i < 6; i++) await refused(h)
  const [warning] = await eventually('a summary warning', async () => lines.filter((line) => line.msg === 'content refusals past the budget, recorded as one summary'), (found) => found.length === 1)
  t.match(warning, { level: 40, tenantId: 'contoso', source: '127.0.0.1', count: 5 })
  t.match(lines.filter((line) => line.msg === 'content access'), [{ outcome: 'denied', reason: 'TOKEN_INVALID', status: 401 }], 'the refusal within budget has its access line; the throttled ones only at debug level')
  t.equal(lines.filter((line) => line.msg === 'content access').length, 1)
})
