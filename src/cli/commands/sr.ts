// `lockbox sr open|list|show|close`: a tenant's service requests (API.md §2).
import { type Command, Option } from 'commander'
import type { Page, ServiceRequest } from '../api.js'
import { contextOf } from '../context.js'
import { relative } from '../format.js'
import { cursorOption, limitOption, tenantOption } from '../options.js'
import { showMore, showServiceRequests } from '../views.js'

const base = (tenant: string): string => `/v1/tenants/${encodeURIComponent(tenant)}/service-requests`
const numberOf = (value: string): string => encodeURIComponent(value)

export function registerServiceRequests (program: Command): void {
  const sr = program.command('sr').description('service requests: the support case a lockbox request belongs to')

  sr.command('open')
    .description('open a service request in your tenant')
    .addOption(tenantOption())
    .requiredOption('--title <title>', 'what is wrong, in a line')
    .option('--description <text>', 'more detail')
    .addOption(new Option('-q, --quiet', 'print only the new number (for scripts)'))
    .action(async (options: { tenant?: string, title: string, description?: string, quiet?: boolean }, command: Command) => {
      const ctx = contextOf(command)
      const tenant = ctx.tenant(options.tenant)
      const created = await ctx.client.json<ServiceRequest>('POST', base(tenant), {
        token: ctx.identity(),
        json: { title: options.title, description: options.description }
      })
      if (options.quiet === true && !ctx.out.json) {
        ctx.out.line(created.number)
        return
      }
      ctx.out.result(created, () => {
        ctx.out.line(`Opened service request ${ctx.out.paint('bold', created.number)} in ${created.tenantId}: ${created.title}`)
        ctx.out.note(`next: an engineer asks for access under it: lockbox request create --tenant ${created.tenantId} --sr ${created.number} …`)
      })
    })

  sr.command('list')
    .description('service requests of a tenant, newest first')
    .addOption(tenantOption())
    .addOption(limitOption(200))
    .addOption(cursorOption())
    .action(async (options: { tenant?: string, limit?: number, cursor?: string }, command: Command) => {
      const ctx = contextOf(command)
      const page = await ctx.client.json<Page<ServiceRequest>>('GET', base(ctx.tenant(options.tenant)), {
        token: ctx.identity(),
        query: { limit: options.limit, cursor: options.cursor }
      })
      ctx.out.result(page, () => {
        showServiceRequests(ctx.out, page.items, ctx.now())
        showMore(ctx.out, page.nextCursor)
      })
    })

  sr.command('show')
    .description('one service request')
    .argument('<number>', 'the service request number')
    .addOption(tenantOption())
    .action(async (number: string, options: { tenant?: string }, command: Command) => {
      const ctx = contextOf(command)
      const s = await ctx.client.json<ServiceRequest>('GET', `${base(ctx.tenant(options.tenant))}/${numberOf(number)}`, { token: ctx.identity() })
      ctx.out.result(s, () => {
        ctx.out.line(`${ctx.out.paint('bold', `${s.tenantId} #${s.number}`)}  ${ctx.out.status(s.status)}  ${s.title}`)
        ctx.out.line(`opened ${relative(s.createdAt, ctx.now())} by ${s.createdBy.name} (${s.createdBy.id})`)
        if (s.description !== null) ctx.out.line(s.description)
      })
    })

  sr.command('close')
    .description('close a service request: cancels its undecided lockbox requests and ends its access')
    .argument('<number>', 'the service request number')
    .addOption(tenantOption())
    .action(async (number: string, options: { tenant?: string }, command: Command) => {
      const ctx = contextOf(command)
      const closed = await ctx.client.json<ServiceRequest>('POST', `${base(ctx.tenant(options.tenant))}/${numberOf(number)}/close`, { token: ctx.identity() })
      ctx.out.result(closed, () => {
        ctx.out.line(`Closed service request ${closed.number} in ${closed.tenantId}; its lockbox requests are canceled or completed.`)
      })
    })
}
