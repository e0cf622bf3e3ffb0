// `lockbox review approve|reject`, `decide approve|deny` and `revoke`: the approvers' side (API.md §3).
import { type Command, Option } from 'commander'
import { contextOf } from '../context.js'
import { commentOption, duration } from '../options.js'
import { act } from './request.js'

interface DecideOptions { comment?: string, duration?: string, scope?: string, readOnly?: boolean, onBehalfOf?: string }

/**
 * `decide approve|deny`: an approval may grant less than was asked (a shorter window, a sub-path,
 * read only) and counts towards the tenant's quorum; a delegate names whom they decide for.
 */
function customerDecision (parent: Command, name: string, description: string, decision: 'Approve' | 'Deny', done: string): void {
  const command = parent.command(name)
    .description(description)
    .argument('<id>', 'request id')
    .addOption(commentOption())
  if (decision === 'Approve') {
    command
      .addOption(new Option('-d, --duration <duration>', 'grant a shorter window than requested (1h, 30m, PT1H)').argParser(duration))
      .option('--scope <path>', 'grant only this sub-path of the requested scope')
      .option('--read-only', 'grant read access to a readwrite request')
  }
  command
    .option('--on-behalf-of <user>', 'decide as the delegate of this approver')
    .action(async (id: string, options: DecideOptions, cmd: Command) => {
      await act(contextOf(cmd), id, 'decision', {
        decision,
        comment: options.comment,
        duration: options.duration,
        scope: options.scope,
        accessLevel: options.readOnly === true ? 'read' : undefined,
        onBehalfOf: options.onBehalfOf
      }, done)
    })
}

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
  customerDecision(decide, 'approve', 'approve (or approve less): access opens once the tenant\'s quorum has approved; approves a pending extension the same way', 'Approve', 'Approved')
  customerDecision(decide, 'deny', 'deny: no access (or no extension)', 'Deny', 'Denied')

  program.command('revoke')
    .description('end approved access now; tokens stop working at once (GlobalAdministrator or CustomerLockboxApprover)')
    .argument('<id>', 'request id')
    .addOption(commentOption())
    .action(async (id: string, options: { comment?: string }, command: Command) => {
      await act(contextOf(command), id, 'revoke', { comment: options.comment }, 'Revoked')
    })
}
