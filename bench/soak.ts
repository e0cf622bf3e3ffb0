// npm run bench:soak — the gateway under a steady load for a bounded time (5 minutes). Every 10 s
// its memory is sampled: RSS from /proc, and the live heap after a full GC (through the inspector).
// After a warm-up minute the live heap must stay flat: a leak on the proxy path (an exchange, a
// listener, a cache entry kept per request) shows as a live heap that climbs minute after minute.
// The gateway runs on Redis by default, so that what is measured is the gateway itself: the
// embedded store keeps every audit record's text in the gateway's memory by design (two records per
// proxied call, until retention prunes them); SOAK_STORE=embedded reports that growth per call.
// SOAK_SECONDS (default 300), SOAK_RATE (requests/s, default 1000), SOAK_CONNECTIONS (default 20).
import autocannon from 'autocannon'
import { cpus } from 'node:os'
import { connectLiveHeap } from './live-heap.js'
import { freePort, rssBytes } from './processes.js'
import { PATH, redisAvailable, startGateway, startRedis, startUpstream, stopAll, type Target } from './targets.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300)
const RATE = Number(process.env.SOAK_RATE ?? 1000)
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 20)
const SAMPLE_MS = 10_000
const WARM_UP_S = Math.min(60, SECONDS / 5)
/** Live-heap growth accepted from the first to the last minute after the warm-up. */
const FLAT_BYTES = 4 * 1024 * 1024

interface Point { at: number, rss: number, live: number }

const MiB = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length

async function main (): Promise<void> {
  const store = process.env.SOAK_STORE ?? (redisAvailable() ? 'redis' : 'embedded')
  process.stderr.write(`lockbox soak: ${cpus().length} cores, Node ${process.version}; ${SECONDS} s at ${RATE} req/s over ${CONNECTIONS} connections, ${store} store\n`)
  const upstream = await startUpstream()
  const inspector = await freePort()
  const nodeArgs = [`--inspect=127.0.0.1:${inspector}`]
  let target: Target
  if (store === 'redis') {
    const redis = await startRedis()
    target = await startGateway('gateway', upstream, { env: { LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url }, store: redis.server, nodeArgs })
  } else {
    target = await startGateway('gateway', upstream, { nodeArgs })
  }
  const pid = (target.proxy as { pid: number }).pid
  const heap = await connectLiveHeap(inspector)
  const points: Point[] = []
  const startedAt = Date.now()
  const sample = async (): Promise<void> => {
    const point = { at: (Date.now() - startedAt) / 1000, rss: rssBytes(pid), live: await heap.measure() }
    points.push(point)
    process.stderr.write(`  ${point.at.toFixed(0).padStart(4)} s  rss ${MiB(point.rss)} MiB  live heap ${MiB(point.live)} MiB\n`)
  }
  await sample()
  const timer = setInterval(() => { sample().catch(() => {}) }, SAMPLE_MS)
  const result = await autocannon({ url: target.url + PATH, connections: CONNECTIONS, overallRate: RATE, duration: SECONDS, headers: target.headers })
  clearInterval(timer)
  heap.close()

  // Whole minutes after the warm-up only.
  const minutes: Point[][] = []
  for (const point of points.filter((p) => p.at >= WARM_UP_S && p.at < SECONDS)) {
    const minute = Math.floor((point.at - WARM_UP_S) / 60)
    minutes[minute] = [...(minutes[minute] ?? []), point]
  }
  const rows = minutes.filter((list) => list.length >= 60_000 / SAMPLE_MS - 1).map((list) => ({
    live: mean(list.map((p) => p.live)),
    rss: Math.max(...list.map((p) => p.rss))
  }))
  const calls = result.requests.total
  process.stdout.write(`\n${calls} requests (${(calls / SECONDS).toFixed(0)} req/s), ${result['2xx']} answered 2xx, ${result.errors} errors, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms\n\n`)
  process.stdout.write('| minute after warm-up | live heap MiB (mean, after full GC) | max RSS MiB |\n|---|---|---|\n')
  rows.forEach((row, i) => { process.stdout.write(`| ${i + 1} | ${MiB(row.live)} | ${MiB(row.rss)} |\n`) })
  const first = rows[0]
  const last = rows[rows.length - 1]
  if (first === undefined || last === undefined || rows.length < 2) {
    process.stdout.write('\ntoo short to judge: run at least two whole minutes past the warm-up\n')
    return
  }
  const growth = last.live - first.live
  if (store === 'embedded') {
    const perCall = growth / ((rows.length - 1) * 60 * calls / SECONDS)
    process.stdout.write(`\nlive heap ${growth >= 0 ? '+' : ''}${MiB(growth)} MiB: ${perCall.toFixed(0)} bytes per call, the two audit records the embedded store keeps in memory by design\n`)
    return
  }
  const flat = growth < FLAT_BYTES
  process.stdout.write(`\nlive heap ${flat ? 'flat' : 'GROWING'}: ${growth >= 0 ? '+' : ''}${MiB(growth)} MiB from the first to the last minute (bound ${MiB(FLAT_BYTES)} MiB)\n`)
  if (!flat) process.exitCode = 1
}

try {
  await main()
} finally {
  await stopAll()
}
