// Real Redis for tests: a `redis-server` started on a free loopback port in a temp dir (or the one
// REDIS_URL names, one logical database per tap job), a random key namespace per test, and cleanup
// by SCAN on a plain client. Never FLUSHALL: the server may not be ours.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import type { HostPort, RedisConnection } from '../../src/stores/redis/connect.js'
import { openRedisStores, type RedisStoreOptions, type RedisStores } from '../../src/stores/redis/index.js'
import type { Test } from '../stores/contract-fixtures.js'

const run = promisify(execFile)

/** A port nobody listens on right now (and, with `bus`, whose cluster bus port + 10000 is free too). */
export async function freePort (bus = false): Promise<number> {
  for (;;) {
    const port = await bindable(0)
    if (!bus || (port + 10000 <= 65535 && await bindable(port + 10000) !== 0)) return port
  }
}

async function bindable (port: number): Promise<number> {
  const server = createServer()
  try {
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    return (server.address() as { port: number }).port
  } catch {
    return 0
  } finally {
    server.close()
  }
}

export interface RedisServer {
  port: number
  url: string
  /** The process id while it runs: tests stop (SIGSTOP) and resume it to play a hung server. */
  pid: () => number
  /** SIGKILL: gone at once, as in a crash. */
  kill: () => Promise<void>
  /** Starts it again on the same port and directory (with its append-only file, if it keeps one). */
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** Starts `redis-server` with `args` on a free loopback port; resolves once it accepts connections. */
export async function startRedisServer (args: string[] = [], options: { port?: number, config?: string } = {}): Promise<RedisServer> {
  let port = options.port ?? await freePort(args.includes('--cluster-enabled'))
  const dir = await mkdtemp(join(tmpdir(), 'lockbox-redis-'))
  let child: ChildProcess | null = null
  const configFile = join(dir, 'redis.conf')
  await writeFile(configFile, options.config ?? '')
  const start = async (): Promise<void> => {
    // A sentinel takes only its own settings (and rewrites its config file as it learns).
    const defaults = args.includes('--sentinel') ? [] : ['--save', '', '--appendonly', 'no']
    const started = spawn('redis-server', [configFile, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--logfile', '', '--protected-mode', 'no', ...defaults, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const ready = new Promise<void>((resolve, reject) => {
      started.stdout.on('data', (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4000)
        if (/Ready to accept connections|Sentinel ID is/.test(output)) resolve()
      })
      started.once('exit', (code) => { reject(new Error(`redis-server on ${port} exited with ${String(code)}: ${output.slice(-500)}`)) })
    })
    started.stderr.resume()
    // A test process that dies (a timeout, a crash) must not leave its servers running.
    const orphaned = (): void => { started.kill('SIGKILL') }
    process.once('exit', orphaned)
    started.once('exit', () => { process.removeListener('exit', orphaned) })
    await ready
    child = started
  }
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child
    child = null
    if (running === null || running.exitCode !== null) return
    const exited = once(running, 'exit')
    running.kill('SIGCONT')
    running.kill(signal)
    await exited
  }
  // freePort's port is free only until another test process binds it first: take another then.
  for (let attempt = 1; ; attempt++) {
    try {
      await start()
      break
    } catch (error) {
      if (options.port !== undefined || attempt === 5 || !/Address already in use/.test(String(error))) throw error
      port = await freePort(args.includes('--cluster-enabled'))
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => (child as ChildProcess).pid as number,
    kill: async () => { await halt('SIGKILL') },
    start,
    stop: async () => {
      await halt('SIGTERM')
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** The URL tests use: REDIS_URL (database TAP_JOB_ID) when set, else a server this file starts and stops. */
export async function redisForTests (t: Test): Promise<string> {
  const shared = process.env.REDIS_URL
  if (shared !== undefined && shared !== '') {
    const url = new URL(shared)
    url.pathname = `/${Number(process.env.TAP_JOB_ID ?? 0) % 16}`
    return url.toString()
  }
  const server = await startRedisServer()
  t.teardown(server.stop)
  return server.url
}

export interface TestCluster { nodes: HostPort[], url: string, stop: () => Promise<void> }

/** Three (or `masters`) cluster-enabled servers joined into one cluster, every slot covered. */
export async function startRedisCluster (masters = 3): Promise<TestCluster> {
  const servers: RedisServer[] = []
  for (let index = 0; index < masters; index++) {
    servers.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']))
  }
  const nodes = servers.map((server) => ({ host: '127.0.0.1', port: server.port }))
  await run('redis-cli', ['--cluster', 'create', ...nodes.map(({ host, port }) => `${host}:${port}`), '--cluster-replicas', '0', '--cluster-yes'])
  for (const { port } of nodes) {
    const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
    await node.connect()
    while (!(await node.cluster('INFO')).includes('cluster_state:ok')) await sleep(50)
    node.disconnect()
  }
  return {
    nodes,
    url: (servers[0] as RedisServer).url,
    stop: async () => { await Promise.all(servers.map(async (server) => { await server.stop() })) }
  }
}

/** A namespace no other test uses. */
export function freshNamespace (): string {
  return `lockbox-test-${randomBytes(6).toString('hex')}`
}

/** Deletes every key of `namespace` by SCAN on a plain (unprefixed) client, node by node in a cluster. */
export async function removeNamespace (connection: RedisConnection, namespace: string): Promise<number> {
  const cluster = connection.clusterNodes !== undefined && connection.clusterNodes.length > 0
  const sentinel = connection.sentinels !== undefined && connection.sentinels.length > 0
  const client = cluster
    ? new Cluster(connection.clusterNodes as HostPort[])
    : sentinel ? new Redis({ sentinels: connection.sentinels, name: connection.sentinelName }) : new Redis(connection.url)
  try {
    if (client instanceof Cluster) await once(client, 'ready')
    const nodes = client instanceof Cluster ? client.nodes('master') : [client]
    let removed = 0
    for (const node of nodes) {
      for await (const keys of node.scanStream({ match: `${namespace}:*`, count: 500 }) as AsyncIterable<string[]>) {
        for (const key of keys) removed += await node.unlink(key)
      }
    }
    return removed
  } finally {
    client.disconnect()
  }
}

/** Opens a store on a fresh namespace; closes it and removes its keys when the test ends. */
export async function openTestStores (t: Test, connection: RedisConnection, options: Partial<RedisStoreOptions> = {}): Promise<RedisStores> {
  const namespace = options.namespace ?? freshNamespace()
  const stores = await openRedisStores({ connection, namespace, connectWaitMs: 2000, ...options })
  t.teardown(async () => {
    await stores.close()
    await removeNamespace(connection, namespace)
  })
  return stores
}
