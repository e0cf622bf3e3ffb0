// npm run bench:audit — loads 1,000,000 audit records for one tenant into a fresh embedded store (real,
// durable commits with group commit), then measures first-page search latency and export throughput
// through the real HTTP routes, plus replay and retention on the same log. Prints a table.
// BENCH_RECORDS and BENCH_CONCURRENCY change the size of the run.
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { loadConfig } from '../config/load-config.js'
import { buildApp } from '../src/app.js'
import type { AuditDraft } from '../src/domain/audit.js'
import { JOURNAL_FILE, openEmbeddedStores, type EmbeddedStores } from '../src/stores/embedded/index.js'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 512)
const TENANT = 'contoso'
/** Each content access request gets about this many records, as a long support session would. */
const RECORDS_PER_REQUEST = 100
const RUNS = 51
const EXPORT_RUNS = 3
const WARM_UP_RUNS = 10
/** The synthetic clock: 1M records spread over 30 days, one step per commit. */
const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const STEP_MS = Math.max(1, Math.round((30 * 24 * 3600_000) / RECORDS))
const DAY = 24 * 3600_000

interface Row { measure: string, value: string, note: string }
const rows: Row[] = []
const report = (measure: string, value: string, note = ''): void => {
  rows.push({ measure, value, note })
  process.stderr.write(`  ${measure}: ${value} ${note}\n`)
}

const format = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

function draftFor (index: number, requestIds: string[]): AuditDraft {
  return {
    tenantId: TENANT,
    operation: index % 2 === 0 ? 'ContentAccessed' : 'ContentAccessCompleted',
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

/** CONCURRENCY loops, each committing one record at a time and awaiting its durability, as content requests do. */
async function load (stores: EmbeddedStores, requestIds: string[]): Promise<void> {
  let next = 0
  const started = performance.now()
  const syncsBefore = stores.stats.syncs
  const loop = async (): Promise<void> => {
    for (let index = next++; index < RECORDS; index = next++) {
      await stores.lockbox.commit({ tenantId: TENANT, audit: [draftFor(index, requestIds)] })
      if (index % 100_000 === 0 && index > 0) process.stderr.write(`  … ${format(index)} records\n`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, loop))
  const seconds = (performance.now() - started) / 1000
  const syncs = stores.stats.syncs - syncsBefore
  report('append (durable, group commit)', `${format(RECORDS / seconds)} records/s`,
    `${format(RECORDS)} commits of 1 record, ${CONCURRENCY} concurrent, ${format(seconds, 1)} s, ${format(syncs)} datasyncs (${format(RECORDS / syncs, 1)} commits each)`)
}

/**
 * The export's client runs in a worker thread, as a SIEM would run elsewhere: it reads the stream
 * over loopback and counts bytes and lines, leaving the main thread to the gateway.
 */
const EXPORT_CLIENT = `
const { parentPort, workerData } = require('node:worker_threads')
;(async () => {
  const started = performance.now()
  const res = await fetch(workerData.url, { headers: workerData.headers })
  let bytes = 0
  let lines = 0
  for await (const chunk of res.body) {
    bytes += chunk.byteLength
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++
  }
  parentPort.postMessage({ status: res.status, bytes, lines, ms: performance.now() - started })
})()
`

interface Download { status: number, bytes: number, lines: number, ms: number }

async function download (url: string, headers: Record<string, string>): Promise<Download> {
  const worker = new Worker(EXPORT_CLIENT, { eval: true, workerData: { url, headers } })
  try {
    return await new Promise<Download>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
  } finally {
    await worker.terminate()
  }
}

const collectGarbage = (): void => { (globalThis as { gc?: () => void }).gc?.() }

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

/** Search and export through the real routes, the app listening on loopback. */
async function overHttp (stores: EmbeddedStores, requestIds: string[], dataDir: string, clock: () => number): Promise<void> {
  const config = loadConfig({ LOCKBOX_DATA_DIR: dataDir, LOCKBOX_PORT: '0', LOCKBOX_LOG_LEVEL: 'silent' })
  const app = await buildApp(config, { stores, now: clock, logger: false, sweep: false })
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
    const token = ((await app.inject({ method: 'POST', url: '/dev/token', payload: { user: 'sec-erin' } })).json() as { token: string }).token
    const headers = { authorization: `Bearer ${token}` }
    const page = async (query: string): Promise<number> => {
      const res = await fetch(`${base}/v1/audit?${query}`, { headers })
      if (res.status !== 200) throw new Error(`${query}: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { items: unknown[] }).items.length
    }

    const from = new Date(T0 + 15 * DAY).toISOString()
    const to = new Date(T0 + 16 * DAY).toISOString()
    const ranged = await timeRuns(async () => await page(`tenantId=${TENANT}&from=${from}&to=${to}&limit=100`))
    report('first page, tenant + time range (HTTP)', `${format(ranged.ms, 2)} ms`, `median of ${RUNS}, ${ranged.items} items, one day out of 30`)
    const requestId = requestIds[Math.floor(requestIds.length / 2)] as string
    const byRequest = await timeRuns(async () => await page(`requestId=${requestId}&limit=100`))
    report('first page, request id (HTTP)', `${format(byRequest.ms, 2)} ms`, `median of ${RUNS}, ${byRequest.items} items`)
    const inStore = await timeRuns(async () => (await stores.audit.query({ tenantId: TENANT, from: Date.parse(from), to: Date.parse(to), limit: 100 })).items.length)
    report('first page, tenant + time range (store)', `${format(inStore.ms, 2)} ms`, `median of ${RUNS}, the store call alone`)

    for (const [query, runs] of [[`tenantId=${TENANT}`, EXPORT_RUNS], [`tenantId=${TENANT}&format=o365`, 1]] as const) {
      const results: Array<Download & { cpuSeconds: number }> = []
      for (let run = 0; run < runs; run++) {
        const cpuBefore = process.cpuUsage()
        const result = await download(`${base}/v1/audit/export?${query}`, headers)
        const cpu = process.cpuUsage(cpuBefore)
        if (result.status !== 200 || result.lines !== RECORDS) throw new Error(`export ${query}: ${result.status}, ${result.lines} lines for ${RECORDS} records`)
        results.push({ ...result, cpuSeconds: (cpu.user + cpu.system) / 1e6 })
      }
      const { bytes, ms, cpuSeconds } = results.sort((a, b) => a.ms - b.ms)[Math.floor(runs / 2)] as typeof results[number]
      const seconds = ms / 1000
      report(`export${query.includes('o365') ? ' o365' : ''} (HTTP, streamed)`, `${format(RECORDS / seconds)} records/s`,
        `${runs > 1 ? `median of ${runs} (fastest ${format(RECORDS / ((results[0] as Download).ms / 1000))}/s); ` : ''}` +
        `${format(bytes / 2 ** 20 / seconds, 1)} MiB/s, ${format(bytes / 2 ** 20)} MiB in ${format(seconds, 1)} s; ` +
        `${format(cpuSeconds, 1)} CPU s for gateway and client together (${format(RECORDS / cpuSeconds)} records per CPU second)`)
    }
  } finally {
    await app.close()
  }
}

/** Retention of the oldest tenth, with commits going on meanwhile: they are carried over, and wait only for the swap. */
async function prune (stores: EmbeddedStores, requestIds: string[]): Promise<void> {
  const cutoff = T0 + Math.floor(RECORDS / 10) * STEP_MS + STEP_MS / 2
  const run = { committing: true }
  let during = 0
  let slowest = 0
  const writer = async (offset: number): Promise<void> => {
    for (let index = RECORDS + offset; run.committing; index += 8) {
      const started = performance.now()
      await stores.lockbox.commit({ tenantId: TENANT, audit: [draftFor(index, requestIds)] })
      slowest = Math.max(slowest, performance.now() - started)
      during++
    }
  }
  const writers = Array.from({ length: 8 }, async (_, offset) => await writer(offset))
  const started = performance.now()
  const pruned = await stores.audit.prune(cutoff)
  const seconds = (performance.now() - started) / 1000
  run.committing = false
  await Promise.all(writers)
  const verify = await stores.audit.verify(TENANT)
  if (!verify.valid) throw new Error('the chain does not verify after the prune')
  report('prune (compaction)', `${format(seconds, 1)} s`,
    `${format(pruned)} records pruned; ${format(during)} commits went on meanwhile, the slowest took ${format(slowest)} ms; chain valid from anchor ${verify.anchorSeq as number}`)
}

/** The first store lives only in here, so that nothing of it is counted in the memory held after replay. */
async function loadAndSearch (dataDir: string, now: () => number, requestIds: string[], clock: () => number): Promise<void> {
  const stores = await openEmbeddedStores({ dataDir, now })
  try {
    await load(stores, requestIds)
    await overHttp(stores, requestIds, dataDir, clock)
  } finally {
    await stores.close()
  }
}

function printTable (): void {
  const width = Math.max(...rows.map((row) => row.measure.length))
  const valueWidth = Math.max(...rows.map((row) => row.value.length))
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  process.stdout.write(`\nLockbox audit benchmark — ${format(RECORDS)} records, one tenant, embedded store\n`)
  process.stdout.write(`node ${process.version}, ${cpus().length} CPUs (${cpu}), ${process.platform}\n\n`)
  for (const row of rows) process.stdout.write(`${row.measure.padEnd(width)}  ${row.value.padStart(valueWidth)}  ${row.note}\n`)
  process.stdout.write('\n')
}

async function main (): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lockbox-bench-'))
  process.stderr.write(`audit benchmark: ${format(RECORDS)} records in ${dataDir}\n`)
  try {
    let clock = T0
    const now = (): number => (clock += STEP_MS)
    const requestIds = Array.from({ length: Math.max(1, RECORDS / RECORDS_PER_REQUEST) }, () => randomUUID())
    await loadAndSearch(dataDir, now, requestIds, () => clock)

    const { size } = await stat(join(dataDir, JOURNAL_FILE))
    const started = performance.now()
    const stores = await openEmbeddedStores({ dataDir, now })
    report('replay at start', `${format((performance.now() - started) / 1000, 1)} s`, `journal of ${format(size / 2 ** 20)} MiB`)
    collectGarbage()
    // The record texts live in buffers outside the V8 heap (the text arena): both count.
    const { heapUsed, arrayBuffers } = process.memoryUsage()
    const held = heapUsed + arrayBuffers
    report('memory held after replay', `${format(held / 2 ** 20)} MiB`, `${format(held / RECORDS)} bytes per record: ${format(heapUsed / 2 ** 20)} MiB heap + ${format(arrayBuffers / 2 ** 20)} MiB buffers (the whole process, app not loaded)`)
    await prune(stores, requestIds)
    await stores.close()
    printTable()
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

await main()
