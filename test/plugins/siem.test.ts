// The siem plugin: the configured sinks run from the app's start to its close, deliver what the
// workflow writes, and report delivery, failures and lag in /metrics.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { siemSinks } from '../../plugins/app/siem.js'
import { startTestApp } from '../helpers/app.js'
import { startHecReceiver } from '../helpers/hec-receiver.js'
import { ocsfErrors } from '../helpers/ocsf.js'
import { startRsyslog } from '../helpers/rsyslog.js'
import { waitUntil } from '../helpers/siem.js'
import { approvedRequest, openServiceRequest } from '../helpers/workflow.js'

t.test('delivers the workflow\'s records to every configured sink and reports it in /metrics', async (t) => {
  const receiver = await startHecReceiver({ acks: true })
  t.teardown(receiver.stop)
  const rsyslog = await startRsyslog()
  t.teardown(rsyslog.stop)
  const h = await startTestApp({ config: { siem: { hecUrl: receiver.url, hecToken: receiver.token, syslogUrl: rsyslog.url, format: 'ocsf', ca: null } } })
  t.teardown(h.close)
  t.same(h.app.siemForwarders.map((f) => f.sink), ['hec', 'syslog'])
  const approved = await approvedRequest(h)
  const records = (await h.as('sec-erin', { url: '/v1/audit?limit=1000' })).json().items as Array<{ id: string }>
  await waitUntil(() => receiver.events.length >= records.length && rsyslog.lines().length >= records.length, 'both sinks have every record')
  t.same(receiver.events.map((e) => e.event.metadata.uid), records.map((r) => r.id))
  t.same(rsyslog.lines().map((l) => (l.message as { metadata: { uid: string } }).metadata.uid), records.map((r) => r.id))
  for (const e of receiver.events) t.same(ocsfErrors(e.event), [])
  t.ok(receiver.events.some((e) => e.event.metadata.correlation_uid === approved.id))

  // The cursor moves (and the count with it) just after the receiver has a batch.
  const scrape = async (): Promise<string> => (await h.app.inject({ url: '/metrics' })).body
  let metrics = await scrape()
  const counted = new RegExp(`^lockbox_siem_delivered_records_total\\{sink="(hec|syslog)"\\} ${records.length}$`, 'mg')
  for (let tries = 0; (metrics.match(counted) ?? []).length < 2; tries++) {
    if (tries === 500) throw new Error('deliveries never counted')
    await sleep(20)
    metrics = await scrape()
  }
  t.match(metrics, new RegExp(`^lockbox_siem_delivered_records_total\\{sink="hec"\\} ${records.length}$`, 'm'))
  t.match(metrics, new RegExp(`^lockbox_siem_delivered_records_total\\{sink="syslog"\\} ${records.length}$`, 'm'))
  t.match(metrics, /^lockbox_siem_lag_records\{sink="hec"\} 0$/m)
  t.match(metrics, /^lockbox_siem_lag_seconds\{sink="syslog"\} 0$/m)
  t.match(metrics, /^lockbox_siem_delivery_seconds_count\{sink="hec"\} \d+$/m)
  // The same check /metrics passes without sinks (test/routes/metrics.test.ts), where promtool is installed.
  if (spawnSync('sh', ['-c', 'command -v promtool']).status === 0) {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' })
    t.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`)
  }

  await receiver.kill()
  await openServiceRequest(h)
  let text = ''
  for (let tries = 0; !/^lockbox_siem_failures_total\{sink="hec"\} [1-9]/m.test(text); tries++) {
    if (tries === 500) throw new Error('no failure counted')
    await sleep(20)
    text = await scrape()
  }
  t.match(text, /^lockbox_siem_lag_records\{sink="hec"\} 1$/m, 'the record waits')
  t.match(text, /^lockbox_siem_lag_seconds\{sink="hec"\} [\d.e-]+$/m)
  await receiver.start()
  await waitUntil(() => receiver.events.length === records.length + 1, 'it arrives once the receiver is back')
})

t.test('runs nothing when no sink is configured', async (t) => {
  t.same(siemSinks(undefined), [])
  t.same(siemSinks({ hecUrl: null, hecToken: null, syslogUrl: null, format: 'native', ca: null }), [])
  const h = await startTestApp()
  t.teardown(h.close)
  t.same(h.app.siemForwarders, [])
  t.notMatch((await h.app.inject({ url: '/metrics' })).body, /lockbox_siem_/)
})
