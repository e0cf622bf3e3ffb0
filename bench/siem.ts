// npm run bench:siem — SIEM push while the gateway serves load: two gateways on the embedded store,
// one without SIEM sinks and one pushing OCSF events to a HEC receiver (this process: the HEC protocol
// with acknowledgements) and to a real rsyslogd (imtcp → file), driven by autocannon in alternating
// rounds. Reported: each sink's delivery rate and the lag from a record's commit (its `time`) to its
// receipt (HEC: the request's arrival here; rsyslog: its own receive timestamp) at p50/p99, the
// gateway's requests/s with and without the sinks, and the records/s a sink drains a backlog at.
// BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS change the run.
import autocannon from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './processes.js'
import { PATH, startGateway, startUpstream, stopAll, type Target } from './targets.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20)
const TOKEN = 'bench-hec-token'
const RSYSLOGD = '/usr/sbin/rsyslogd'

interface Receipt { id: string, lagMs: number, at: number }

/** A HEC endpoint with acknowledgements: what each event's receipt lag was. */
async function hecReceiver (): Promise<{ url: string, receipts: Receipt[], server: Server, down: { value: boolean } }> {
  const receipts: Receipt[] = []
  const acked = new Set<number>()
  const down = { value: false }
  let nextAck = 0
  const server = createServer((req, res) => {
    const at = Date.now()
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      if (down.value) return res.writeHead(503).end('{"text":"Server is busy","code":9}')
      if (req.headers.authorization !== `Splunk ${TOKEN}`) return res.writeHead(403).end('{"text":"Invalid token","code":4}')
      if (req.url?.startsWith('/services/collector/ack') === true) {
        const ids = (JSON.parse(body) as { acks: number[] }).acks
        return res.writeHead(200).end(JSON.stringify({ acks: Object.fromEntries(ids.map((id) => [id, acked.has(id)])) }))
      }
      for (const line of body.split('\n')) {
        if (line === '') continue
        const event = JSON.parse(line) as { time: number, fields: { lockbox_id: string } }
        receipts.push({ id: event.fields.lockbox_id, lagMs: at - event.time * 1000, at })
      }
      const ackId = nextAck++
      acked.add(ackId)
      res.writeHead(200).end(JSON.stringify({ text: 'Success', code: 0, ackId }))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, receipts, server, down }
}

async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => { resolve(false) })
  })
}

/** rsyslogd writing each message with the time it received it (µs) in front. */
async function rsyslog (): Promise<{ url: string, receipts: () => Receipt[], child: ChildProcess, dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lockbox-bench-rsyslog-'))
  const port = await freePort()
  const out = join(dir, 'received.log')
  writeFileSync(join(dir, 'rsyslog.conf'), [
    `global(workDirectory="${dir}" maxMessageSize="256k")`,
    'module(load="imtcp")',
    'template(name="timed" type="string" string="%timegenerated:::date-rfc3339% %msg%\\n")',
    `ruleset(name="lockbox") { action(type="omfile" file="${out}" template="timed") }`,
    `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="lockbox")`,
    ''
  ].join('\n'))
  const child = spawn(RSYSLOGD, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'pid')], { stdio: 'ignore' })
  while (!await listening(port)) await sleep(25)
  const receipts = (): Receipt[] => {
    if (!existsSync(out)) return []
    return readFileSync(out, 'utf8').split('\n').filter((line) => line !== '').map((line) => {
      const space = line.indexOf(' ')
      const at = Date.parse(line.slice(0, space))
      const event = JSON.parse(line.slice(space + 1)) as { time: number, metadata: { uid: string } }
      return { id: event.metadata.uid, lagMs: at - event.time, at }
    })
  }
  return { url: `tcp://127.0.0.1:${port}`, receipts, child, dir }
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
}
const median = (values: number[]): number => percentile(values, 0.5)

async function drive (target: Target, seconds: number): Promise<number> {
  const result = await autocannon({ url: target.url + PATH, connections: CONNECTIONS, duration: seconds, headers: target.headers })
  return result['2xx'] / seconds
}

/** Waits until the receiver holds `count` distinct records (or `timeoutMs` passed). */
async function settled (receipts: () => Receipt[], count: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (new Set(receipts().map((r) => r.id)).size < count) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}

async function recordCount (target: Target): Promise<number> {
  // The engineer's own token cannot read the log; the dev issuer's security reader can.
  const token = ((await (await fetch(`${target.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'sec-erin' }) })).json()) as { token: string }).token
  const res = await fetch(`${target.url}/v1/audit/verify?tenantId=contoso`, { headers: { authorization: `Bearer ${token}` } })
  return ((await res.json()) as { records: number }).records
}

async function main (): Promise<void> {
  const load = loadavg().map((n) => n.toFixed(2)).join(' ')
  process.stderr.write(`lockbox bench:siem: ${cpus().length} cores, Node ${process.version}, load average ${load}; ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections\n`)
  const upstream = await startUpstream()
  const hec = await hecReceiver()
  const syslog = await rsyslog()
  try {
    const plain = await startGateway('gateway, no SIEM', upstream)
    const pushing = await startGateway('gateway, HEC + syslog', upstream, {
      env: { LOCKBOX_SIEM_HEC_URL: hec.url, LOCKBOX_SIEM_HEC_TOKEN: TOKEN, LOCKBOX_SIEM_SYSLOG_URL: syslog.url, LOCKBOX_SIEM_FORMAT: 'ocsf' }
    })
    await drive(plain, 2)
    await drive(pushing, 2)
    const rps = { plain: [] as number[], pushing: [] as number[] }
    const loadStart = Date.now()
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [plain, pushing] : [pushing, plain]
      for (const target of order) (target === plain ? rps.plain : rps.pushing).push(await drive(target, SECONDS))
    }
    const total = await recordCount(pushing)
    const caughtUp = await Promise.all([settled(() => hec.receipts, total), settled(syslog.receipts, total)])
    const during = (receipts: Receipt[]): Receipt[] => receipts.filter((r) => r.at >= loadStart)
    const report = (name: string, receipts: Receipt[], done: boolean): void => {
      const lags = during(receipts).map((r) => r.lagMs)
      const distinct = new Set(receipts.map((r) => r.id)).size
      const first = Math.min(...receipts.map((r) => r.at))
      const last = Math.max(...receipts.map((r) => r.at))
      process.stdout.write(`| ${name} | ${distinct} / ${total}${done ? '' : ' (not caught up)'} | ${receipts.length - distinct} | ${(distinct / ((last - first) / 1000)).toFixed(0)} | ${median(lags).toFixed(0)} | ${percentile(lags, 0.99).toFixed(0)} | ${Math.max(...lags).toFixed(0)} |\n`)
    }
    process.stdout.write(`\nSIEM delivery while serving load (load average at start ${load})\n\n`)
    process.stdout.write('| sink | records received | duplicates | records/s (first→last receipt) | lag p50 ms | lag p99 ms | lag max ms |\n|---|---|---|---|---|---|---|\n')
    report('Splunk HEC (acks)', hec.receipts, caughtUp[0])
    report('rsyslog (tcp)', syslog.receipts(), caughtUp[1])
    process.stdout.write(`\n| gateway | req/s per round (median of ${ROUNDS}) |\n|---|---|\n`)
    process.stdout.write(`| no SIEM | ${median(rps.plain).toFixed(0)} (${rps.plain.map((n) => n.toFixed(0)).join(', ')}) |\n`)
    process.stdout.write(`| HEC + syslog | ${median(rps.pushing).toFixed(0)} (${rps.pushing.map((n) => n.toFixed(0)).join(', ')}) |\n`)

    // A backlog: the HEC receiver refuses for one round, then the drain rate is what it catches up at.
    hec.down.value = true
    const before = new Set(hec.receipts.map((r) => r.id)).size
    await drive(pushing, SECONDS)
    const backlogTotal = await recordCount(pushing)
    hec.down.value = false
    const drainStart = Date.now()
    const drained = await settled(() => hec.receipts, backlogTotal, 120_000)
    const drainSeconds = (Date.now() - drainStart) / 1000
    process.stdout.write(`\nHEC backlog of ${backlogTotal - before} records (receiver refusing for ${SECONDS} s of load): ${drained ? 'drained' : 'NOT drained'} in ${drainSeconds.toFixed(1)} s after it came back → ${((backlogTotal - before) / drainSeconds).toFixed(0)} records/s (including the retry backoff); load average now ${loadavg().map((n) => n.toFixed(2)).join(' ')}\n`)
  } finally {
    hec.server.close()
    hec.server.closeAllConnections()
    syslog.child.kill('SIGTERM')
    rmSync(syslog.dir, { recursive: true, force: true })
    await stopAll()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
