import t from 'tap'
import type { AuditDraft } from '../../src/domain/audit.js'
import { MAX_HELD, RefusalBudget, type BudgetCounter, type UnauthenticatedRefusal } from '../../src/gateway/refusal-budget.js'
import { quietLog } from '../../src/log.js'

const CONFIG = { perAddress: 2, perTenant: 3, windowMs: 60_000, delayMs: 0, summaryIntervalMs: 3_600_000, maxSources: 10 }

function refusal (overrides: Partial<UnauthenticatedRefusal> = {}): UnauthenticatedRefusal {
  return { tenantId: 'contoso', clientIp: '203.0.113.7', workload: 'exchange', method: 'GET', path: '/contoso/a', reason: 'missing access token', ...overrides }
}

/** A counter of our own: counts per key in memory, as @fastify/rate-limit's local store does. */
function counting (): { counter: BudgetCounter, keys: string[] } {
  const counts = new Map<string, number>()
  const keys: string[] = []
  return {
    keys,
    counter: async (key, max) => {
      keys.push(key)
      const count = (counts.get(key) ?? 0) + 1
      counts.set(key, count)
      return { exceeded: count > max, retryAfterSeconds: 0 }
    }
  }
}

function budget (record: (draft: AuditDraft) => Promise<unknown>, errors: object[] = []): RefusalBudget {
  const b = new RefusalBudget(CONFIG, { record, now: () => Date.parse('2026-01-05T10:00:00Z'), log: { ...quietLog, error: (obj) => { errors.push(obj) } } })
  t.teardown(async () => { await b.close() })
  return b
}

t.test('admits refusals within the address and tenant budgets and counts the rest', async (t) => {
  const written: AuditDraft[] = []
  const b = budget(async (draft) => { written.push(draft) })
  const { counter, keys } = counting()
  t.equal(await b.admit(refusal(), counter), null)
  t.equal(await b.admit(refusal(), counter), null)
  t.equal(await b.admit(refusal(), counter), 1, 'past the address budget: at least one second to wait')
  t.equal(await b.admit(refusal({ clientIp: '2001:db8:1:2::5' }), counter), null)
  t.equal(await b.admit(refusal({ clientIp: '2001:db8:1:2:ffff::9' }), counter), 1, 'past the tenant budget (3)')
  t.equal(await b.admit(refusal({ clientIp: null, tenantId: null }), counter), null)
  t.same(keys, ['addr:203.0.113.7', 'tenant:contoso', 'addr:203.0.113.7', 'tenant:contoso', 'addr:203.0.113.7',
    'addr:2001:db8:1:2::', 'tenant:contoso', 'addr:2001:db8:1:2::', 'tenant:contoso', 'addr:unknown'], 'an address past its budget spends no more of its tenant\'s; an IPv6 address is budgeted by its /64')
  t.equal(b.pending, 2)
  await b.flush()
  t.match(written, [
    { clientIp: '203.0.113.7', details: { source: '203.0.113.7', count: 1 } },
    { clientIp: '2001:db8:1:2:ffff::9', details: { source: '2001:db8:1:2::', count: 1 } }
  ])
})

t.test('throttles a path of no known tenant without counting it into any summary', async (t) => {
  const b = budget(async () => {})
  const { counter } = counting()
  await b.admit(refusal({ tenantId: null }), counter)
  await b.admit(refusal({ tenantId: null }), counter)
  t.equal(await b.admit(refusal({ tenantId: null }), counter), 1)
  t.equal(b.pending, 0)
})

t.test('leaves a refusal within budget when its counter cannot answer', async (t) => {
  const errors: object[] = []
  const b = budget(async () => {}, errors)
  t.equal(await b.admit(refusal(), async () => { throw new Error('Redis away') }), null)
  t.equal(errors.length, 1)
})

t.test('counts again what could not be written, and writes it with the next summary', async (t) => {
  const errors: object[] = []
  let fail = true
  const written: AuditDraft[] = []
  const b = budget(async (draft) => {
    if (fail) throw new Error('store away')
    written.push(draft)
  }, errors)
  const over: BudgetCounter = async () => ({ exceeded: true, retryAfterSeconds: 30 })
  t.equal(await b.admit(refusal(), over), 30)
  await b.flush()
  t.equal(written.length, 0)
  t.equal(errors.length, 1)
  t.equal(b.pending, 1, 'still counted')
  fail = false
  t.equal(await b.admit(refusal(), over), 30)
  await b.flush()
  t.match(written, [{ details: { count: 2 } }])
})

t.test('writes what is counted on close, and records every refusal on its own after', async (t) => {
  const written: AuditDraft[] = []
  const b = budget(async (draft) => { written.push(draft) })
  const over: BudgetCounter = async () => ({ exceeded: true, retryAfterSeconds: 5 })
  await b.admit(refusal(), over)
  let answer: (value: { exceeded: boolean, retryAfterSeconds: number }) => void = () => {}
  const slow = b.admit(refusal(), async () => await new Promise((resolve) => { answer = resolve }))
  await b.close()
  t.match(written, [{ details: { count: 1 } }])
  answer({ exceeded: true, retryAfterSeconds: 5 })
  t.equal(await slow, null, 'closed while counting: recorded on its own')
  t.equal(await b.admit(refusal(), over), null)
  t.equal(b.pending, 0)
})

t.test('writes the summaries every interval', async (t) => {
  const written: AuditDraft[] = []
  let wrote: () => void = () => {}
  const b = new RefusalBudget({ ...CONFIG, summaryIntervalMs: 1000 }, {
    record: async (draft) => { written.push(draft); wrote() },
    now: Date.now,
    log: quietLog
  })
  t.teardown(async () => { await b.close() })
  const done = new Promise<void>((resolve) => { wrote = resolve })
  await b.admit(refusal(), async () => ({ exceeded: true, retryAfterSeconds: 1 }))
  // The budget's timer does not hold the process open; this test waits on it, so something must.
  const alive = setTimeout(() => {}, 10_000)
  await done
  clearTimeout(alive)
  t.match(written, [{ details: { count: 1 } }])
})

t.test('holds throttled answers back, a bounded number at once', async (t) => {
  const b = new RefusalBudget({ ...CONFIG, delayMs: 10_000 }, { record: async () => {}, now: Date.now, log: quietLog })
  t.teardown(async () => { await b.close() })
  const over: BudgetCounter = async () => ({ exceeded: true, retryAfterSeconds: 7 })
  const answered: number[] = []
  for (let i = 0; i < MAX_HELD; i++) b.admit(refusal(), over).then(() => { answered.push(i) }, () => {})
  t.equal(await b.admit(refusal(), over), 7, 'past the bound, the answer goes out without waiting')
  t.same(answered, [], 'while the others are still held')
  t.equal(b.pending, MAX_HELD + 1, 'every one of them counted')
})

t.test('answers a held throttled refusal once its wait is over', async (t) => {
  const b = new RefusalBudget({ ...CONFIG, delayMs: 20 }, { record: async () => {}, now: Date.now, log: quietLog })
  t.teardown(async () => { await b.close() })
  let answered = false
  const answer = b.admit(refusal(), async () => ({ exceeded: true, retryAfterSeconds: 4 }))
  answer.then(() => { answered = true }, () => {})
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(answered, 'held, not answered at once')
  // The wait does not hold the process open (a closing gateway does not wait for it); this test does.
  const alive = setTimeout(() => {}, 10_000)
  t.equal(await answer, 4, 'then answered with the seconds to wait')
  clearTimeout(alive)
})
