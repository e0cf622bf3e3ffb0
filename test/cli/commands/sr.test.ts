// `lockbox sr`: a tenant's service requests, opened, listed, shown and closed.
import t from 'tap'
import { createRequest } from '../../helpers/workflow.js'
import { startCliHarness } from '../run.js'

t.test('opens, lists, shows and closes service requests', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  await Promise.all([
    cli.lockbox(['-p', 'customer', 'login', '--dev', 'contoso-user']),
    cli.lockbox(['login', '--dev', 'eng-ada']),
    cli.lockbox(['-p', 'fabrikam', 'login', '--dev', 'fabrikam-user'])
  ])
  const customer = async (...args: string[]): ReturnType<typeof cli.lockbox> => await cli.lockbox(['-p', 'customer', ...args])

  const empty = await customer('sr', 'list')
  t.equal(empty.stdout, 'No service requests.\n')

  const [opened, openedJson] = await Promise.all([
    customer('sr', 'open', '--title', 'Mail to partners bounces', '--description', 'Since Monday'),
    customer('--json', 'sr', 'open', '--title', 'Second', '-q')
  ])
  const number = /^Opened service request (\d+) in contoso: Mail to partners bounces\n$/.exec(opened.stdout)?.[1] as string
  t.ok(number, opened.stdout)
  t.match(opened.stderr, `next: an engineer asks for access under it: lockbox request create --tenant contoso --sr ${number}`)
  t.match(JSON.parse(openedJson.stdout), { tenantId: 'contoso', title: 'Second', status: 'Open' }, '--json wins over -q')

  const [list, engineerList, json, show, showPlain, noTenant] = await Promise.all([
    customer('sr', 'list'),
    cli.lockbox(['sr', 'list', '--tenant', 'contoso', '--limit', '1']),
    customer('--json', 'sr', 'list'),
    cli.lockbox(['sr', 'show', number, '--tenant', 'contoso']),
    customer('--json', 'sr', 'show', number),
    cli.lockbox(['sr', 'list'])
  ])
  t.match(list.stdout, new RegExp(`^NUMBER +TENANT +STATUS +OPENED +BY +TITLE\\n(.+\\n)?${number} +contoso +Open +.+? +contoso-user +Mail to partners bounces\\n`))
  t.match(engineerList.stderr, /more: add --cursor/)
  t.equal((JSON.parse(json.stdout) as { items: unknown[] }).items.length, 2)
  t.match(show.stdout, `contoso #${number}  Open  Mail to partners bounces\nopened `)
  t.match(show.stdout, 'by Alex Wilber (contoso-user)\nSince Monday\n')
  t.match(JSON.parse(showPlain.stdout), { number, description: 'Since Monday' })
  t.equal(noTenant.code, 2)

  const pending = await createRequest(cli.h, { serviceRequestNumber: number })
  const [closed, other] = await Promise.all([
    customer('sr', 'close', number),
    cli.lockbox(['-p', 'fabrikam', 'sr', 'show', number, '--tenant', 'contoso'])
  ])
  t.equal(closed.stdout, `Closed service request ${number} in contoso; its lockbox requests are canceled or completed.\n`)
  t.equal(other.code, 1, 'another tenant\'s user may not see it')
  const [closedJson, request] = await Promise.all([
    cli.lockbox(['--json', 'sr', 'close', number, '--tenant', 'contoso']),
    cli.lockbox(['--json', 'request', 'show', pending.id])
  ])
  t.equal(closedJson.code, 1, 'closing twice is refused')
  t.match(JSON.parse(closedJson.stderr), { exitCode: 1, problem: { status: 409 } })
  t.match(JSON.parse(request.stdout), { status: 'Canceled' })
})
