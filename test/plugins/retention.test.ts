import t from 'tap'
import Fastify from 'fastify'
import retention from '../../plugins/app/retention.js'
import stores from '../../plugins/app/stores.js'
import tenants from '../../plugins/app/tenants.js'
import clockPlugin from '../../plugins/app/clock.js'
import { START, startTestApp } from '../helpers/app.js'
import { overwriteRecord } from '../helpers/embedded-db.js'
import { tempDir, testConfig } from '../helpers/config.js'
import { auditOf, createRequest } from '../helpers/workflow.js'
import { eventually } from '../helpers/eventually.js'

const DAY = 24 * 3600_000

interface LogLine { level: number, msg: string, pruned?: number, before?: string, err?: { message: string } }

/** A logger that keeps every line, for tests that wait on what the plugin reports. */
function capturedLogs (level: string): { lines: LogLine[], logger: { level: string, stream: { write: (line: string) => void } } } {
  const lines: LogLine[] = []
  return { lines, logger: { level, stream: { write: (line) => { lines.push(JSON.parse(line) as LogLine) } } } }
}

t.test('prunes the records older than the retention once the app is ready', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const config = { auditRetentionMs: DAY }
  const before = await startTestApp({ dataDir: dir.path, config })
  const old = await createRequest(before)
  const oldRecords = await auditOf(before, 'tenantId=contoso')
  await before.close()

  const logs = capturedLogs('info')
  const h = await startTestApp({ dataDir: dir.path, config, overrides: { now: () => START + 2 * DAY, logger: logs.logger } })
  t.teardown(h.close)
  await eventually('the first prune', () => logs.lines.some((line) => line.msg === 'audit retention: pruned records'))
  t.match(logs.lines.find((line) => line.pruned !== undefined), { level: 30, pruned: oldRecords.length, before: new Date(START + DAY).toISOString() })
  t.same(await auditOf(h, `requestId=${old.id}`), [])

  const recent = await createRequest(h)
  t.same((await auditOf(h, 'tenantId=contoso')).map((record) => record.seq), [oldRecords.length + 1, oldRecords.length + 2], 'the chain goes on')
  const verify = await h.as('contoso-approver', { url: '/v1/audit/verify?tenantId=contoso' })
  t.match(verify.json(), { tenantId: 'contoso', valid: true, records: 2, headSeq: oldRecords.length + 2, anchorSeq: oldRecords.length, firstInvalidSeq: null })
  t.equal((await auditOf(h, `requestId=${recent.id}`)).length, 1)
})

t.test('prunes again on its interval, logging a failed run and catching up on the next', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const config = testConfig(dir.path, { auditRetentionMs: DAY })
  let clock = START
  const now = (): number => clock
  const logs = capturedLogs('debug')
  const app = Fastify({ logger: logs.logger })
  await app.register(clockPlugin, { now })
  await app.register(stores, { config, now })
  await app.register(tenants, { config })
  await app.register(retention, { config, intervalMs: 10 })
  t.teardown(() => app.close())
  await app.ready()
  await eventually('a run with nothing to prune', () => logs.lines.some((line) => line.pruned === 0 && line.level === 20))

  const draft = { tenantId: 'contoso', operation: 'ContentAccessed', result: 'Success', actor: { id: 'eng-ada', type: 'SupportEngineer' }, clientIp: null, requestId: null, workload: 'exchange', object: null, details: {} } as const
  await app.stores.lockbox.commit({ tenantId: 'contoso', audit: [draft, draft, draft] })
  // The oldest record made unreadable: every run fails on it until it is put back.
  const original = await overwriteRecord(dir.path, 0, 'not a record')
  clock = START + 2 * DAY
  await eventually('a failed run', () => logs.lines.some((line) => line.level === 50))
  t.match(logs.lines.find((line) => line.level === 50), { msg: 'audit retention failed; the next run tries again', err: { message: /JSON/ } })
  t.match(await app.stores.audit.head('contoso'), { seq: 3 }, 'nothing was lost to the failure')

  await overwriteRecord(dir.path, 0, original)
  await eventually('a run that prunes', () => logs.lines.some((line) => line.pruned === 3))
  t.match(await app.stores.audit.verify('contoso'), { valid: true, records: 0, anchorSeq: 3 })
})
