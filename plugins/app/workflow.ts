// Builds the workflow context from the app's stores, tenants and clock, and runs the expiry sweeper.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/schema.js'
import type { WorkflowContext } from '../../src/workflow/context.js'
import { startSweeper } from '../../src/workflow/sweeper.js'
import { relyingPartyOf } from '../../src/passkeys/webauthn.js'

declare module 'fastify' {
  interface FastifyInstance {
    workflow: WorkflowContext
  }
}

async function workflow (app: FastifyInstance, options: { config: Config, sweep: boolean }): Promise<void> {
  const ctx: WorkflowContext = {
    stores: app.stores,
    tenants: app.tenants,
    pendingTtlMs: options.config.pendingTtlMs,
    maxAccessMs: options.config.maxAccessMs,
    now: app.now,
    notices: { publicUrl: options.config.publicUrl, webhook: options.config.webhookUrl !== null },
    relyingParty: relyingPartyOf(options.config.publicUrl),
    notificationsQueued: () => { app.notifier.kick() }
  }
  app.decorate('workflow', ctx)
  if (options.sweep) {
    let sweeper: { stop: () => Promise<void> } | null = null
    app.addHook('onReady', async () => { sweeper = startSweeper(ctx, options.config.sweepIntervalMs, app.log) })
    app.addHook('preClose', async () => { await sweeper?.stop() })
  }
}

export default fp(workflow, { name: 'workflow', dependencies: ['clock', 'stores', 'tenants', 'notifications'] })
