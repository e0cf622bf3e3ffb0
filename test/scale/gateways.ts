// Real gateway processes for the scale tests: `src/server.ts` spawned with this test's TypeScript
// loader, on ports picked here, sharing one data dir (signing key, dev issuer key) and one Redis;
// plus a stand-in content service that counts what reaches it.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../helpers/redis.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Answer { status: number, body: any }

export interface Gateway {
  base: string
  /** Calls the gateway as a dev user (POST /dev/token), or with `bearer` as the token as is. */
  call: (method: string, path: string, options?: { user?: string, bearer?: string, body?: unknown }) => Promise<Answer>
  ready: () => Promise<boolean>
  stop: () => Promise<void>
}

export async function startGateway (env: Record<string, string>): Promise<Gateway> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  // Only this test's settings: nothing of the LOCKBOX_* environment the tests themselves run in.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKBOX_')))
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], {
    cwd: ROOT,
    env: { ...inherited, ...env, LOCKBOX_HOST: '127.0.0.1', LOCKBOX_PORT: String(port), LOCKBOX_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4000) })
  child.stderr?.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4000) })
  const tokens = new Map<string, string>()

  async function call (method: string, path: string, options: { user?: string, bearer?: string, body?: unknown } = {}): Promise<Answer> {
    let bearer = options.bearer
    if (options.user !== undefined) {
      bearer = tokens.get(options.user)
      if (bearer === undefined) {
        bearer = (await call('POST', '/dev/token', { body: { user: options.user } })).body.token as string
        tokens.set(options.user, bearer)
      }
    }
    const res = await fetch(base + path, {
      method,
      headers: { ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: options.body === undefined ? undefined : JSON.stringify(options.body)
    })
    const text = await res.text()
    return { status: res.status, body: text === '' ? null : JSON.parse(text) }
  }

  const ready = async (): Promise<boolean> => {
    try {
      return (await fetch(`${base}/readyz`)).status === 200
    } catch {
      return false
    }
  }
  for (let tries = 0; !await ready(); tries++) {
    if (child.exitCode !== null || tries === 600) {
      child.kill('SIGKILL')
      throw new Error(`the gateway on ${port} did not get ready:\n${output}`)
    }
    await sleep(50)
  }
  return {
    base,
    call,
    ready,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
  }
}

export interface CountingUpstream { url: string, count: () => number, close: () => Promise<void> }

/** A content service on 127.0.0.1:0 that answers every request with a small JSON body and counts them. */
export async function startCountingUpstream (): Promise<CountingUpstream> {
  let count = 0
  const server: Server = createServer((req, res) => {
    count++
    req.resume()
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ path: req.url }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    count: () => count,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
