// `lockbox request create|list|show|cancel`: lockbox requests, from the engineer's side (API.md §3).
import { type Command, Option } from 'commander'
import { ACCESS_LEVELS } from '../../domain/lockbox.js'
import type { LockboxRequest, Page } from '../api.js'
import { contextOf, type Context } from '../context.js'
import { commentOption, cursorOption, duration, limitOption, statusOption, tenantOption, workloadOption } from '../options.js'
import { nextStep, requestTiming, showMore, showRequest, showRequests } from '../views.js'

export const requestPath = (id: string, action = ''): string => `/v1/requests/${encodeURIComponent(id)}${action === '' ? '' : `/${action}`}`

/** Runs one workflow action on a request and shows where it stands after it. */
export async function act (ctx: Context, id: string, action: string, body: Record<string, unknown>, done: string): Promise<void> {
  const req = await ctx.client.json<LockboxRequest>('POST', requestPath(id, action), { token: ctx.identity(), json: body })
  ctx.out.result(req, () => {
    ctx.out.line(`${done}: request ${req.id} is now ${ctx.out.status(req.status)} (${requestTiming(req, ctx.now())}).`)
    const next = nextStep(req)
    if (next !== null) ctx.out.note(next)
  })
}

interface CreateOptions {
  tenant: string
  sr: string
  workload: string
  duration: string
  scope?: string
  access: string
  reason: string
  quiet?: boolean
}

export function registerRequests (program: Command): void {
  const request = program.command('request').description('lockbox requests: ask for access to a tenant\'s content, follow them')

  request.command('create')
    .description('ask for time-limited access to one tenant\'s content (SupportEngineer)')
    .addOption(tenantOption('the customer tenant').makeOptionMandatory())
    .requiredOption('--sr <number>', 'the customer\'s open service request this access is for')
    .addOption(workloadOption().makeOptionMandatory())
    .addOption(new Option('-d, --duration <duration>', 'length of the access window, at most 4h (2h, 90m, PT2H)').argParser(duration).makeOptionMandatory())
    .option('--scope <path>', 'path prefix inside the workload (default: all of it), e.g. /mailboxes/alice@contoso.com')
    .addOption(new Option('--access <level>', 'read (GET, HEAD) or readwrite').choices(ACCESS_LEVELS).default('read'))
    .requiredOption('-r, --reason <text>', 'why: the customer\'s approver reads this')
    .addOption(new Option('-q, --quiet', 'print only the new request id (for scripts)'))
    .action(async (options: CreateOptions, command: Command) => {
      const ctx = contextOf(command)
      const req = await ctx.client.json<LockboxRequest>('POST', '/v1/requests', {
        token: ctx.identity(),
        json: {
          tenantId: options.tenant,
          serviceRequestNumber: options.sr,
          workload: options.workload,
          duration: options.duration,
          justification: options.reason,
          accessLevel: options.access,
          scope: options.scope
        }
      })
      if (options.quiet === true && !ctx.out.json) {
        ctx.out.line(req.id)
        return
      }
      ctx.out.result(req, () => {
        ctx.out.line(`Created request ${ctx.out.paint('bold', req.id)}: ${ctx.out.status(req.status)} (${requestTiming(req, ctx.now())})`)
        ctx.out.note(nextStep(req) as string)
      })
    })

  request.command('list')
    .description('lockbox requests you may see, newest first')
    .addOption(tenantOption('only this tenant\'s requests'))
    .addOption(statusOption())
    .addOption(limitOption(200))
    .addOption(cursorOption())
    .action(async (options: { tenant?: string, status?: string, limit?: number, cursor?: string }, command: Command) => {
      const ctx = contextOf(command)
      const page = await ctx.client.json<Page<LockboxRequest>>('GET', '/v1/requests', {
        token: ctx.identity(),
        query: { tenantId: options.tenant, status: options.status, limit: options.limit, cursor: options.cursor }
      })
      ctx.out.result(page, () => {
        showRequests(ctx.out, page.items, ctx.now())
        showMore(ctx.out, page.nextCursor)
      })
    })

  request.command('show')
    .description('one lockbox request with its history')
    .argument('<id>', 'request id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command)
      const req = await ctx.client.json<LockboxRequest>('GET', requestPath(id), { token: ctx.identity() })
      ctx.out.result(req, () => { showRequest(ctx.out, req, ctx.now()) })
    })

  request.command('extend')
    .description('ask for more time on your Approved request; the access goes on while the manager and the customer decide')
    .argument('<id>', 'request id')
    .addOption(new Option('-d, --duration <duration>', 'how much longer, at most 4h (1h, 30m, PT1H)').argParser(duration).makeOptionMandatory())
    .requiredOption('-r, --reason <text>', 'why: the manager and the customer\'s approvers read this')
    .action(async (id: string, options: { duration: string, reason: string }, command: Command) => {
      await act(contextOf(command), id, 'extend', { duration: options.duration, justification: options.reason }, 'Extension asked for')
    })

  request.command('cancel')
    .description('withdraw your own request; approved access ends at once')
    .argument('<id>', 'request id')
    .addOption(commentOption())
    .action(async (id: string, options: { comment?: string }, command: Command) => {
      await act(contextOf(command), id, 'cancel', { comment: options.comment }, 'Canceled')
    })
}
