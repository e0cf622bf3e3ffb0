// Writes down what the clock already decided: awaiting requests past their deadline become Expired,
// approved ones past their window Completed. Correctness never depends on it (status is computed
// from timestamps); it exists so that those transitions get their history entry and audit record.
// With several replicas the compare-and-set makes sure one of them writes each record.
import { effectiveStatus, transition, SYSTEM_ACTOR } from '../domain/lockbox.js'
import { ConflictError } from '../errors.js'
import { draft, type WorkflowContext } from './context.js'
import { requestDetails } from './requests.js'

export interface SweepLog {
  error: (obj: object, msg: string) => void
}

/** One pass; resolves with the number of transitions written. */
export async function sweepOnce (ctx: WorkflowContext): Promise<number> {
  let written = 0
  const now = ctx.now()
  for (const req of await ctx.stores.lockbox.listUnsettledRequests()) {
    const status = effectiveStatus(req, now)
    if (status === req.status) continue
    const result = transition(req, status === 'Expired' ? 'Expire' : 'Complete', { now, actor: SYSTEM_ACTOR, pendingTtlMs: ctx.pendingTtlMs })
    /* c8 ignore next -- effectiveStatus differing from the stored status makes the time-driven transition valid */
    if (!result.ok) continue
    try {
      await ctx.stores.lockbox.commit({
        tenantId: req.tenantId,
        requests: [{ value: result.request, expectedVersion: req.version }],
        audit: [draft(result.operation, req.tenantId, null, 'System', {
          requestId: req.id,
          workload: req.workload,
          object: req.scope,
          details: requestDetails(result.request, { from: result.from, status: result.request.status, reason: status === 'Expired' ? 'DecisionDeadlinePassed' : 'AccessWindowEnded' })
        })]
      })
      written++
    } catch (err) {
      // Another replica (or a user action) got there first: its record stands, ours is not needed.
      if (!(err instanceof ConflictError)) throw err
    }
  }
  return written
}

/** Sweeps every `intervalMs` until stopped; a failing pass is logged and the next one tries again. */
export function startSweeper (ctx: WorkflowContext, intervalMs: number, log: SweepLog): { stop: () => Promise<void> } {
  let running: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    running = sweepOnce(ctx).catch((err: unknown) => { log.error({ err }, 'expiry sweep failed') })
  }, intervalMs)
  timer.unref()
  return {
    async stop () {
      clearInterval(timer)
      await running
    }
  }
}
