// The metrics plugin: one registry per app, counts read from where the work happens, the open
// requests by status, the revocation lag, and a scrape that survives a store that does not answer.
import t from 'tap'
import Fastify from 'fastify'
import metrics from '../../plugins/app/metrics.js'
import stores from '../../plugins/app/stores.js'
import clock from '../../plugins/app/clock.js'
import gateway from '../../plugins/app/gateway.js'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import { START, startTestApp } from '../helpers/app.js'
import { tempDir, testConfig } from '../helpers/config.js'
import { eventually, granted } from '../helpers/content.js'
import { approvedRequest, createRequest } from '../helpers/workflow.js'

const MAILBOX = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

/** The value of one sample line, or undefined when the exposition has no such line. */
function sample (text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '))
  return found === undefined ? undefined : Number(found.slice(line.length + 1))
}

t.test('gives every app its own registry', async (t) => {
  const a = await startTestApp()
  t.teardown(a.close)
  const b = await startTestApp()
  t.teardown(b.close)
  a.app.metrics.notifications.inc({ channel: 'email', result: 'sent' })
  a.app.metrics.notifications.inc({ channel: 'webhook', result: 'retry' })
  const first = await a.app.metrics.exposition()
  t.equal(sample(first, 'lockbox_notifications_total{channel="email",result="sent"}'), 1)
  t.equal(sample(first, 'lockbox_notifications_total{channel="webhook",result="retry"}'), 1)
  t.equal(sample(await b.app.metrics.exposition(), 'lockbox_notifications_total{channel="email",result="sent"}'), undefined)
})

t.test('counts token checks, grant cache events, store batches and content timings', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const { authorization } = await granted(h)
  for (let i = 0; i < 3; i++) t.equal((await h.app.inject({ url: MAILBOX, headers: { authorization } })).statusCode, 200)
  t.equal((await h.app.inject({ url: MAILBOX, headers: { authorization: 'Bearer not.a.token' } })).statusCode, 401)
  const text = await eventually('three outcomes', async () => await h.app.metrics.exposition(),
    (body) => sample(body, 'lockbox_audit_append_seconds_count{operation="ContentAccessCompleted"}') === 3)
  t.equal(sample(text, 'lockbox_token_verifications_total{result="miss"}'), 1, 'one signature check')
  t.equal(sample(text, 'lockbox_token_verifications_total{result="hit"}'), 2, 'then the cache')
  t.equal(sample(text, 'lockbox_token_verifications_total{result="fail"}'), 1)
  t.ok((sample(text, 'lockbox_grant_cache_events_total{event="hit"}') ?? 0) + (sample(text, 'lockbox_grant_cache_events_total{event="miss"}') ?? 0) >= 3)
  t.equal(sample(text, 'lockbox_content_gateway_overhead_seconds_count{workload="exchange"}'), 3)
  t.equal(sample(text, 'lockbox_content_upstream_seconds_count{workload="exchange"}'), 3)
  t.equal(sample(text, 'lockbox_audit_append_seconds_count{operation="ContentAccessed"}'), 3)
  t.equal(sample(text, 'lockbox_content_in_flight'), 0)
  const batches = sample(text, 'lockbox_audit_commit_batches_total') as number
  const commits = sample(text, 'lockbox_audit_commits_total') as number
  t.ok(batches > 0 && commits >= batches, `${commits} commits in ${batches} batches`)
})

t.test('counts the requests in each open status, as of now', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await createRequest(h)
  await approvedRequest(h)
  const ending = await approvedRequest(h, { duration: 'PT1H' })
  let text = await h.app.metrics.exposition()
  t.equal(sample(text, 'lockbox_requests{status="AwaitingManagerApproval"}'), 1)
  t.equal(sample(text, 'lockbox_requests{status="AwaitingCustomerApproval"}'), 0)
  t.equal(sample(text, 'lockbox_requests{status="Approved"}'), 2)
  // Past the shorter window (the sweeper is off): evaluated now, that one is no longer open.
  h.advance(Date.parse(ending.accessEndsAt as string) - h.now() + 1000)
  text = await h.app.metrics.exposition()
  t.equal(sample(text, 'lockbox_requests{status="Approved"}'), 1)
})

t.test('measures the lag from a request leaving Approved to its enforcement here', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const request = await approvedRequest(h)
  h.advance(250)
  t.equal((await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${request.id}/revoke`, payload: { comment: 'done' } })).statusCode, 200)
  // An event for a request the store does not know measures nothing.
  await h.app.stores.grantEvents.publish({ requestId: 'no-such-request', tenantId: 'contoso', status: 'Revoked' })
  const text = await eventually('the lag observed', async () => await h.app.metrics.exposition(), (body) => sample(body, 'lockbox_revocation_lag_seconds_count') === 1)
  t.equal(sample(text, 'lockbox_revocation_lag_seconds_sum'), 0, 'enforced in the same instant on one replica')
})

t.test('still answers a scrape when the store does not, without the store\'s numbers', async (t) => {
  const dir = tempDir()
  const opened = await openEmbeddedStores({ dataDir: dir.path, now: () => START })
  const warnings: string[] = []
  const debug: string[] = []
  const h = await startTestApp({
    overrides: {
      stores: opened,
      logger: { level: 'debug', stream: { write: (line: string) => { const { level, msg } = JSON.parse(line); (level === 40 ? warnings : debug).push(msg) } } }
    }
  })
  t.teardown(async () => {
    await h.close()
    dir.remove()
  })
  // The request behind a grant event can no longer be read when the event arrives.
  opened.lockbox.getRequest = async () => { throw new Error('store gone') }
  await h.app.stores.grantEvents.publish({ requestId: 'some-request', tenantId: 'contoso', status: 'Revoked' })
  await eventually('the failed read logged', async () => debug, (lines) => lines.includes('metrics: could not read an ended grant'))
  await opened.close()
  const text = await h.app.metrics.exposition()
  t.notMatch(text, /^lockbox_requests\{/m)
  t.ok(warnings.includes('metrics: could not count lockbox requests'))
  t.match(text, /^lockbox_audit_commits_total \d+$/m, 'the rest is there')
})

t.test('reports the backend\'s own batch counts, and a gateway\'s counts from zero', async (t) => {
  const dir = tempDir()
  const config = testConfig(dir.path)
  const opened = await openEmbeddedStores({ dataDir: dir.path, now: () => START })
  const app = Fastify()
  await app.register(clock, { now: () => START })
  await app.register(stores, { config, now: () => START, stores: opened })
  await app.register(gateway, { config })
  await app.register(metrics)
  t.teardown(async () => {
    await app.close()
    await opened.close()
    dir.remove()
  })
  await app.ready()
  await app.stores.lockbox.commit({ tenantId: 'contoso', audit: [{ tenantId: 'contoso', operation: 'ContentAccessed', result: 'Success', actor: { id: 'eng-ada', type: 'SupportEngineer' }, clientIp: null, requestId: null, workload: 'exchange', object: null, details: {} }] })
  const text = await app.metrics.exposition()
  t.equal(sample(text, 'lockbox_token_verifications_total{result="hit"}'), 0)
  t.equal(sample(text, 'lockbox_grant_cache_events_total{event="miss"}'), 0)
  t.equal(sample(text, 'lockbox_content_in_flight'), 0)
  const { batches, commits } = opened.batching()
  t.ok(commits >= 1, 'the commit above is counted')
  t.equal(sample(text, 'lockbox_audit_commits_total'), commits)
  t.equal(sample(text, 'lockbox_audit_commit_batches_total'), batches)
})
