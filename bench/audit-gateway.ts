// The gateway process of `npm run bench:audit`: opens the embedded store on the data dir in argv[2],
// serves the app on loopback, and answers the driver over IPC: how long it took to be ready, what
// memory it holds, and a retention run with commits going on meanwhile.
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { loadConfig } from '../config/load-config.js'
import { buildApp } from '../src/app.js'
import type { AuditDraft } from '../src/domain/audit.js'
import { openEmbeddedStores } from '../src/stores/embedded/index.js'

export interface Memory { rssAnonMiB: number, rssFileMiB: number, heapMiB: number }

/** Anonymous memory (the process's own) apart from mapped file pages (LMDB's map: the OS's page cache). */
function memory (): Memory {
  ;(globalThis as { gc?: () => void }).gc?.()
  const status = readFileSync('/proc/self/status', 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssAnonMiB: kib('RssAnon') / 1024, rssFileMiB: kib('RssFile') / 1024, heapMiB: process.memoryUsage().heapUsed / 2 ** 20 }
}

const dataDir = process.argv[2] as string
const opening = performance.now()
const stores = await openEmbeddedStores({ dataDir })
const storeMs = performance.now() - opening
const config = loadConfig({ LOCKBOX_DATA_DIR: dataDir, LOCKBOX_PORT: '0', LOCKBOX_LOG_LEVEL: 'silent' })
const app = await buildApp(config, { stores, logger: false, sweep: false })
await app.listen({ host: '127.0.0.1', port: 0 })
// performance.now() counts from the process's start: module loading, store, app and listen.
const readyMs = performance.now()
const address = app.server.address()
const token = ((await app.inject({ method: 'POST', url: '/dev/token', payload: { user: 'sec-erin' } })).json() as { token: string }).token

const draft: AuditDraft = {
  tenantId: 'contoso',
  operation: 'ContentAccessed',
  result: 'Success',
  actor: { id: 'eng-bench', type: 'SupportEngineer' },
  clientIp: '10.0.0.7',
  requestId: null,
  workload: 'exchange',
  object: '/mailboxes/alice@contoso.com/messages/1',
  details: { method: 'GET', path: '/exchange/contoso/mailboxes/alice@contoso.com/messages/1' }
}

/** Commit latencies (ms) of 8 loops committing one record at a time, until `until` resolves. */
async function commitsUntil (until: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = []
  const state = { going: true }
  until.finally(() => { state.going = false }).catch(() => {})
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (state.going) {
      const started = performance.now()
      await stores.lockbox.commit({ tenantId: 'contoso', audit: [draft] })
      latencies.push(performance.now() - started)
    }
  }))
  return latencies
}

process.on('message', (message: { type: string, before?: number, ms?: number }) => {
  ;(async () => {
    if (message.type === 'memory') process.send?.({ type: 'memory', memory: memory() })
    // CPU time of the whole gateway process (every thread), µs: the driver takes the difference around a measure.
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send?.({ type: 'cpu', micros: user + system })
    }
    if (message.type === 'quiet') {
      const commits = await commitsUntil(new Promise((resolve) => setTimeout(resolve, message.ms)))
      process.send?.({ type: 'quiet', commits })
    }
    if (message.type === 'prune') {
      const started = performance.now()
      const pruning = stores.audit.prune(message.before as number)
      const commits = await commitsUntil(pruning)
      const pruned = await pruning
      const seconds = (performance.now() - started) / 1000
      const verify = await stores.audit.verify('contoso')
      process.send?.({ type: 'prune', pruned, seconds, commits, valid: verify.valid, anchorSeq: verify.anchorSeq })
    }
    if (message.type === 'close') {
      await app.close()
      await stores.close()
      process.disconnect()
    }
  })().catch((error: unknown) => { console.error(error); process.exit(1) })
})

process.send?.({
  type: 'ready',
  port: typeof address === 'object' && address !== null ? address.port : 0,
  token,
  storeMs,
  readyMs,
  memory: memory()
})
