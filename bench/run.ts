// npm run bench — the proxy path side by side, in one run on one machine: the upstream directly, the
// bare @fastify/http-proxy, nginx proxy_pass (when installed) and the full gateway on the embedded
// store and on Redis (durable audit on both). Each runs as its own processes on loopback ports;
// autocannon drives each in turn, round after round, and the table gives the medians.
// BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS change the run; BENCH_PROFILE=dir writes
// --cpu-prof profiles of the gateways there; BENCH_ONLY=name,name runs some configurations only;
// BENCH_VARIANTS='{"name":{"ENV":"value"}}' adds gateways (embedded store) started with more environment.
import autocannon from 'autocannon'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { accessToken } from './grant.js'
import { cpuMicros, freePort, ready, start, stop, type Started } from './processes.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const PROFILE_DIR = process.env.BENCH_PROFILE
const ONLY = process.env.BENCH_ONLY?.split(',')
const PATH = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

const has = (command: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

interface Target {
  name: string
  url: string
  headers: Record<string, string>
  /** The process whose CPU is the proxy's cost (none for the upstream itself). */
  proxy: Started | null
  /** A store server next to it, whose CPU is reported apart. */
  store: Started | null
}

interface Sample { rps: number, p50: number, p99: number, cpuUs: number | null, storeUs: number | null, errors: number }

const work = mkdtempSync(join(tmpdir(), 'lockbox-bench-'))
const processes: Started[] = []
const launch = (...args: Parameters<typeof start>): Started => {
  const started = start(...args)
  processes.push(started)
  return started
}

async function startUpstream (): Promise<string> {
  const port = await freePort()
  launch('upstream', process.execPath, ['dist/bench/upstream.js', String(port)])
  const url = `http://127.0.0.1:${port}`
  await ready('upstream', url + '/')
  return url
}

async function startBareProxy (upstream: string): Promise<Target> {
  const port = await freePort()
  const proxy = launch('bare proxy', process.execPath, ['dist/bench/bare-proxy.js', String(port), upstream])
  const url = `http://127.0.0.1:${port}`
  await ready('bare proxy', url + PATH)
  return { name: 'bare @fastify/http-proxy', url, headers: {}, proxy, store: null }
}

async function startNginx (upstream: string): Promise<Target> {
  const port = await freePort()
  const dir = join(work, 'nginx')
  execFileSync('mkdir', ['-p', dir])
  // One process, one worker: the same single core a Node process gets.
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream content { server ${upstream.replace('http://', '')}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location /exchange/ {
      proxy_pass ${'http://content/tenants/'};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`)
  const proxy = launch('nginx', 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir])
  const url = `http://127.0.0.1:${port}`
  await ready('nginx', url + PATH)
  return { name: 'nginx proxy_pass', url, headers: {}, proxy, store: null }
}

async function startRedis (): Promise<{ server: Started, url: string }> {
  const port = await freePort()
  const dir = join(work, 'redis')
  execFileSync('mkdir', ['-p', dir])
  // Durable audit: every write is in the append-only file, fsync'd, before Redis answers.
  const server = launch('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'])
  const url = `redis://127.0.0.1:${port}`
  const giveUpAt = Date.now() + 10_000
  while (!tryPing(port)) {
    if (Date.now() > giveUpAt) throw new Error('redis-server did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { server, url }
}

function tryPing (port: number): boolean {
  try {
    return execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() === 'PONG'
  } catch {
    return false
  }
}

async function startGateway (name: string, upstream: string, env: Record<string, string>, store: Started | null): Promise<Target> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(work, 'gateway-'))
  const profile = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`]
  const proxy = launch(name, process.execPath, [...profile, 'dist/src/server.js'], {
    env: {
      LOCKBOX_PORT: String(port),
      LOCKBOX_DATA_DIR: dataDir,
      LOCKBOX_UPSTREAM_EXCHANGE: upstream,
      LOCKBOX_UPSTREAM_SHAREPOINT: upstream,
      LOCKBOX_UPSTREAM_ONEDRIVE: upstream,
      LOCKBOX_LOG_LEVEL: 'info',
      ...env
    }
  })
  const url = `http://127.0.0.1:${port}`
  await ready(name, url + '/readyz')
  const token = await accessToken(url)
  return { name, url, headers: { authorization: `Bearer ${token}` }, proxy, store }
}

async function drive (target: Target, seconds: number): Promise<Sample> {
  const before = target.proxy === null ? 0 : cpuMicros(target.proxy.pid)
  const storeBefore = target.store === null ? 0 : cpuMicros(target.store.pid)
  const result = await autocannon({ url: target.url + PATH, connections: CONNECTIONS, duration: seconds, headers: target.headers })
  const done = result.requests.total
  const ok = result['2xx']
  return {
    rps: done / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: target.proxy === null ? null : (cpuMicros(target.proxy.pid) - before) / done,
    storeUs: target.store === null ? null : (cpuMicros(target.store.pid) - storeBefore) / done,
    errors: done - ok + result.errors + result.timeouts
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
  const upstream = await startUpstream()
  const want = (name: string): boolean => ONLY === undefined || ONLY.some((part) => name.includes(part))
  const targets: Target[] = []
  if (want('direct')) targets.push({ name: 'direct upstream', url: upstream, headers: {}, proxy: null, store: null })
  targets.push(await startBareProxy(upstream))
  if (want('nginx')) {
    if (has('nginx')) targets.push(await startNginx(upstream))
    else process.stderr.write('  (nginx is not installed: its row is left out)\n')
  }
  if (want('embedded')) targets.push(await startGateway('gateway, embedded store', upstream, {}, null))
  for (const [name, env] of Object.entries(JSON.parse(process.env.BENCH_VARIANTS ?? '{}') as Record<string, Record<string, string>>)) {
    targets.push(await startGateway(`gateway, ${name}`, upstream, env, null))
  }
  if (want('redis')) {
    const redisBackend = existsSync('dist/src/stores/redis/index.js')
    if (redisBackend && has('redis-server')) {
      const redis = await startRedis()
      targets.push(await startGateway('gateway, Redis store', upstream, { LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url }, redis.server))
    } else {
      process.stderr.write(`  (${redisBackend ? 'redis-server is not installed' : 'the Redis backend is not built'}: its row is left out)\n`)
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
      process.stderr.write(`  round ${round + 1}/${ROUNDS} ${target.name}: ${fixed(sample.rps)} req/s, p50 ${sample.p50} ms, p99 ${sample.p99} ms, ${fixed(sample.cpuUs, 1)} µs CPU/req${sample.errors > 0 ? `, ${sample.errors} errors` : ''}\n`)
    }
  }

  const bare = samples.get(targets.find((target) => target.name.startsWith('bare')) as Target) as Sample[]
  const header = ['configuration', 'req/s', 'p50 ms', 'p99 ms', 'proxy CPU µs/req', 'store CPU µs/req', '× bare req/s', '× bare (per round)', 'errors']
  const rows = targets.map((target) => {
    const list = samples.get(target) as Sample[]
    const rps = median(list.map((s) => s.rps))
    return [
      target.name,
      fixed(rps),
      fixed(median(list.map((s) => s.p50))),
      fixed(median(list.map((s) => s.p99))),
      target.proxy === null ? '—' : fixed(median(list.map((s) => s.cpuUs as number)), 1),
      target.store === null ? '—' : fixed(median(list.map((s) => s.storeUs as number)), 1),
      fixed(rps / median(bare.map((s) => s.rps)), 2),
      fixed(median(list.map((s, i) => s.rps / (bare[i] as Sample).rps)), 2),
      String(list.reduce((n, s) => n + s.errors, 0))
    ]
  })
  process.stdout.write(`\n${machine}; medians of ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections, ~1 KB responses\n\n`)
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`)
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`)
}

try {
  await main()
} finally {
  for (const started of processes.reverse()) await stop(started)
  rmSync(work, { recursive: true, force: true })
}
