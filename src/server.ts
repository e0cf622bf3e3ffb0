// The process edge: load config, build the app, listen, close with grace. Nothing else lives here.
// With LOCKBOX_WORKERS > 1 this file runs as the cluster primary (src/cluster/primary.ts supervises)
// and again in each worker, which serves as a single process would and talks to the primary over IPC.
import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load-config.js'
import { buildApp, loggerOptions } from './app.js'
import { processLink, type WorkerLink } from './cluster/messages.js'
import { superviseWorkers } from './cluster/primary.js'
import { closeIdleOnceFlushed } from './idle-connections.js'

/** How long requests in flight may drain before transfers still streaming are cut. */
const DRAIN_MS = 5_000
/** After this, close-with-grace gives up on a clean close and exits 1. */
const GRACE_MS = 10_000

/* c8 ignore start -- used by the start-up banner only (see below) */
/** A URL as it may be printed: user and password removed. */
function withoutCredentials (url: string): string {
  const shown = new URL(url)
  shown.username = ''
  shown.password = ''
  return shown.toString()
}
/* c8 ignore stop */

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    /* c8 ignore next -- loadConfig throws ConfigError for every bad setting; anything else is a bug, reported by main's catch */
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`lockbox-gateway: ${err.message}\n`)
    process.exit(1)
  }
  if (cluster.isPrimary && config.workers > 1) {
    const log = pino(loggerOptions(config, process.stdout.isTTY) as object)
    process.exit(await superviseWorkers(config, log.child({ role: 'primary' })))
  }
  await serve(config, cluster.isWorker ? processLink() : null)
}

/** One gateway process: alone, or one of the cluster's workers (`link` to its primary). */
async function serve (config: LoadedConfig, link: WorkerLink | null): Promise<void> {
  // The primary's word to drain may come while the app is still being built: kept until it can be acted on.
  let shutdown: (() => void) | null = null
  let shutdownAsked = false
  const askShutdown = (): void => {
    shutdownAsked = true
    shutdown?.()
  }
  link?.on((message) => { if (message.lockbox === 'shutdown') askShutdown() })
  // The primary gone (killed): this worker no longer gets connections and nobody relays its events.
  if (link !== null) process.once('disconnect', askShutdown)

  const app = await buildApp(config, { logger: loggerOptions(config, process.stdout.isTTY), ...(link === null ? {} : { link }) })
  // Idle connections are closed only once no answer's tail waits in a socket's buffer (see there).
  const idle = closeIdleOnceFlushed(app.server)
  // On SIGTERM or SIGINT (or the primary's word): /readyz (and every new request) answers 503 at
  // once, requests in flight drain, the last audit records are committed and the store closes; then
  // exit 0. A transfer still streaming after DRAIN_MS is cut (its record says so), well inside the grace period.
  // In a worker, SIGTERM and SIGINT are taken below instead: one reaching the process group comes to
  // the worker and (as the word to drain) through its primary, and a second signal would make
  // close-with-grace exit 1 mid-drain.
  const skip: Array<'SIGTERM' | 'SIGINT'> = link === null ? [] : ['SIGTERM', 'SIGINT']
  let closing = false
  const graceful = closeWithGrace({ delay: GRACE_MS, skip }, async ({ signal, err }) => {
    closing = true
    /* c8 ignore next -- an uncaught error in a running gateway is not something a test provokes from outside */
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down: draining requests and flushing the audit log')
    const cutLate = setTimeout(() => {
      app.log.warn({ inFlight: app.gateway.inFlight.size }, 'shutting down: cutting transfers still under way')
      app.gateway.inFlight.cutAll('Shutdown')
      // And a connection whose answer ended but whose client stopped reading its tail.
      idle.cut()
    }, DRAIN_MS)
    // The server closes the connections idle when the close begins; one whose answer ends later
    // would stay open until its keep-alive timeout (a client or load balancer need not close it).
    // Each sweep waits while an answer's tail is still queued for its client, so none is cut.
    const closeIdle = setInterval(() => { app.server.closeIdleConnections() }, 100)
    await app.close()
    clearTimeout(cutLate)
    clearInterval(closeIdle)
  })
  shutdown = () => { if (!closing) graceful.close() }
  for (const signal of skip) process.on(signal, askShutdown)
  /* c8 ignore next 4 -- the word to drain before this worker listens: a sibling failed its first start meanwhile, a race no test can order */
  if (shutdownAsked) {
    shutdown()
    return
  }
  const base = await app.listen({ host: config.host, port: config.port })
  /* c8 ignore start -- the banner's variants follow the configuration; the server test reads the default one */
  const lines = [
    '',
    `Lockbox Gateway listening on ${base}`,
    ...(link === null ? [] : [`  processes: ${config.workers} (LOCKBOX_WORKERS), sharing the port`]),
    `  store: ${config.store}${config.store === 'embedded' ? ` (${config.dataDir})` : ` (${withoutCredentials(config.redisUrl)})`}`,
    `  admin center: ${base}/admin/`,
    `  API docs: ${base}/docs`,
    `  mail to approvers and engineers: ${app.mailDestination}${config.smtpUrl === null ? ' (LOCKBOX_SMTP_URL is not set)' : ''}`,
    `  webhook: ${config.webhookUrl === null ? 'none (LOCKBOX_WEBHOOK_URL is not set)' : withoutCredentials(config.webhookUrl)}`
  ]
  if (app.devIssuer !== null) {
    lines.push(
      '',
      '  !! DEV IDENTITY ISSUER ENABLED: LOCKBOX_OIDC_ISSUER is not set, so anyone can mint identity tokens.',
      '  !! Never run this configuration in production.',
      '',
      `  Sign in at ${base}/admin/ or with \`lockbox login\` through the dev OpenID provider (${base}/dev/oidc),`,
      '  or get a token directly (users are in config/dev-users.json):',
      `    curl -s -X POST ${base}/dev/token -H 'content-type: application/json' -d '{"user":"eng-ada"}'`
    )
  }
  /* c8 ignore stop */
  // In a cluster the primary prints it once, when every worker listens.
  if (link === null) process.stdout.write(lines.join('\n') + '\n\n')
  else link.send({ lockbox: 'ready', banner: lines.join('\n') + '\n\n' })
}

/* c8 ignore start -- start-up failures other than configuration ones (a port in use, say) */
main().catch((err: unknown) => {
  process.stderr.write(`lockbox-gateway: failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
/* c8 ignore stop */
