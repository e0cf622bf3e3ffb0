import t from 'tap'
import { OTHER_SOURCES, RefusalSummaries, summaryDraft, UNKNOWN_SOURCE, type CountedRefusal } from '../../src/gateway/refusal-summaries.js'
import { summaryRecordHead } from '../helpers/audit-records.js'

const AT = Date.parse('2026-01-05T10:00:00.000Z')

function refusal (overrides: Partial<CountedRefusal> = {}): CountedRefusal {
  return { tenantId: 'contoso', source: '203.0.113.7', clientIp: '203.0.113.7', workload: 'exchange', method: 'GET', path: '/contoso/a', reason: 'missing access token', at: AT, ...overrides }
}

t.test('counts refusals into one summary per tenant and source', async (t) => {
  const summaries = new RefusalSummaries(10)
  summaries.count(refusal({ at: AT + 5 }))
  summaries.count(refusal({ at: AT, path: '/contoso/b', reason: 'token expired' }))
  summaries.count(refusal({ at: AT + 9, path: '/contoso/a' }))
  summaries.count(refusal({ tenantId: 'fabrikam', path: '/fabrikam/x' }))
  t.equal(summaries.pending, 4)
  const drafts = summaries.take().map(summaryDraft)
  t.equal(summaries.pending, 0, 'taking starts again from nothing')
  t.same(drafts, [{
    ...summaryRecordHead('contoso', '203.0.113.7', 'exchange'),
    details: {
      count: 3,
      firstAt: '2026-01-05T10:00:00.000Z',
      lastAt: '2026-01-05T10:00:00.009Z',
      reasons: { 'missing access token': 2, 'token expired': 1 },
      samplePaths: ['/contoso/a', '/contoso/b'],
      source: '203.0.113.7',
      status: 429,
      summary: true
    }
  }, {
    ...summaryRecordHead('fabrikam', '203.0.113.7', 'exchange'),
    details: { count: 1, firstAt: '2026-01-05T10:00:00.000Z', lastAt: '2026-01-05T10:00:00.000Z', reasons: { 'missing access token': 1 }, samplePaths: ['/fabrikam/x'], source: '203.0.113.7', status: 429, summary: true }
  }])
  t.same(summaries.take(), [])
})

t.test('keeps a few short sample paths, a few reasons and no workload when they differ', async (t) => {
  const summaries = new RefusalSummaries(10)
  for (let i = 0; i < 20; i++) {
    summaries.count(refusal({ path: `/contoso/${i}/${'x'.repeat(1000)}`, reason: `reason ${String(i).padStart(2, '0')}`, workload: ['exchange', 'sharepoint', 'onedrive', 'other'][i % 4] as string }))
  }
  const [draft] = summaries.take().map(summaryDraft)
  const details = draft?.details as Record<string, any>
  t.equal(details.count, 20)
  t.equal(details.samplePaths.length, 3)
  t.ok(details.samplePaths.every((path: string) => path.length === 256), 'sample paths are truncated')
  t.equal(Object.keys(details.reasons).length, 9, 'eight reasons and the rest')
  t.equal(details.reasons.other, 12)
  t.equal(draft?.workload, null)
})

t.test('folds sources past the cap into one other-sources summary per tenant', async (t) => {
  const summaries = new RefusalSummaries(2)
  for (let i = 1; i <= 5; i++) summaries.count(refusal({ source: `203.0.113.${i}`, clientIp: `203.0.113.${i}` }))
  summaries.count(refusal({ source: '203.0.113.1', clientIp: '203.0.113.1' }))
  summaries.count(refusal({ tenantId: 'fabrikam', source: '203.0.113.9', clientIp: '203.0.113.9' }))
  t.equal(summaries.pending, 7)
  const drafts = summaries.take().map(summaryDraft)
  t.same(drafts.map((d) => [d.tenantId, d.clientIp, d.details.source, d.details.count]), [
    ['contoso', '203.0.113.1', '203.0.113.1', 2],
    ['contoso', '203.0.113.2', '203.0.113.2', 1],
    ['contoso', null, OTHER_SOURCES, 3],
    ['fabrikam', null, OTHER_SOURCES, 1]
  ])
})

t.test('names an unknown address as such', async (t) => {
  const summaries = new RefusalSummaries(2)
  summaries.count(refusal({ source: null, clientIp: null }))
  t.match(summaries.take().map(summaryDraft), [{ clientIp: null, details: { source: UNKNOWN_SOURCE, count: 1 } }])
})

t.test('counts a tally that could not be written towards the next summary', async (t) => {
  const summaries = new RefusalSummaries(1)
  summaries.count(refusal({ at: AT + 10, path: '/contoso/new' }))
  const earlier = new RefusalSummaries(2)
  earlier.count(refusal({ at: AT, path: '/contoso/old', reason: 'token expired', workload: 'onedrive' }))
  earlier.count(refusal({ source: '198.51.100.1', clientIp: '198.51.100.1' }))
  const [same, other] = earlier.take()
  summaries.restore(same as NonNullable<typeof same>)
  summaries.restore(other as NonNullable<typeof other>)
  const drafts = summaries.take().map(summaryDraft)
  t.match(drafts, [
    { clientIp: '203.0.113.7', workload: null, details: { count: 2, firstAt: '2026-01-05T10:00:00.000Z', lastAt: '2026-01-05T10:00:00.010Z', samplePaths: ['/contoso/new', '/contoso/old'], reasons: { 'missing access token': 1, 'token expired': 1 } } },
    { clientIp: null, details: { source: OTHER_SOURCES, count: 1 } }
  ], 'merged into its source, or into the other sources once the cap is reached')
})
