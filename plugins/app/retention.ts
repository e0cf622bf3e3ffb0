// Audit retention (LOCKBOX_AUDIT_RETENTION): prunes the records older than the retention once the
// app is ready and every hour after. The store keeps each tenant's chain verifiable from its anchor.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'

const HOUR_MS = 3_600_000

export interface RetentionOptions {
  config: Config
  /** How often to prune; an hour unless a test wants it sooner. */
  intervalMs?: number
}

async function retention (app: FastifyInstance, options: RetentionOptions): Promise<void> {
  const retentionMs = options.config.auditRetentionMs
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  /** A failed run is only logged: the next one prunes what this one could not. */
  async function pruneExpiredRecords (): Promise<void> {
    const before = app.now() - retentionMs
    try {
      const pruned = await app.stores.audit.prune(before)
      app.log[pruned > 0 ? 'info' : 'debug']({ pruned, before: new Date(before).toISOString() }, 'audit retention: pruned records')
    } catch (err) {
      app.log.error({ err }, 'audit retention failed; the next run tries again')
    }
  }

  // Runs never overlap: a slow compaction delays the next one instead of racing it.
  const schedule = (): void => { running = running.then(pruneExpiredRecords) }

  app.addHook('onReady', async () => {
    schedule()
    timer = setInterval(schedule, options.intervalMs ?? HOUR_MS)
    timer.unref()
  })
  // Before the stores close: a run under way finishes (or stops at its next check) first.
  app.addHook('preClose', async () => {
    clearInterval(timer)
    await running
  })
}

export default fp(retention, { name: 'retention', dependencies: ['stores', 'clock'] })
