// `lockbox request`, `review`, `decide`, `revoke` and `token`: every outcome of a request, as people see it.
import t from 'tap'
import { openServiceRequest } from '../../helpers/workflow.js'
import { startCliHarness } from '../run.js'

t.test('creates, lists, shows, cancels and rejects requests', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await Promise.all([
    cli.lockbox(['login', '--dev', 'eng-ada']),
    cli.lockbox(['-p', 'manager', 'login', '--dev', 'mgr-carol']),
    cli.lockbox(['-p', 'approver', 'login', '--dev', 'contoso-approver'])
  ])
  const sr = await openServiceRequest(cli.h)

  const empty = await cli.lockbox(['request', 'list'])
  t.equal(empty.stdout, 'No lockbox requests.\n')

  const create = (...extra: string[]): ReturnType<typeof cli.lockbox> => cli.lockbox(['request', 'create', '-t', 'contoso', '--sr', sr, '-w', 'sharepoint', '-d', 'PT30M', '-r', 'Broken site', ...extra])
  const [human, json, quiet, noSr] = await Promise.all([
    create('--access', 'readwrite'),
    cli.lockbox(['--json', 'request', 'create', '-t', 'contoso', '--sr', sr, '-w', 'onedrive', '-d', '1h30m', '-r', 'Sync', '--scope', '/drives/bob@contoso.com']),
    create('-q'),
    cli.lockbox(['request', 'create', '-t', 'contoso', '--sr', '999999', '-w', 'exchange', '-d', '1h', '-r', 'x'])
  ])
  const id = /^Created request (\S+): AwaitingManagerApproval/.exec(human.stdout)?.[1] as string
  t.ok(id, human.stdout)
  const created = JSON.parse(json.stdout)
  t.match(created, { workload: 'onedrive', duration: 'PT1H30M', accessLevel: 'read', scope: '/drives/bob@contoso.com', status: 'AwaitingManagerApproval' })
  t.match(quiet.stdout, /^\S+\n$/)
  t.equal(noSr.code, 1)
  t.match(noSr.stderr, /\(SERVICE_REQUEST_INVALID\)\nhint: the service request must exist/)

  const [canceled, rejected, denied] = await Promise.all([
    cli.lockbox(['request', 'cancel', id, '--comment', 'not needed']),
    cli.lockbox(['-p', 'manager', 'review', 'reject', created.id, '-m', 'too broad']),
    (async () => {
      const other = quiet.stdout.trim()
      await cli.lockbox(['-p', 'manager', 'review', 'approve', other])
      return await cli.lockbox(['-p', 'approver', 'decide', 'deny', other])
    })()
  ])
  t.match(canceled.stdout, new RegExp(`^Canceled: request ${id} is now Canceled \\(created .+\\)\\.\\n$`))
  t.equal(canceled.stderr, '', 'a final request has no next step')
  t.match(rejected.stdout, `Rejected: request ${created.id} is now RejectedByManager`)
  t.match(denied.stdout, 'is now Denied')

  const [list, filtered, page, shown] = await Promise.all([
    cli.lockbox(['request', 'list']),
    cli.lockbox(['-p', 'approver', '--json', 'request', 'list', '--status', 'Denied']),
    cli.lockbox(['request', 'list', '--limit', '1']),
    cli.lockbox(['request', 'show', id])
  ])
  t.match(list.stdout, /Canceled/)
  t.match(list.stdout, /RejectedByManager/)
  t.match(list.stdout, /Denied/)
  t.equal((JSON.parse(filtered.stdout) as { items: unknown[] }).items.length, 1)
  const cursor = /more: add --cursor (\S+)/.exec(page.stderr)?.[1] as string
  t.ok(cursor)
  const next = await cli.lockbox(['request', 'list', '--limit', '1', '--cursor', cursor])
  t.equal(next.code, 0, next.stderr)
  t.notMatch(shown.stdout, /window/, 'no access window before approval')
  t.match(shown.stdout, /Canceled +eng-ada +SupportEngineer +not needed/)
})

t.test('prints or withholds the access token, and refuses one before approval', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await Promise.all([
    cli.lockbox(['login', '--dev', 'eng-ada']),
    cli.lockbox(['-p', 'manager', 'login', '--dev', 'mgr-carol']),
    cli.lockbox(['-p', 'approver', 'login', '--dev', 'contoso-approver'])
  ])
  const sr = await openServiceRequest(cli.h)
  const id = (await cli.lockbox(['request', 'create', '-t', 'contoso', '--sr', sr, '-w', 'exchange', '-d', '2h', '-r', 'x', '-q'])).stdout.trim()
  const early = await cli.lockbox(['token', id])
  t.equal(early.code, 1)
  t.match(early.stderr, '(INVALID_STATE)')
  await cli.lockbox(['-p', 'manager', 'review', 'approve', id])
  await cli.lockbox(['-p', 'approver', 'decide', 'approve', id])

  const [printed, json, notKept] = await Promise.all([
    cli.lockbox(['token', id, '--print', '--no-store']),
    cli.lockbox(['--json', 'token', id, '--no-store']),
    cli.lockbox(['token', id, '--no-store'])
  ])
  t.match(printed.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, '--print writes the token alone')
  t.match(JSON.parse(json.stdout), { accessToken: String, tokenType: 'Bearer', expiresAt: String })
  t.match(notKept.stdout, /expires in .+ \(not kept\)\.\n$/)
  const fetch = await cli.lockbox(['fetch', 'exchange', 'contoso', '/mailboxes'])
  t.equal(fetch.code, 1, 'nothing was kept to fetch with')
})
