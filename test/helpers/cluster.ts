// A real gateway cluster for tests: `src/server.ts` run as a process with LOCKBOX_WORKERS, its
// workers forked by its primary and sharing one port. Connections are spread over the workers, so a
// test reaches one chosen process through a client pinned to one keep-alive connection, and
// `/healthz` says which process that connection landed on.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client } from 'undici'
import { freePort } from './redis.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface GatewayCluster {
  base: string
  port: number
  /** The primary. */
  child: ChildProcess
  exited: Promise<number | null>
  output: () => string
  /** Resolves once the output matches `pattern` (rejects after `timeoutMs`). */
  waitForOutput: (pattern: RegExp, timeoutMs?: number) => Promise<void>
}

export interface Answer { status: number, headers: Record<string, string | string[] | undefined>, text: string, json: () => any }

/** A client on one connection, so on one worker process. */
export interface Pinned {
  pid: number
  call: (method: string, path: string, options?: { bearer?: string, body?: unknown }) => Promise<Answer>
  /**
   * A GET whose body is read slowly (a pause after each chunk), so its transfer stays in flight in
   * this process for a long while; `ended` settles when the body ends or is cut. The client is of
   * no further use afterwards.
   */
  slowGet: (path: string, bearer: string) => Promise<{ status: number, headers: Answer['headers'], ended: Promise<{ complete: boolean, bytes: number }> }>
  close: () => Promise<void>
}

export async function startCluster (env: Record<string, string>, readyTimeoutMs = 240_000): Promise<GatewayCluster> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKBOX_')))
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    cwd: ROOT,
    env: { ...inherited, LOCKBOX_HOST: '127.0.0.1', LOCKBOX_PORT: String(port), LOCKBOX_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const waiters = new Set<() => void>()
  const take = (chunk: Buffer): void => {
    output += chunk.toString()
    for (const wake of waiters) wake()
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const waitForOutput = async (pattern: RegExp, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!pattern.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${String(pattern)} in the output:\n${output.slice(-6000)}`)
      await new Promise<void>((resolve) => {
        waiters.add(resolve)
        setTimeout(resolve, 200)
      }).finally(() => { waiters.clear() })
    }
  }
  // The primary prints the banner once every worker listens.
  try {
    await waitForOutput(/Lockbox Gateway listening on/, readyTimeoutMs)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return { base, port, child, exited, output: () => output, waitForOutput }
}

function pinnedClient (base: string): { client: Client, call: Pinned['call'] } {
  const client = new Client(base, { pipelining: 1, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000 })
  const call: Pinned['call'] = async (method, path, options = {}) => {
    const { bearer, body } = options
    const res = await client.request({
      method: method as 'GET',
      path,
      headers: { ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }
  }
  return { client, call }
}

/** One client pinned to each of `count` distinct worker processes. */
export async function pinWorkers (base: string, count: number): Promise<Pinned[]> {
  const found = new Map<number, Pinned>()
  for (let tries = 0; found.size < count; tries++) {
    if (tries === 100) throw new Error(`reached only ${found.size} of ${count} worker processes`)
    const { client, call } = pinnedClient(base)
    const { pid } = (await call('GET', '/healthz')).json() as { pid: number }
    if (found.has(pid)) {
      await client.close()
      await sleep(10)
      continue
    }
    found.set(pid, {
      pid,
      // Every answer must come from this process: a reconnect to another would make the test lie.
      call: async (method, path, options) => {
        const answer = await call(method, path, options)
        const now = (await call('GET', '/healthz')).json().pid
        if (now !== pid) throw new Error(`the pinned connection moved from process ${pid} to ${String(now)}`)
        return answer
      },
      async slowGet (path, bearer) {
        const res = await client.request({ method: 'GET', path, headers: { authorization: `Bearer ${bearer}` } })
        let bytes = 0
        const ended = new Promise<{ complete: boolean, bytes: number }>((resolve) => {
          res.body.on('data', (chunk: Buffer) => {
            bytes += chunk.length
            res.body.pause()
            setTimeout(() => { res.body.resume() }, 50)
          })
          res.body.once('end', () => { resolve({ complete: true, bytes }) })
          res.body.once('error', () => { resolve({ complete: false, bytes }) })
        })
        return { status: res.statusCode, headers: res.headers, ended }
      },
      close: async () => { await client.destroy() }
    })
  }
  return [...found.values()]
}
