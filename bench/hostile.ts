// npm run bench:hostile — a flood of requests with a forged access token, from one address, at a
// gateway where another tenant's engineer is working. Measured side by side in one run: the records
// and log bytes the flood wrote into the attacked tenant's log, the gateway's memory (RSS, and the
// live heap after a full GC) before and after, and the engineer's p50/p99 while it was quiet and
// during the flood. The refusal budget's goals (docs/security.md): past the budget at most one
// record per source per second, memory growth ≤ 20 MiB, the engineer's p99 ≤ 2× quiet.
// The flood comes in HOSTILE_ROUNDS (5) parts, each after HOSTILE_QUIET_SECONDS (5) of quiet, so
// that quiet and flooded windows see the same background load on a shared machine; the flood's
// client runs at the lowest priority, as a stand-in for an attacker on another machine.
// HOSTILE_REQUESTS (default 100000), HOSTILE_CONNECTIONS (200), HOSTILE_ENGINEER_RATE (req/s, 100),
// HOSTILE_STORE (redis when installed, else embedded); HOSTILE_UNBUDGETED=n also floods a gateway
// whose budget is out of reach with n requests, for the record growth the budget prevents.
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { identityToken, accessToken } from './grant.js'
import { connectLiveHeap } from './live-heap.js'
import { cpuMicros, freePort, rssBytes } from './processes.js'
import { redisAvailable, startGateway, startRedis, startUpstream, stopAll, type Target } from './targets.js'

const REQUESTS = Number(process.env.HOSTILE_REQUESTS ?? 100_000)
const CONNECTIONS = Number(process.env.HOSTILE_CONNECTIONS ?? 200)
const ENGINEER_RATE = Number(process.env.HOSTILE_ENGINEER_RATE ?? 100)
const QUIET_SECONDS = Number(process.env.HOSTILE_QUIET_SECONDS ?? 5)
const UNBUDGETED = Number(process.env.HOSTILE_UNBUDGETED ?? 0)
// Redis by default, as bench:soak: the embedded store keeps every audit record's text in the
// gateway's memory by design, and the engineer's own records would show as the flood's growth.
const STORE = process.env.HOSTILE_STORE ?? (redisAvailable() ? 'redis' : 'embedded')
/** Sent, and summarised, before anything is measured: the refusal path's first use (compiling, lazy set-up) is not growth. */
const WARM_UP_REQUESTS = 2000
const ROUNDS = Number(process.env.HOSTILE_ROUNDS ?? 5)
/** Past the default summary interval (PT10S): the last summaries are written by then. */
const SETTLE_SECONDS = 11

const ENGINEER_PATH = '/exchange/fabrikam/mailboxes/adele@fabrikam.com/messages'
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
/** Well-formed, signed by no key the gateway knows: refused after its header is read. */
const FORGED = `Bearer ${b64({ alg: 'EdDSA', typ: 'lockbox-access+jwt', kid: 'forged' })}.${b64({ requestId: 'x', tenantId: 'contoso' })}.${'A'.repeat(86)}`

const MiB = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

interface Outcome {
  name: string
  floodSeconds: number
  /** The gateway's CPU time during the flood, µs: the engineer's share included. */
  cpuUs: number
  answers: Record<string, number>
  records: number
  summaries: number
  counted: number
  logBytes: number
  rss: [number, number, number]
  heap: [number, number]
  /** From the flood's start to the last summary written. */
  spanSeconds: number
  rounds: Array<{ quiet: Window, flooded: Window }>
}

async function call (base: string, path: string, token: string): Promise<Response> {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } })
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return res
}

interface Flood { duration: number, statusCodeStats?: Record<string, { count?: number }>, errors: number, timeouts: number }

/** The flood, from a process of its own (bench/flood.ts). */
async function floodFrom (url: string, requests: number): Promise<Flood> {
  // At the lowest priority: on one shared machine the flood's own client would otherwise take the CPU
  // the gateway and the engineer's client need, which an attacker on another machine does not.
  const child = spawn('nice', ['-n', '19', process.execPath, 'dist/bench/flood.js', url, String(requests), String(CONNECTIONS), FORGED], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  if (code !== 0) throw new Error(`the flood exited with ${String(code)}`)
  return JSON.parse(output) as Flood
}

async function engineerLoad (target: string, token: string, seconds: number): Promise<autocannon.Result> {
  return await autocannon({ url: target + ENGINEER_PATH, connections: 4, overallRate: ENGINEER_RATE, duration: seconds, headers: { authorization: `Bearer ${token}` } })
}

/** The engineer's p50/p99 in one window. */
interface Window { p50: number, p99: number, errors: number }

const windowOf = (result: autocannon.Result): Window => ({ p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx })

/** The engineer at work while `during` runs. */
async function engineerWhile (target: string, token: string, during: Promise<void>): Promise<Window> {
  let done: (result: autocannon.Result) => void = () => {}
  const finished = new Promise<autocannon.Result>((resolve) => { done = resolve })
  const run = autocannon({ url: target + ENGINEER_PATH, connections: 4, overallRate: ENGINEER_RATE, duration: 3600, headers: { authorization: `Bearer ${token}` } }, (_err, result) => { done(result) })
  await during
  run.stop()
  return windowOf(await finished)
}

async function scenario (name: string, upstream: string, env: Record<string, string>, requests: number): Promise<Outcome> {
  const inspector = await freePort()
  let storeEnv: Record<string, string> = {}
  if (STORE === 'redis') {
    const redis = await startRedis()
    storeEnv = { LOCKBOX_STORE: 'redis', LOCKBOX_REDIS_URL: redis.url }
  }
  const target: Target = await startGateway(name, upstream, { env: { ...storeEnv, ...env }, nodeArgs: [`--inspect=127.0.0.1:${inspector}`] })
  const pid = (target.proxy as { pid: number }).pid
  const heap = await connectLiveHeap(inspector)
  const engineer = await accessToken(target.url, '/mailboxes/adele@fabrikam.com', 'fabrikam')
  const reader = await identityToken(target.url, 'sec-erin')
  const head = async (): Promise<number> => (await (await call(target.url, '/v1/audit/verify?tenantId=contoso', reader)).json() as { headSeq: number }).headSeq

  await engineerLoad(target.url, engineer, 3)
  await floodFrom(target.url, WARM_UP_REQUESTS)
  await sleep(SETTLE_SECONDS * 1000)
  const heapBefore = await heap.measure()
  const rssBefore = rssBytes(pid)
  const headBefore = await head()
  const floodStart = new Date()
  let rssPeak = rssBefore
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssBytes(pid)) }, 250)
  let cpuUs = 0
  let floodSeconds = 0
  const answers: Record<string, number> = {}
  const rounds: Array<{ quiet: Window, flooded: Window }> = []
  // Quiet and flooded windows take turns, so that both see the same background load of a shared machine.
  for (let round = 0; round < ROUNDS; round++) {
    const quiet = windowOf(await engineerLoad(target.url, engineer, QUIET_SECONDS))
    const cpuBefore = cpuMicros(pid)
    let flood: Flood | null = null
    const flooded = await engineerWhile(target.url, engineer, floodFrom(target.url, Math.round(requests / ROUNDS)).then((result) => { flood = result }))
    cpuUs += cpuMicros(pid) - cpuBefore
    const done = flood as unknown as Flood
    floodSeconds += done.duration
    for (const [status, stat] of Object.entries(done.statusCodeStats ?? {})) answers[status] = (answers[status] ?? 0) + (stat.count ?? 0)
    rounds.push({ quiet, flooded })
    process.stderr.write(`  ${name}, round ${round + 1}: engineer p50/p99 quiet ${quiet.p50}/${quiet.p99} ms, flooded ${flooded.p50}/${flooded.p99} ms (flood ${done.duration.toFixed(1)} s)\n`)
  }
  clearInterval(sampler)

  // The last summaries are written within an interval of the flood's end.
  await sleep(SETTLE_SECONDS * 1000)
  const records = await head() - headBefore
  const exported = await (await call(target.url, `/v1/audit/export?tenantId=contoso&operation=ContentAccessDenied&from=${encodeURIComponent(floodStart.toISOString())}`, reader)).text()
  const lines = exported.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { details: { summary?: boolean, count?: number } })
  const summaries = lines.filter((record) => record.details.summary === true)
  const heapAfter = await heap.measure()
  const rssAfter = rssBytes(pid)
  heap.close()
  return {
    name,
    floodSeconds,
    spanSeconds: (Date.now() - floodStart.getTime()) / 1000,
    cpuUs,
    answers,
    records,
    summaries: summaries.length,
    counted: summaries.reduce((sum, record) => sum + (record.details.count ?? 0), 0) + lines.length - summaries.length,
    logBytes: Buffer.byteLength(exported),
    rss: [rssBefore, rssPeak, rssAfter],
    heap: [heapBefore, heapAfter],
    rounds
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** The engineer's medians over the rounds, and the median of each round's flooded ÷ quiet ratio. */
function latencies (o: Outcome): { quiet: Window, flooded: Window, p50Ratio: number, p99Ratio: number } {
  const pick = (side: 'quiet' | 'flooded', key: keyof Window): number => median(o.rounds.map((round) => round[side][key]))
  return {
    quiet: { p50: pick('quiet', 'p50'), p99: pick('quiet', 'p99'), errors: o.rounds.reduce((sum, round) => sum + round.quiet.errors, 0) },
    flooded: { p50: pick('flooded', 'p50'), p99: pick('flooded', 'p99'), errors: o.rounds.reduce((sum, round) => sum + round.flooded.errors, 0) },
    p50Ratio: median(o.rounds.map((round) => round.flooded.p50 / round.quiet.p50)),
    p99Ratio: median(o.rounds.map((round) => round.flooded.p99 / round.quiet.p99))
  }
}

async function main (): Promise<void> {
  if (STORE === 'redis' && !redisAvailable()) throw new Error('HOSTILE_STORE=redis needs redis-server and redis-cli')
  process.stderr.write(`lockbox bench:hostile: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, load average ${loadavg().map((n) => n.toFixed(1)).join(' ')}, ${STORE} store; ${REQUESTS} forged-token requests over ${CONNECTIONS} connections from one address, in ${ROUNDS} rounds, each after ${QUIET_SECONDS} s of quiet; another tenant's engineer at ${ENGINEER_RATE} req/s throughout\n`)
  const upstream = await startUpstream()
  const outcomes = [await scenario('budget (defaults)', upstream, {}, REQUESTS)]
  if (UNBUDGETED > 0) outcomes.push(await scenario('no budget', upstream, { LOCKBOX_REFUSAL_BUDGET: '999999999', LOCKBOX_REFUSAL_TENANT_BUDGET: '999999999' }, UNBUDGETED))

  process.stdout.write('\n| gateway | flood requests | flood s | gateway CPU % while flooded | answers | records written (contoso) | of them summaries | refusals on record | log bytes | bytes per flood request | RSS before → peak → after MiB | live heap before → after MiB | engineer p50 quiet → flooded ms | engineer p99 quiet → flooded ms | p50, p99 ratio (median of rounds) |\n')
  process.stdout.write('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n')
  for (const o of outcomes) {
    const total = Object.values(o.answers).reduce((a, b) => a + b, 0)
    const answers = Object.entries(o.answers).map(([status, count]) => `${status}: ${count}`).join(', ')
    const l = latencies(o)
    process.stdout.write(`| ${o.name} | ${total} | ${o.floodSeconds.toFixed(1)} | ${(o.cpuUs / 1e4 / o.floodSeconds).toFixed(0)} | ${answers} | ${o.records} | ${o.summaries} | ${o.counted} | ${o.logBytes} | ${(o.logBytes / total).toFixed(1)} | ${MiB(o.rss[0])} → ${MiB(o.rss[1])} → ${MiB(o.rss[2])} | ${MiB(o.heap[0])} → ${MiB(o.heap[1])} | ${l.quiet.p50} → ${l.flooded.p50} | ${l.quiet.p99} → ${l.flooded.p99} | ${l.p50Ratio.toFixed(2)}, ${l.p99Ratio.toFixed(2)} |\n`)
  }
  const budgeted = outcomes[0] as Outcome
  const l = latencies(budgeted)
  const individual = budgeted.records - budgeted.summaries
  const growth = Math.max(budgeted.rss[2] - budgeted.rss[0], budgeted.heap[1] - budgeted.heap[0])
  process.stdout.write(`\nbudget: ${individual} refusals recorded one by one, then ${budgeted.summaries} summaries in ${budgeted.spanSeconds.toFixed(0)} s (${(budgeted.summaries / budgeted.spanSeconds).toFixed(2)} records per second for the one source; goal ≤ 1)\n`)
  process.stdout.write(`every refusal on record: ${budgeted.counted === REQUESTS ? 'yes' : `NO (${budgeted.counted} of ${REQUESTS})`}\n`)
  process.stdout.write(`memory growth (after − before, the larger of RSS and live heap): ${MiB(growth)} MiB (goal ≤ 20)\n`)
  process.stdout.write(`engineer p99 while flooded: ${l.p99Ratio.toFixed(2)}× quiet (median of the rounds; goal ≤ 2); ${l.flooded.errors} errors\n`)
  process.stdout.write(`load average after: ${loadavg().map((n) => n.toFixed(1)).join(' ')} (the CPU is shared with whatever else runs: compare the rows and ratios of one run, not absolute numbers across runs)\n`)
}

try {
  await main()
} finally {
  await stopAll()
}
