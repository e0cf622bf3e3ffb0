// npm run bench:soak — the gateway under a steady load for a bounded time (5 minutes), its memory
// sampled from outside (/proc RSS) and inside (heap used, from its own /metrics) every few seconds.
// After a warm-up minute the per-minute heap floor must stay flat: a leak on the proxy path (an
// exchange, a listener, a cache entry kept per request) shows as a floor that climbs.
// The gateway runs on Redis by default, so its own memory is what is measured: the embedded store
// keeps every audit record's text in the gateway's memory by design (two records per proxied call,
// until retention prunes them); SOAK_STORE=embedded reports that growth per call instead of judging.
// SOAK_SECONDS (default 300), SOAK_RATE (requests/s, default 1000), SOAK_CONNECTIONS (default 20).
import autocannon from 'autocannon'
import { cpus } from 'node:os'
import { rssBytes } from './processes.js'
import { PATH, redisAvailable, startGateway, startRedis, startUpstream, stopAll, type Target } from './targets.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300)
const RATE = Number(process.env.SOAK_RATE ?? 1000)
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 20)
const SAMPLE_MS = 5000
const WARM_UP_S = Math.min(60, SECONDS / 5)
/** Floor growth accepted between the first and the last minute after warm-up. */
const FLAT_BYTES = 8 * 1024 * 1024

interface Point { at: number, rss: number, heap: number }

const MiB = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

/** Heap used, as the gateway's own /metrics reports it. */
async function heapUsed (target: Target): Promise<number> {
  const text = await (await fetch(target.url + '/metrics')).text()
  const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '))
  return Number(line?.split(' ')[1] ?? 0)
}

async function main (): Promise<void> {
  const store = process.env.SOAK_STORE ?? (redisAvailable() ? 'redis' : 'embedded')
  process.stderr.write(`lockbox soak: ${cpus().length} cores, Node ${process.version}; ${SECONDS} s at ${RATE} req/s over ${CONNECTIONS} connections, ${store} store\n`)
  const upstream = await startUpstream()
  let target: Target
  if (store === 'redis') {
    const redis = await startRedis()
    target = await startGateway('gateway', upstream, { env: { LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url }, store: redis.server })
  } else {
    target = await startGateway('gateway', upstream)
  }
  const pid = (target.proxy as { pid: number }).pid
  const points: Point[] = []
  const startedAt = Date.now()
  const sample = async (): Promise<void> => {
    const point = { at: (Date.now() - startedAt) / 1000, rss: rssBytes(pid), heap: await heapUsed(target) }
    points.push(point)
    process.stderr.write(`  ${point.at.toFixed(0).padStart(4)} s  rss ${MiB(point.rss)} MiB  heap ${MiB(point.heap)} MiB\n`)
  }
  await sample()
  const timer = setInterval(() => { sample().catch(() => {}) }, SAMPLE_MS)
  const result = await autocannon({ url: target.url + PATH, connections: CONNECTIONS, overallRate: RATE, duration: SECONDS, headers: target.headers })
  clearInterval(timer)
  await sample()

  // Per minute after the warm-up: the lowest heap seen (after a GC) and the highest RSS.
  const minutes = new Map<number, Point[]>()
  for (const point of points.filter((p) => p.at >= WARM_UP_S)) {
    const minute = Math.floor((point.at - WARM_UP_S) / 60)
    minutes.set(minute, [...(minutes.get(minute) ?? []), point])
  }
  const floors = [...minutes.values()].map((list) => ({
    at: (list[0] as Point).at,
    heap: Math.min(...list.map((p) => p.heap)),
    rss: Math.max(...list.map((p) => p.rss))
  }))
  process.stdout.write(`\n${result.requests.total} requests (${(result.requests.total / SECONDS).toFixed(0)} req/s), ${result['2xx']} answered 2xx, ${result.errors} errors, p99 ${result.latency.p99} ms\n\n`)
  process.stdout.write('| minute after warm-up | heap floor MiB | max RSS MiB |\n|---|---|---|\n')
  floors.forEach((floor, i) => { process.stdout.write(`| ${i + 1} | ${MiB(floor.heap)} | ${MiB(floor.rss)} |\n`) })
  const first = floors[0]
  const last = floors[floors.length - 1]
  if (first === undefined || last === undefined || floors.length < 2) {
    process.stdout.write('\ntoo short to judge: run at least two minutes past the warm-up\n')
    return
  }
  const growth = last.heap - first.heap
  if (store === 'embedded') {
    const calls = (last.at - first.at) * (result.requests.total / SECONDS)
    process.stdout.write(`\nheap floor ${growth >= 0 ? '+' : ''}${MiB(growth)} MiB over about ${calls.toFixed(0)} calls: ${(growth / calls).toFixed(0)} bytes per call, the two audit records the embedded store keeps in memory by design\n`)
    return
  }
  const flat = growth < FLAT_BYTES
  process.stdout.write(`\nheap floor ${flat ? 'flat' : 'GROWING'}: ${growth >= 0 ? '+' : ''}${MiB(growth)} MiB from the first to the last minute (bound ${MiB(FLAT_BYTES)} MiB)\n`)
  if (!flat) process.exitCode = 1
}

try {
  await main()
} finally {
  await stopAll()
}
