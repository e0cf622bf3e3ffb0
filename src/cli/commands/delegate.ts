// `lockbox delegate create|list|revoke`: an approver away hands their approving to someone of the tenant.
import { type Command, Option } from 'commander'
import type { Delegation } from '../api.js'
import { contextOf } from '../context.js'
import { tenantOption, timestamp } from '../options.js'
import { relative, table } from '../format.js'

const base = (tenant: string): string => `/v1/tenants/${encodeURIComponent(tenant)}/delegations`

export function registerDelegations (program: Command): void {
  const delegate = program.command('delegate').description('delegate your approving while you are away (GlobalAdministrator or CustomerLockboxApprover)')

  delegate.command('create')
    .description('let another person of the tenant decide for you until a time; no chains, not to yourself')
    .requiredOption('--to <user>', 'who decides for you (their user id)')
    .addOption(new Option('--until <time>', 'when the delegation ends (ISO 8601, at most 90 days ahead)').argParser(timestamp).makeOptionMandatory())
    .option('--from <user>', 'delegate someone else\'s approving (GlobalAdministrator)')
    .addOption(tenantOption())
    .action(async (options: { to: string, until: string, from?: string, tenant?: string }, command: Command) => {
      const ctx = contextOf(command)
      const created = await ctx.client.json<Delegation>('POST', base(ctx.tenant(options.tenant)), {
        token: ctx.identity(),
        json: { to: options.to, from: options.from, until: options.until }
      })
      ctx.out.result(created, () => {
        ctx.out.line(`Delegated ${created.from}'s approving to ${created.to} until ${created.until} (delegation ${ctx.out.paint('bold', created.id)}).`)
        ctx.out.note(`${created.to} now decides with: lockbox decide approve|deny <request id>; ${created.from} is e-mailed of every decision`)
      })
    })

  delegate.command('list')
    .description('the tenant\'s current delegations')
    .addOption(tenantOption())
    .action(async (options: { tenant?: string }, command: Command) => {
      const ctx = contextOf(command)
      const page = await ctx.client.json<{ items: Delegation[] }>('GET', base(ctx.tenant(options.tenant)), { token: ctx.identity() })
      ctx.out.result(page, () => {
        if (page.items.length === 0) {
          ctx.out.line('No delegations.')
          return
        }
        const now = ctx.now()
        ctx.out.lines(table(['ID', 'FROM', 'TO', 'UNTIL', 'STATUS'], page.items.map((d) => [d.id, d.from, d.to, `${d.until} (${relative(d.until, now)})`, ctx.out.status(d.status)])))
      })
    })

  delegate.command('revoke')
    .description('end a delegation now (the delegator, the delegate or a GlobalAdministrator)')
    .argument('<id>', 'delegation id')
    .addOption(tenantOption())
    .action(async (id: string, options: { tenant?: string }, command: Command) => {
      const ctx = contextOf(command)
      const revoked = await ctx.client.json<Delegation>('POST', `${base(ctx.tenant(options.tenant))}/${encodeURIComponent(id)}/revoke`, { token: ctx.identity() })
      ctx.out.result(revoked, () => { ctx.out.line(`Revoked delegation ${revoked.id} (${revoked.from} → ${revoked.to}).`) })
    })
}
