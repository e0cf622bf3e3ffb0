// npm run bench:audit — fills a fresh embedded store (LMDB) with BENCH_RECORDS audit records of one
// tenant (1,000,000 by default), then starts the gateway on it in a process of its own and measures,
// from outside: time to ready, anonymous memory (RssAnon; the mapped database file apart), the first
// page of filtered searches and export throughput over HTTP, and a retention run over the oldest
// tenth while the gateway serves (latency quiet vs during). Prints a table.
// BENCH_FILL_BATCH: records per commit while filling (1 = as the gateway writes; larger fills a 10M
// store sooner), by BENCH_FILL_CONCURRENCY concurrent committers (the largest BENCH_CONCURRENCY level
// for single-record commits, 4 for larger ones: 4,096 committers of 1,000 records each would hold
// four million sealed records in memory at once). The last BENCH_MEASURED records are always committed one per commit, as a gateway
// writes them, by as many concurrent appenders as BENCH_CONCURRENCY lists (its in-flight calls; a
// share of the records at each level), and give the durable appends/s: a durable commit waits for
// an fsync, so the rate a level reaches is about its appenders / commit latency.
import { fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { get, type IncomingMessage } from 'node:http'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { AuditDraft } from '../src/domain/audit.js'
import { DATABASE_FILE, openEmbeddedStores, type EmbeddedStores } from '../src/stores/embedded/index.js'
import type { Memory } from './audit-gateway.js'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000)
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '64,512,4096').split(',').map(Number)
const FILL_BATCH = Number(process.env.BENCH_FILL_BATCH ?? 1)
const FILL_CONCURRENCY = Number(process.env.BENCH_FILL_CONCURRENCY ?? (FILL_BATCH === 1 ? Math.max(...CONCURRENCY) : 4))
const MEASURED = Math.min(RECORDS, Number(process.env.BENCH_MEASURED ?? 200_000))
const EXPORT_RUNS = Number(process.env.BENCH_EXPORT_RUNS ?? (RECORDS > 2_000_000 ? 1 : 3))
const TENANT = 'contoso'
/** Each content access request gets about this many records, as a long support session would. */
const RECORDS_PER_REQUEST = 100
const RUNS = 51
const WARM_UP_RUNS = 10
/** The synthetic clock: the records spread over 30 days, one step per record. */
const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const STEP_MS = Math.max(1, Math.round((30 * 24 * 3600_000) / RECORDS))
const DAY = 24 * 3600_000
const GATEWAY = fileURLToPath(new URL('./audit-gateway.js', import.meta.url))

interface Row { measure: string, value: string, note: string }
const rows: Row[] = []
const report = (measure: string, value: string, note = ''): void => {
  rows.push({ measure, value, note })
  process.stderr.write(`  ${measure}: ${value} ${note}\n`)
}

const format = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] as number
}
const median = (values: number[]): number => quantile(values, 0.5)
const memoryText = (memory: Memory): string => `${format(memory.rssAnonMiB)} MiB`
const memoryNote = (memory: Memory): string => `RssAnon; mapped file pages (RssFile) ${format(memory.rssFileMiB)} MiB apart; V8 heap ${format(memory.heapMiB)} MiB`

function draftFor (index: number, requestIds: string[]): AuditDraft {
  return {
    tenantId: TENANT,
    operation: index % 1000 === 999 ? 'ContentAccessDenied' : index % 2 === 0 ? 'ContentAccessed' : 'ContentAccessCompleted',
    result: 'Success',
    actor: { id: `eng-${index % 50}`, type: 'SupportEngineer' },
    clientIp: '10.0.0.7',
    requestId: requestIds[Math.floor(index / 2) % requestIds.length] as string,
    workload: 'exchange',
    object: `/mailboxes/alice@contoso.com/messages/${index}`,
    details: index % 2 === 0
      ? { method: 'GET', path: `/exchange/contoso/mailboxes/alice@contoso.com/messages/${index}`, accessId: `a-${index >> 1}` }
      : { status: 200, bytes: 18_000 + (index % 1000), durationMs: 12, accessId: `a-${index >> 1}` }
  }
}

/** `concurrency` loops committing `batch` records at a time from `from` to `to`, each awaiting its durability. */
async function load (stores: EmbeddedStores, requestIds: string[], from: number, to: number, batch: number, concurrency: number): Promise<{ seconds: number, commits: number, syncs: number }> {
  let next = from
  let commits = 0
  const started = performance.now()
  const syncsBefore = stores.stats.syncs
  const loop = async (): Promise<void> => {
    for (let index = next; index < to; index = next) {
      const end = next = Math.min(to, index + batch)
      const audit = Array.from({ length: end - index }, (_, offset) => draftFor(index + offset, requestIds))
      await stores.lockbox.commit({ tenantId: TENANT, audit })
      commits++
      if (Math.floor(end / 500_000) > Math.floor(index / 500_000)) process.stderr.write(`  … ${format(end)} records\n`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return { seconds: (performance.now() - started) / 1000, commits, syncs: stores.stats.syncs - syncsBefore }
}

async function fill (dataDir: string, requestIds: string[]): Promise<void> {
  // The store reads the clock once per commit: it steps by the commit's records, so that times spread over 30 days whatever the batch.
  let clock = T0
  let step = STEP_MS * FILL_BATCH
  const stores = await openEmbeddedStores({ dataDir, now: () => (clock += step) })
  try {
    const cpu = process.cpuUsage()
    const bulk = await load(stores, requestIds, 0, RECORDS - MEASURED, FILL_BATCH, FILL_CONCURRENCY)
    const { user, system } = process.cpuUsage(cpu)
    step = STEP_MS
    if (RECORDS > MEASURED) {
      report('fill (durable, batched)', `${format((RECORDS - MEASURED) / bulk.seconds)} records/s`,
        `${format(RECORDS - MEASURED)} records in ${format(bulk.seconds, 1)} s, ${FILL_BATCH} per commit, ${FILL_CONCURRENCY} concurrent; ${format((user + system) / (RECORDS - MEASURED), 1)} µs CPU per record`)
    }
    let from = RECORDS - MEASURED
    for (const [index, concurrency] of CONCURRENCY.entries()) {
      const to = RECORDS - Math.floor(MEASURED * (CONCURRENCY.length - index - 1) / CONCURRENCY.length)
      const cpu = process.cpuUsage()
      const { seconds, syncs } = await load(stores, requestIds, from, to, 1, concurrency)
      const { user, system } = process.cpuUsage(cpu)
      report(`append, ${concurrency} concurrent (durable, one record per commit)`, `${format((to - from) / seconds)} records/s`,
        `${format(to - from)} records up to ${format(to)}; ${format(syncs)} transactions (fsyncs), ${format((to - from) / syncs, 1)} commits each; ${format((user + system) / (to - from), 1)} µs CPU per record`)
      from = to
    }
  } finally {
    await stores.close()
  }
}

interface Gateway { port: number, token: string, ask: <T>(message: object) => Promise<T>, readyMs: number, storeMs: number, memory: Memory }

async function startGateway (dataDir: string): Promise<Gateway> {
  const child = fork(GATEWAY, [dataDir], { execArgv: ['--expose-gc'], stdio: 'inherit' })
  const [ready] = await once(child, 'message') as [Omit<Gateway, 'ask'>]
  const ask = async <T>(message: object): Promise<T> => {
    const answer = once(child, 'message')
    child.send(message)
    return (await answer)[0] as T
  }
  return { ...ready, ask }
}

async function timeRuns (run: () => Promise<number>): Promise<{ ms: number, items: number }> {
  for (let index = 0; index < WARM_UP_RUNS; index++) await run()
  const times: number[] = []
  let items = 0
  for (let index = 0; index < RUNS; index++) {
    const started = performance.now()
    items = await run()
    times.push(performance.now() - started)
  }
  return { ms: median(times), items }
}

async function searchAndExport (gateway: Gateway, requestIds: string[]): Promise<void> {
  const base = `http://127.0.0.1:${gateway.port}`
  const headers = { authorization: `Bearer ${gateway.token}` }
  const page = async (query: string): Promise<number> => {
    const res = await fetch(`${base}/v1/audit?${query}`, { headers })
    if (res.status !== 200) throw new Error(`${query}: ${res.status} ${await res.text()}`)
    return ((await res.json()) as { items: unknown[] }).items.length
  }
  const from = new Date(T0 + 15 * DAY).toISOString()
  const to = new Date(T0 + 16 * DAY).toISOString()
  const searches: Array<[string, string]> = [
    ['tenant + time range', `tenantId=${TENANT}&from=${from}&to=${to}&limit=100`],
    ['request id', `requestId=${requestIds[Math.floor(requestIds.length / 2)] as string}&limit=100`],
    ['tenant + actor + operation', `tenantId=${TENANT}&actorId=eng-7&operation=ContentAccessCompleted&limit=100`],
    ['tenant + rare operation, last day', `tenantId=${TENANT}&operation=ContentAccessDenied&from=${new Date(T0 + 29 * DAY).toISOString()}&limit=100`]
  ]
  for (const [name, query] of searches) {
    const { ms, items } = await timeRuns(async () => await page(query))
    report(`first page, ${name} (HTTP)`, `${format(ms, 2)} ms`, `median of ${RUNS}, ${items} items`)
  }
  const gatewayCpu = async (): Promise<number> => (await gateway.ask<{ micros: number }>({ type: 'cpu' })).micros
  for (let run = 0; run < EXPORT_RUNS; run++) {
    const cpuBefore = await gatewayCpu()
    const clientCpu = process.cpuUsage()
    const started = performance.now()
    // node:http rather than fetch: fetch's web streams cost the client more CPU per record (4.5-7 µs)
    // than the gateway spent serving it (2.4-5 µs), and the two share the machine's two cores.
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(`${base}/v1/audit/export?tenantId=${TENANT}`, { headers }, resolve).on('error', reject))
    let bytes = 0
    let lines = 0
    for await (const chunk of res as AsyncIterable<Buffer>) {
      bytes += chunk.byteLength
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++
    }
    const seconds = (performance.now() - started) / 1000
    const client = process.cpuUsage(clientCpu)
    const gatewayMicros = await gatewayCpu() - cpuBefore
    if (res.statusCode !== 200 || lines !== RECORDS) throw new Error(`export: ${res.statusCode ?? 0}, ${lines} lines for ${RECORDS} records`)
    report('export (HTTP, streamed)', `${format(RECORDS / seconds)} records/s`,
      `run ${run + 1} of ${EXPORT_RUNS}: ${format(bytes / 2 ** 20)} MiB in ${format(seconds, 1)} s; gateway ${format(gatewayMicros / RECORDS, 2)} µs CPU per record, ` +
      `client (another process) ${format((client.user + client.system) / RECORDS, 2)}`)
  }
}

/** Retention of the oldest tenth while the gateway serves: commit latency in the gateway and page latency over HTTP, quiet vs during. */
async function retention (gateway: Gateway): Promise<void> {
  const base = `http://127.0.0.1:${gateway.port}`
  const headers = { authorization: `Bearer ${gateway.token}` }
  const pages = (until: Promise<unknown>): Promise<number[]> => {
    const latencies: number[] = []
    const state = { going: true }
    until.finally(() => { state.going = false }).catch(() => {})
    return Promise.all(Array.from({ length: 4 }, async () => {
      while (state.going) {
        const started = performance.now()
        const res = await fetch(`${base}/v1/audit?tenantId=${TENANT}&actorId=eng-3&limit=20`, { headers })
        await res.arrayBuffer()
        latencies.push(performance.now() - started)
      }
    })).then(() => latencies)
  }
  const quietGateway = gateway.ask<{ commits: number[] }>({ type: 'quiet', ms: 5000 })
  const quietPages = await pages(quietGateway)
  const quiet = (await quietGateway).commits
  const cutoff = T0 + Math.floor(RECORDS / 10) * STEP_MS + STEP_MS / 2
  const pruning = gateway.ask<{ pruned: number, seconds: number, commits: number[], valid: boolean, anchorSeq: number }>({ type: 'prune', before: cutoff })
  const duringPages = await pages(pruning)
  const run = await pruning
  if (!run.valid) throw new Error('the chain does not verify after the prune')
  report('retention of the oldest tenth', `${format(run.seconds, 1)} s`, `${format(run.pruned)} records pruned while serving; chain valid from anchor ${run.anchorSeq}`)
  report('  commit p99, quiet → during', `${format(quantile(quiet, 0.99), 1)} → ${format(quantile(run.commits, 0.99), 1)} ms`,
    `8 loops of one-record commits in the gateway; ${format(quiet.length)} quiet (5 s), ${format(run.commits.length)} during`)
  report('  search p99, quiet → during', `${format(quantile(quietPages, 0.99), 1)} → ${format(quantile(duringPages, 0.99), 1)} ms`,
    `4 loops of first-page searches over HTTP; ${format(quietPages.length)} quiet, ${format(duringPages.length)} during`)
}

function printTable (): void {
  const width = Math.max(...rows.map((row) => row.measure.length))
  const valueWidth = Math.max(...rows.map((row) => row.value.length))
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  process.stdout.write(`\nLockbox audit benchmark — ${format(RECORDS)} records, one tenant, embedded store (LMDB)\n`)
  process.stdout.write(`node ${process.version}, ${cpus().length} CPUs (${cpu}), ${process.platform}\n\n`)
  for (const row of rows) process.stdout.write(`${row.measure.padEnd(width)}  ${row.value.padStart(valueWidth)}  ${row.note}\n`)
  process.stdout.write('\n')
}

async function main (): Promise<void> {
  const dataDir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'lockbox-bench-'))
  process.stderr.write(`audit benchmark: ${format(RECORDS)} records in ${dataDir}\n`)
  try {
    const requestIds = Array.from({ length: Math.max(1, RECORDS / RECORDS_PER_REQUEST) }, () => randomUUID())
    await fill(dataDir, requestIds)
    const { size } = await stat(join(dataDir, DATABASE_FILE))
    report('database file', `${format(size / 2 ** 20)} MiB`, `${format(size / RECORDS)} bytes per record, indexes included`)
    const gateway = await startGateway(dataDir)
    report('gateway ready', `${format(gateway.readyMs)} ms`, `process start to listening (store open ${format(gateway.storeMs, 1)} ms)`)
    report('memory when ready', memoryText(gateway.memory), memoryNote(gateway.memory))
    await searchAndExport(gateway, requestIds)
    const after = await gateway.ask<{ memory: Memory }>({ type: 'memory' })
    report('memory after searches and export', memoryText(after.memory), memoryNote(after.memory))
    await retention(gateway)
    const last = await gateway.ask<{ memory: Memory }>({ type: 'memory' })
    report('memory after retention', memoryText(last.memory), memoryNote(last.memory))
    gateway.ask({ type: 'close' }).catch(() => {})
    printTable()
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

await main()
