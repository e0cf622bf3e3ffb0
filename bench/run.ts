// npm run bench — the proxy path side by side, in one run on one machine: the upstream directly, the
// bare @fastify/http-proxy, nginx proxy_pass (when installed) and the full gateway on the embedded
// store and on Redis (durable audit on both). Each runs as its own processes on loopback ports;
// autocannon drives each in turn, round after round in a rotating order, and the table gives the
// medians. CPU per request is read from each proxy process's /proc entry (all its threads, and with
// LOCKBOX_WORKERS=2 the primary's and both workers'). The Redis store runs with 1 and 2 processes.
// BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS change the run; BENCH_PROFILE=dir writes
// --cpu-prof profiles of the gateways there; BENCH_ONLY=name,name runs some configurations only;
// BENCH_VARIANTS='{"name":{"ENV":"value"}}' adds gateways (embedded store) started with more environment.
import autocannon from 'autocannon'
import { cpus } from 'node:os'
import { cpuMicros, mainThreadCpuMicros } from './processes.js'
import { has, PATH, redisAvailable, startBareProxy, startGateway, startNginx, startRedis, startUpstream, stopAll, type Target } from './targets.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const PROFILE_DIR = process.env.BENCH_PROFILE
const ONLY = process.env.BENCH_ONLY?.split(',')

interface Sample { rps: number, p50: number, p99: number, cpuUs: number | null, mainUs: number | null, storeUs: number | null, errors: number }

async function drive (target: Target, seconds: number): Promise<Sample> {
  const before = target.proxy === null ? 0 : cpuMicros(target.proxy.pid)
  const mainBefore = target.proxy === null ? 0 : mainThreadCpuMicros(target.proxy.pid)
  const storeBefore = target.store === null ? 0 : cpuMicros(target.store.pid)
  const result = await autocannon({ url: target.url + PATH, connections: CONNECTIONS, duration: seconds, headers: target.headers })
  const done = result.requests.total
  return {
    rps: done / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: target.proxy === null ? null : (cpuMicros(target.proxy.pid) - before) / done,
    mainUs: target.proxy === null ? null : (mainThreadCpuMicros(target.proxy.pid) - mainBefore) / done,
    storeUs: target.store === null ? null : (cpuMicros(target.store.pid) - storeBefore) / done,
    errors: done - result['2xx'] + result.errors + result.timeouts
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const fixed = (n: number | null, digits = 0): string => n === null ? '—' : n.toFixed(digits)

async function main (): Promise<void> {
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}`
  process.stderr.write(`lockbox bench: ${machine}; ${ROUNDS} rounds of ${SECONDS} s per configuration, ${CONNECTIONS} connections\n`)
  const want = (name: string): boolean => ONLY === undefined || ONLY.some((part) => name.includes(part))
  const nodeArgs = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`]
  const upstream = await startUpstream()
  const targets: Target[] = []
  if (want('direct')) targets.push({ name: 'direct upstream', url: upstream, headers: {}, proxy: null, store: null })
  targets.push(await startBareProxy(upstream))
  if (want('nginx')) {
    if (has('nginx')) targets.push(await startNginx(upstream))
    else process.stderr.write('  (nginx is not installed: its row is left out)\n')
  }
  if (want('embedded')) targets.push(await startGateway('gateway, embedded store', upstream, { nodeArgs }))
  for (const [name, env] of Object.entries(JSON.parse(process.env.BENCH_VARIANTS ?? '{}') as Record<string, Record<string, string>>)) {
    targets.push(await startGateway(`gateway, ${name}`, upstream, { env, nodeArgs }))
  }
  if (want('redis')) {
    if (redisAvailable()) {
      const redis = await startRedis()
      targets.push(await startGateway('gateway, Redis store', upstream, { env: { LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url }, store: redis.server, nodeArgs }))
      // The same with two processes sharing the port (LOCKBOX_WORKERS): what a second core buys.
      targets.push(await startGateway('gateway, Redis store, 2 processes', upstream, { env: { LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url, LOCKBOX_WORKERS: '2' }, store: redis.server, nodeArgs }))
    } else {
      process.stderr.write('  (the Redis backend is not built or redis-server is not installed: its row is left out)\n')
    }
  }

  for (const target of targets) {
    process.stderr.write(`  warming up ${target.name}\n`)
    await drive(target, WARM_UP_SECONDS)
  }
  const samples = new Map<Target, Sample[]>(targets.map((target) => [target, []]))
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, and each round in a new order, so a slow minute of the machine is shared.
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target)
    for (const target of order) {
      const sample = await drive(target, SECONDS)
      samples.get(target)?.push(sample)
      process.stderr.write(`  round ${round + 1}/${ROUNDS} ${target.name}: ${fixed(sample.rps)} req/s, p50 ${sample.p50} ms, p99 ${sample.p99} ms, ${fixed(sample.cpuUs, 1)} µs CPU/req (${fixed(sample.mainUs, 1)} main thread)${sample.errors > 0 ? `, ${sample.errors} errors` : ''}\n`)
    }
  }

  const bare = samples.get(targets.find((target) => target.name.startsWith('bare')) as Target) as Sample[]
  const header = ['configuration', 'req/s', 'p50 ms', 'p99 ms', 'proxy CPU µs/req', 'of it main thread', 'store CPU µs/req', '× bare req/s', '× bare (per round)', 'errors']
  process.stdout.write(`\n${machine}; medians of ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections, ~1 KB responses\n\n`)
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`)
  for (const target of targets) {
    const list = samples.get(target) as Sample[]
    const rps = median(list.map((s) => s.rps))
    const row = [
      target.name,
      fixed(rps),
      fixed(median(list.map((s) => s.p50))),
      fixed(median(list.map((s) => s.p99))),
      target.proxy === null ? '—' : fixed(median(list.map((s) => s.cpuUs as number)), 1),
      target.proxy === null ? '—' : fixed(median(list.map((s) => s.mainUs as number)), 1),
      target.store === null ? '—' : fixed(median(list.map((s) => s.storeUs as number)), 1),
      fixed(rps / median(bare.map((s) => s.rps)), 2),
      // Each round's ratio is taken side by side, then the median of those.
      fixed(median(list.map((s, i) => s.rps / (bare[i] as Sample).rps)), 2),
      String(list.reduce((n, s) => n + s.errors, 0))
    ]
    process.stdout.write(`| ${row.join(' | ')} |\n`)
  }
}

try {
  await main()
} finally {
  await stopAll()
}
