// The process edge: load config, build the app, listen, close with grace. Nothing else lives here.
import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig } from '../config/load-config.js'
import { buildApp, loggerOptions } from './app.js'

/** A URL as it may be printed: user and password removed. */
function withoutCredentials (url: string): string {
  const shown = new URL(url)
  shown.username = ''
  shown.password = ''
  return shown.toString()
}

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`lockbox-gateway: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const app = await buildApp(config, { logger: loggerOptions(config, process.stdout.isTTY) })
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down: draining requests and flushing the audit log')
    await app.close()
  })
  await app.listen({ host: config.host, port: config.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  const lines = [
    '',
    `Lockbox Gateway listening on ${base}`,
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
      '  Get a first token (users are in config/dev-users.json):',
      `    curl -s -X POST ${base}/dev/token -H 'content-type: application/json' -d '{"user":"eng-ada"}'`
    )
  }
  process.stdout.write(lines.join('\n') + '\n\n')
}

main().catch((err: unknown) => {
  process.stderr.write(`lockbox-gateway: failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
