// The cluster primary (LOCKBOX_WORKERS > 1). It serves no request itself: it makes what must exist
// once (the signing key file, the dev issuer's key, the built-in mock content services, so every
// worker forwards to the same upstreams), forks the workers that share the port, restarts a worker
// that dies, relays between them (hub.ts), and on SIGTERM or SIGINT has every worker drain as a
// single process would, then exits: 0 once all have exited cleanly.
import cluster, { type Worker } from 'node:cluster'
import { createLocalJWKSet } from 'jose'
import type { Logger } from 'pino'
import type { LoadedConfig } from '../../config/load-config.js'
import { DEV_AUDIENCE, DEV_OIDC_PREFIX } from '../identity/dev-client.js'
import { WORKLOADS } from '../domain/lockbox.js'
import { GATEWAY_ISSUER } from '../gateway/access-token.js'
import { openSigningKeys } from '../gateway/signing-keys.js'
import { openDevIssuer } from '../identity/dev-issuer.js'
import { startMockServices, type MockServices } from '../mocks/index.js'
import { Hub } from './hub.js'
import { isLockboxMessage, type ToPrimary, type ToWorker } from './messages.js'

export interface SupervisorTiming {
  /** First restart delay after a crash; doubled for each crash in a row, up to `restartMaxMs`. */
  restartMinMs: number
  restartMaxMs: number
  /** A worker that served this long before it died was not crash-looping: its restart starts over at the minimum. */
  stableMs: number
  /** Past the workers' own grace (server.ts): whoever still runs is killed, and the exit is 1. */
  shutdownMs: number
}

const TIMING: SupervisorTiming = { restartMinMs: 100, restartMaxMs: 30_000, stableMs: 60_000, shutdownMs: 15_000 }

interface Running { worker: Worker, startedAt: number, ready: boolean, stoppedUnready?: boolean }

function send (worker: Worker, message: ToWorker): void {
  // A worker whose channel is closing is on its way out; its exit is handled where it is reported.
  if (worker.isConnected()) worker.send(message, undefined, () => {})
}

/**
 * Runs in the primary when `config.workers` is above 1 (server.ts decides). Resolves with the exit
 * code once every worker has exited.
 */
export async function superviseWorkers (config: LoadedConfig, log: Logger, timing: SupervisorTiming = TIMING): Promise<number> {
  const count = config.workers
  // Made before any worker starts, so no two processes race to create them (create-once.ts would
  // settle such a race too: this only keeps the workers to reading).
  const keys = await openSigningKeys(config.signingKeyFile)
  if (config.oidc === null) await openDevIssuer({ dataDir: config.dataDir, users: config.devUsers, issuer: `${config.publicUrl}${DEV_OIDC_PREFIX}`, audience: DEV_AUDIENCE })
  const env: Record<string, string> = {}
  let mocks: MockServices | null = null
  if (WORKLOADS.some((w) => config.upstreams[w] === null)) {
    mocks = await startMockServices({ keys: createLocalJWKSet(keys.jwks), issuer: GATEWAY_ISSUER })
    for (const w of WORKLOADS) if (config.upstreams[w] === null) env[`LOCKBOX_UPSTREAM_${w.toUpperCase()}`] = mocks.urls[w]
    log.info({ upstreams: { ...config.upstreams, ...mocks.urls } }, 'built-in mock content services started, once for every worker')
  }

  const hub = new Hub()
  const running = new Map<number, Running>()
  let started = false
  let stopping = false
  let exitCode = 0
  let backoffMs = timing.restartMinMs
  const restarts = new Set<NodeJS.Timeout>()
  let finished!: (code: number) => void
  const done = new Promise<number>((resolve) => { finished = resolve })

  function fork (): void {
    const worker = cluster.fork(env)
    const entry: Running = { worker, startedAt: Date.now(), ready: false }
    running.set(worker.id, entry)
    hub.add({ id: worker.id, send: (message) => { send(worker, message) } })
    worker.on('message', (message: unknown) => {
      /* c8 ignore next -- only our code sends on the channel; this keeps a stray message from being misread */
      if (!isLockboxMessage<ToPrimary>(message)) return
      if (message.lockbox === 'ready') ready(entry, message.banner)
      else hub.receive(worker.id, message)
    })
    worker.on('exit', (code, signal) => { exited(entry, code, signal) })
  }

  function ready (entry: Running, banner: string): void {
    entry.ready = true
    const pid = entry.worker.process.pid
    if (started) {
      log.info({ worker: entry.worker.id, pid }, 'worker restarted and listening')
      return
    }
    log.info({ worker: entry.worker.id, pid }, 'worker listening')
    if ([...running.values()].filter((r) => r.ready).length < count) return
    started = true
    process.stdout.write(banner)
  }

  function exited (entry: Running, code: number | null, signal: string | null): void {
    const { worker } = entry
    running.delete(worker.id)
    hub.remove(worker.id)
    if (stopping) {
      /* c8 ignore next -- a worker failing its own drain (past its grace period, or crashing in it) */
      if (code !== 0 && entry.stoppedUnready !== true) exitCode = 1
      if (running.size === 0) finish()
      return
    }
    if (!started) {
      // The first start failed (a port in use, a store that does not answer): no point forking again.
      log.error({ worker: worker.id, code, signal }, 'a worker failed to start; stopping the others')
      stop(1)
      return
    }
    const lived = Date.now() - entry.startedAt
    /* c8 ignore next -- a worker dying after a minute of service: the test kills one as soon as it has served */
    backoffMs = lived >= timing.stableMs ? timing.restartMinMs : backoffMs
    log.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: backoffMs }, 'a worker died; starting another')
    const timer = setTimeout(() => {
      restarts.delete(timer)
      fork()
    }, backoffMs)
    restarts.add(timer)
    backoffMs = Math.min(backoffMs * 2, timing.restartMaxMs)
  }

  function stop (code: number): void {
    if (stopping) return
    stopping = true
    exitCode = code
    /* c8 ignore next -- a signal in the moment between a worker's death and its replacement */
    for (const timer of restarts) clearTimeout(timer)
    restarts.clear()
    /* c8 ignore next 4 -- a signal while every worker is dead and waiting for its restart: a moment no test can aim at */
    if (running.size === 0) {
      finish()
      return
    }
    log.info({ workers: running.size }, 'shutting down: every worker drains its requests and flushes its audit log')
    for (const entry of running.values()) {
      if (entry.ready) {
        send(entry.worker, { lockbox: 'shutdown' })
      } else {
        // Still starting: it may not listen to the channel yet (a message would be lost), and it
        // has nothing to drain. A signal ends it, gracefully if it got as far as handling one.
        entry.stoppedUnready = true
        entry.worker.process.kill('SIGTERM')
      }
    }
    /* c8 ignore next 5 -- a worker past its own grace (close-with-grace exits it at GRACE_MS) has a hung event loop: not provoked from a test */
    const kill = setTimeout(() => {
      log.error({ workers: [...running.values()].map((r) => r.worker.process.pid) }, 'shutting down: workers still running past the grace period; killing them')
      exitCode = 1
      for (const { worker } of running.values()) worker.process.kill('SIGKILL')
    }, timing.shutdownMs)
    kill.unref()
  }

  function finish (): void {
    const closing = mocks === null ? Promise.resolve() : mocks.close()
    closing.then(() => { finished(exitCode) }, (err: unknown) => {
      /* c8 ignore next 2 -- closing loopback listeners that served their last request does not fail in practice */
      log.error({ err }, 'could not close the mock content services')
      finished(1)
    })
  }

  // A second signal changes nothing: the workers are draining, bounded by `shutdownMs`.
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'shutting down')
    stop(0)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  for (let i = 0; i < count; i++) fork()
  const code = await done
  process.off('SIGTERM', onSignal)
  process.off('SIGINT', onSignal)
  return code
}
