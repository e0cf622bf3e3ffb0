// The processes a bench drives, each started on its own loopback port: the stand-in upstream, the
// bare @fastify/http-proxy, nginx, a Redis server and the gateway itself (from dist/, as `npm start`
// runs it). Everything started here is stopped, and its files removed, by `stopAll`.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accessToken } from './grant.js'
import { freePort, ready, start, stop, type Started } from './processes.js'

/** The content path every configuration is asked for (a ~1 KB JSON answer). */
export const PATH = '/exchange/contoso/mailboxes/alice@contoso.com/messages'

export interface Target {
  name: string
  url: string
  headers: Record<string, string>
  /** The process whose CPU is the proxy's cost (none for the upstream itself). */
  proxy: Started | null
  /** A store server next to it, whose CPU is reported apart. */
  store: Started | null
}

export function has (command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The Redis backend runs when it is built and a redis-server is installed. */
export function redisAvailable (): boolean {
  return existsSync('dist/src/stores/redis/index.js') && has('redis-server') && has('redis-cli')
}

const work = mkdtempSync(join(tmpdir(), 'lockbox-bench-'))
const processes: Started[] = []
const launch = (...args: Parameters<typeof start>): Started => {
  const started = start(...args)
  processes.push(started)
  return started
}

export async function stopAll (): Promise<void> {
  for (const started of processes.reverse()) await stop(started)
  rmSync(work, { recursive: true, force: true })
}

export async function startUpstream (): Promise<string> {
  const port = await freePort()
  launch('upstream', process.execPath, ['dist/bench/upstream.js', String(port)])
  const url = `http://127.0.0.1:${port}`
  await ready('upstream', url + '/')
  return url
}

export async function startBareProxy (upstream: string): Promise<Target> {
  const port = await freePort()
  const proxy = launch('bare proxy', process.execPath, ['dist/bench/bare-proxy.js', String(port), upstream])
  const url = `http://127.0.0.1:${port}`
  await ready('bare proxy', url + PATH)
  return { name: 'bare @fastify/http-proxy', url, headers: {}, proxy, store: null }
}

export async function startNginx (upstream: string): Promise<Target> {
  const port = await freePort()
  const dir = join(work, 'nginx')
  mkdirSync(dir, { recursive: true })
  // One process, one worker: the same single core a Node process gets; keep-alive to the upstream.
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
      proxy_pass http://content/tenants/;
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

function redisAnswers (port: number): boolean {
  try {
    return execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() === 'PONG'
  } catch {
    return false
  }
}

/** A redis-server of its own with durable audit: every write is in the fsync'd append-only file before Redis answers. */
export async function startRedis (): Promise<{ server: Started, url: string }> {
  const port = await freePort()
  const dir = mkdtempSync(join(work, 'redis-'))
  const server = launch('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'])
  const giveUpAt = Date.now() + 10_000
  while (!redisAnswers(port)) {
    if (Date.now() > giveUpAt) throw new Error('redis-server did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { server, url: `redis://127.0.0.1:${port}` }
}

/**
 * The gateway as `npm start` runs it (info logs, here to /dev/null), on a fresh data dir, with an
 * approved request walked through its API and the engineer's access token in `headers`.
 */
/** With LOCKBOX_WORKERS: waits until `count` distinct processes answer, each on a fresh connection. */
async function allWorkers (name: string, url: string, count: number): Promise<void> {
  const seen = new Set<number>()
  const giveUpAt = Date.now() + 60_000
  while (seen.size < count) {
    if (Date.now() > giveUpAt) throw new Error(`${name}: only ${seen.size} of ${count} processes answered within 60 s`)
    const res = await fetch(url + '/healthz', { headers: { connection: 'close' } })
    seen.add(((await res.json()) as { pid: number }).pid)
  }
}

export async function startGateway (name: string, upstream: string, options: { env?: Record<string, string>, store?: Started | null, nodeArgs?: string[] } = {}): Promise<Target> {
  const port = await freePort()
  const dataDir = mkdtempSync(join(work, 'gateway-'))
  const proxy = launch(name, process.execPath, [...(options.nodeArgs ?? []), 'dist/src/server.js'], {
    env: {
      LOCKBOX_PORT: String(port),
      LOCKBOX_DATA_DIR: dataDir,
      LOCKBOX_UPSTREAM_EXCHANGE: upstream,
      LOCKBOX_UPSTREAM_SHAREPOINT: upstream,
      LOCKBOX_UPSTREAM_ONEDRIVE: upstream,
      LOCKBOX_LOG_LEVEL: 'info',
      ...options.env
    }
  })
  const url = `http://127.0.0.1:${port}`
  await ready(name, url + '/readyz')
  await allWorkers(name, url, Number(options.env?.LOCKBOX_WORKERS ?? 1))
  const token = await accessToken(url)
  return { name, url, headers: { authorization: `Bearer ${token}` }, proxy, store: options.store ?? null }
}
