// `lockbox review approve|reject`, `decide approve|deny` and `revoke`: the approvers' side (API.md §3).
import type { Command } from 'commander'
import { contextOf } from '../context.js'
import { commentOption } from '../options.js'
import { act } from './request.js'

function decisionCommand (parent: Command, name: string, description: string, action: string, decision: string, done: string): void {
  parent.command(name)
    .description(description)
    .argument('<id>', 'request id')
    .addOption(commentOption())
    .action(async (id: string, options: { comment?: string }, command: Command) => {
      await act(contextOf(command), id, action, { decision, comment: options.comment }, done)
    })
}

export function registerApprovals (program: Command): void {
  const review = program.command('review').description('the internal first stage (SupportManager, never the requester)')
  decisionCommand(review, 'approve', 'approve a request: it goes to the customer for a decision', 'review', 'Approve', 'Approved at the manager stage')
  decisionCommand(review, 'reject', 'reject a request: it ends here', 'review', 'Reject', 'Rejected')

  const decide = program.command('decide').description('the customer\'s decision (GlobalAdministrator or CustomerLockboxApprover)')
  decisionCommand(decide, 'approve', 'approve: access opens now for the requested duration', 'decision', 'Approve', 'Approved')
  decisionCommand(decide, 'deny', 'deny: no access', 'decision', 'Deny', 'Denied')

  program.command('revoke')
    .description('end approved access now; tokens stop working at once (GlobalAdministrator or CustomerLockboxApprover)')
    .argument('<id>', 'request id')
    .addOption(commentOption())
    .action(async (id: string, options: { comment?: string }, command: Command) => {
      await act(contextOf(command), id, 'revoke', { comment: options.comment }, 'Revoked')
    })
}
