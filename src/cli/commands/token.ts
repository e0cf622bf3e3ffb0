// `lockbox token <id>`: the access token of the requester's approved request (API.md §4), kept in the
// profile for `lockbox fetch` or printed for other tools.
import type { Command } from 'commander'
import type { IssuedToken, LockboxRequest } from '../api.js'
import { contextOf } from '../context.js'
import { expiry } from '../format.js'
import { requestPath } from './request.js'

export function registerToken (program: Command): void {
  program.command('token')
    .description('get the access token of your approved request and keep it in the profile for `lockbox fetch`')
    .argument('<id>', 'request id')
    .option('--print', 'print only the token, e.g. for curl -H "authorization: Bearer $(lockbox token <id> --print)"')
    .option('--no-store', 'do not keep the token in the profile')
    .action(async (id: string, options: { print?: boolean, store: boolean }, command: Command) => {
      const ctx = contextOf(command)
      const identity = ctx.identity()
      const issued = await ctx.client.json<IssuedToken>('POST', requestPath(id, 'token'), { token: identity })
      const req = await ctx.client.json<LockboxRequest>('GET', requestPath(id), { token: identity })
      if (options.store) {
        ctx.profile.accessTokens[req.id] = {
          requestId: req.id,
          tenantId: req.tenantId,
          workload: req.workload,
          scope: req.scope,
          accessLevel: req.accessLevel,
          accessToken: issued.accessToken,
          expiresAt: issued.expiresAt,
          storedAt: new Date(ctx.now()).toISOString()
        }
        ctx.save()
      }
      if (options.print === true && !ctx.out.json) {
        ctx.out.line(issued.accessToken)
        return
      }
      ctx.out.result(issued, () => {
        const kept = options.store ? `, kept in profile "${ctx.store.name}"` : ' (not kept)'
        ctx.out.line(`Access token for request ${req.id}: ${req.accessLevel} on ${req.workload} ${req.tenantId} ${req.scope}, ${expiry(issued.expiresAt, ctx.now())}${kept}.`)
        ctx.out.note(`next: lockbox fetch ${req.workload} ${req.tenantId} <path under ${req.scope}>`)
      })
    })
}
