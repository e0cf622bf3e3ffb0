import t from 'tap'
import { startSweeper, sweepOnce } from '../../src/workflow/sweeper.js'
import { commitUnlessConflict, draft, retryOnConflict } from '../../src/workflow/context.js'
import { ConflictError } from '../../src/errors.js'
import { startTestApp } from '../helpers/app.js'
import { auditOf, createRequest } from '../helpers/workflow.js'
import { quietLog } from '../../src/log.js'

const HOUR = 3600_000

t.test('lets racing sweeps write each transition once', async (t) => {
  const h = await startTestApp({ config: { pendingTtlMs: HOUR } })
  t.teardown(h.close)
  await createRequest(h)
  await createRequest(h)
  h.advance(HOUR)
  const written = await Promise.all([sweepOnce(h.app.workflow), sweepOnce(h.app.workflow), sweepOnce(h.app.workflow)])
  t.equal(written.reduce((a, b) => a + b, 0), 2, 'two expiries, written once each')
  t.equal((await auditOf(h, 'operation=LockboxRequestExpired')).length, 2)
})

t.test('sweeps in the background until stopped, and survives a failing pass', async (t) => {
  const h = await startTestApp({ config: { pendingTtlMs: HOUR } })
  t.teardown(h.close)
  const req = await createRequest(h)
  h.advance(HOUR)
  const errors: object[] = []
  const sweeper = startSweeper(h.app.workflow, 10, { ...quietLog, error: (obj) => { errors.push(obj) } })
  const deadline = Date.now() + 5000
  while ((await auditOf(h, `requestId=${req.id}&operation=LockboxRequestExpired`)).length === 0) {
    if (Date.now() > deadline) throw new Error('the sweeper never wrote the expiry')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await h.app.stores.close()
  while (errors.length === 0) {
    if (Date.now() > deadline + 5000) throw new Error('the failing pass was never logged')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await sweeper.stop()
  t.ok(errors.length > 0, 'a pass on a closed store is logged, not thrown')
})

t.test('commits unless a compare-and-set lost, and passes other failures on', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const req = await createRequest(h)
  const stored = await h.app.stores.lockbox.getRequest(req.id)
  const change = { tenantId: 'contoso', requests: [{ value: stored!, expectedVersion: stored!.version }], audit: [] }
  t.equal(await commitUnlessConflict(h.app.stores.lockbox, change), true)
  t.equal(await commitUnlessConflict(h.app.stores.lockbox, change), false, 'the same expected version again loses')
  await h.app.stores.close()
  await t.rejects(commitUnlessConflict(h.app.stores.lockbox, change), { name: 'StoreUnavailableError' })
})

t.test('runs the sweeper in the background when the app is built with it', async (t) => {
  const h = await startTestApp({ config: { pendingTtlMs: HOUR, sweepIntervalMs: 20 }, overrides: { sweep: true } })
  t.teardown(h.close)
  const req = await createRequest(h)
  h.advance(HOUR)
  const deadline = Date.now() + 5000
  while ((await auditOf(h, `requestId=${req.id}&operation=LockboxRequestExpired`)).length === 0) {
    if (Date.now() > deadline) throw new Error('the background sweeper never wrote the expiry')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.pass('written without anyone calling sweepOnce')
})

t.test('retries a step only when it lost a compare-and-set', async (t) => {
  let calls = 0
  await t.rejects(retryOnConflict(async () => { calls++; throw new Error('disk full') }), /disk full/)
  t.equal(calls, 1, 'any other failure is passed on at once')
  calls = 0
  await t.rejects(retryOnConflict(async () => { calls++; throw new ConflictError('lost again') }), ConflictError)
  t.equal(calls, 8, 'a conflict on every attempt is passed on after the last one')
  calls = 0
  t.equal(await retryOnConflict(async () => { if (++calls < 3) throw new ConflictError('lost'); return 'won' }, 3), 'won', 'a step that wins on its last attempt')
})

t.test('fills a draft\'s optional fields with nulls', async (t) => {
  t.same(draft('ServiceRequestOpened', 'contoso', null, undefined), {
    tenantId: 'contoso',
    operation: 'ServiceRequestOpened',
    result: 'Success',
    actor: { id: 'system', type: 'System' },
    clientIp: null,
    requestId: null,
    workload: null,
    object: null,
    details: {}
  })
})
