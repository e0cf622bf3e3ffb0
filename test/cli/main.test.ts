// The whole Customer Lockbox workflow through the `lockbox` CLI, one profile per person, and the exit
// codes a script relies on: 0 ok, 1 refused, 2 usage, 3 unreachable. Each exit code is also shown by
// the real executable as a child process (and the built shim by one more); the rest of the workflow
// runs the same program in this process, since every child has to load the CLI's TypeScript first
// (seconds of CPU apiece: 30 children made this file the slowest of the suite).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { UNCOVERED } from '../helpers/compiled.js'
import { ROOT, runCli, runInProcess, spawnCli, startCliHarness } from './run.js'

// Each child compiles the CLI's TypeScript as it starts: seconds apiece on a busy machine.
t.setTimeout(300_000)

/** A port nothing listens on: bound once, then released. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

t.test('walks the whole workflow from service request to revoked access', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  // `lockbox` in this process: the engineer's default profile, or another person's.
  const lockbox = cli.lockbox
  const as = async (profile: string, args: string[]): ReturnType<typeof cli.lockbox> => await cli.lockbox(['--profile', profile, ...args])
  const port = await closedPort()

  // Everyone logs in at once (the engineer through the executable: exit 0), while the executable also
  // shows what it does without a gateway (3) and with bad usage (2).
  const [customer, engineer, manager, approver, fabrikam, security, unreachable, usage, version] = await Promise.all([
    as('customer', ['login', '--dev', 'contoso-user']),
    cli.child(['login', '--dev', 'eng-ada']),
    as('manager', ['login', '--dev', 'mgr-carol']),
    as('approver', ['login', '--dev', 'contoso-approver']),
    as('fabrikam', ['login', '--dev', 'fabrikam-approver']),
    as('security', ['--json', 'login', '--dev', 'sec-erin']),
    runCli(['--url', `http://127.0.0.1:${port}`, 'login', '--dev', 'eng-ada']),
    runCli(['request', 'create', '--tenant', 'contoso']),
    runInProcess(['--version'])
  ])
  for (const login of [customer, engineer, manager, approver, fabrikam, security]) t.equal(login?.code, 0, login?.stderr)
  t.match(engineer?.stdout, /^Logged in as Ada Engineer \(eng-ada\) on http:\/\/127\.0\.0\.1:\d+, profile "default"\./)
  t.match(JSON.parse(security?.stdout as string), { profile: 'security', url: cli.url, user: { id: 'sec-erin', provider: true, roles: ['SecurityReader'] } })

  t.equal(unreachable?.code, 3, 'unreachable: exit 3')
  t.match(unreachable?.stderr, `error: cannot reach the gateway at http://127.0.0.1:${port} (ECONNREFUSED)\nhint: is the gateway running at http://127.0.0.1:${port}?`)
  t.equal(usage?.code, 2, 'usage: exit 2')
  t.match(usage?.stderr, "error: required option '--sr <number>' not specified\n(add --help for usage)")
  t.equal(version?.code, 0)
  t.match(version?.stdout, /^\d+\.\d+\.\d+\n$/)

  t.equal(statSync(cli.configDir).mode & 0o777, 0o700, 'the config dir is 0700')
  const files = readdirSync(cli.configDir).sort()
  t.same(files, ['approver.json', 'customer.json', 'default.json', 'fabrikam.json', 'manager.json', 'security.json'], 'one file per profile')
  for (const file of files) t.equal(statSync(join(cli.configDir, file)).mode & 0o777, 0o600, `${file} is 0600`)

  const opened = await as('customer', ['sr', 'open', '--title', 'Mail to partners bounces', '-q'])
  t.equal(opened.code, 0, opened.stderr)
  const sr = opened.stdout.trim()
  t.match(sr, /^\d+$/, 'sr open -q prints only the number')

  const created = await lockbox(['request', 'create', '--tenant', 'contoso', '--sr', sr, '--workload', 'exchange',
    '--duration', '2h', '--scope', '/mailboxes/alice@contoso.com', '--reason', `Mailbox rule loop, SR ${sr}`])
  t.equal(created.code, 0, created.stderr)
  const id = /^Created request (\S+): AwaitingManagerApproval \(decision due in \S/.exec(created.stdout)?.[1] as string
  t.ok(id, created.stdout)
  t.match(created.stderr, `next: a support manager reviews it: lockbox review approve ${id}`)

  const [selfReview, wrongTenant] = await Promise.all([
    cli.child(['review', 'approve', id]), // the executable refusing: exit 1
    as('fabrikam', ['decide', 'approve', id])
  ])
  t.equal(selfReview.code, 1, 'the engineer may not review: exit 1')
  t.equal(selfReview.stdout, '')
  t.match(selfReview.stderr, /^error: .+ \((FORBIDDEN|SEPARATION_OF_DUTIES)\)\nhint: /)
  t.equal(wrongTenant.code, 1, 'another tenant\'s approver may not decide: exit 1')
  t.match(wrongTenant.stderr, /^error: .+ \((NOT_FOUND|FORBIDDEN)\)\nhint: /)

  const reviewed = await as('manager', ['review', 'approve', id, '--comment', 'fine by me'])
  t.equal(reviewed.code, 0, reviewed.stderr)
  t.match(reviewed.stdout, `Approved at the manager stage: request ${id} is now AwaitingCustomerApproval (decision due in`)
  t.match(reviewed.stderr, `next: contoso's lockbox approver decides: lockbox decide approve ${id}`)

  const decided = await as('approver', ['--json', 'decide', 'approve', id, '-m', 'OK for this SR'])
  t.equal(decided.code, 0, decided.stderr)
  t.match(JSON.parse(decided.stdout), { id, status: 'Approved', accessEndsAt: String })
  t.equal(decided.stderr, '', '--json writes nothing but the document')

  const [token, again] = await Promise.all([
    lockbox(['token', id]),
    as('approver', ['decide', 'deny', id])
  ])
  t.equal(token.code, 0, token.stderr)
  t.match(token.stdout, new RegExp(`^Access token for request ${id}: read on exchange contoso /mailboxes/alice@contoso.com, expires in .+, kept in profile "default"\\.`))
  t.equal(again.code, 1, 'deciding twice: exit 1')
  t.match(again.stderr, '(INVALID_STATE)\nhint: the request is not in a state that allows this')

  const [messages, otherTenant] = await Promise.all([
    lockbox(['fetch', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages']),
    lockbox(['fetch', 'exchange', 'fabrikam', '/mailboxes', '--request', id])
  ])
  // An access's outcome record is committed as its answer ends, a moment after the fetch has read
  // it: search until it is there (the rest is read after it).
  const search = async (): ReturnType<typeof cli.lockbox> => await as('security', ['--json', 'audit', 'search', '--tenant', 'contoso', '--request', id])
  let found = await search()
  for (let tries = 0; tries < 50 && !found.stdout.includes('"ContentAccessCompleted"'); tries++) {
    await sleep(20)
    found = await search()
  }
  const [list, shown, verify, denials] = await Promise.all([
    as('approver', ['--json', 'request', 'list', '--tenant', 'contoso']),
    as('manager', ['request', 'show', id]),
    as('security', ['audit', 'verify', '--tenant', 'contoso']),
    as('fabrikam', ['audit', 'search', '--operation', 'ContentAccessDenied'])
  ])
  t.equal(messages.code, 0, messages.stderr)
  const mailbox = JSON.parse(messages.stdout) as Array<{ id: string, subject: string }>
  t.ok(mailbox.length >= 2, 'the mailbox comes through the gateway')
  t.match(mailbox[0], { id: String, subject: String })

  t.equal(otherTenant.code, 1, 'content of another tenant: exit 1')
  t.equal(otherTenant.stdout, '')
  t.match(otherTenant.stderr, /^error: .+ \(OUT_OF_SCOPE\)\nhint: the access token does not cover/)

  t.match(JSON.parse(list.stdout), { items: [{ id, status: 'Approved' }], nextCursor: null })
  t.match(shown.stdout, /status +Approved \(expires in .+\)/)
  t.match(shown.stdout, /ManagerApproved +mgr-carol +SupportManager +fine by me/)
  t.match(shown.stdout, /Approved +contoso-approver +CustomerLockboxApprover +OK for this SR/)

  const operations = (JSON.parse(found.stdout) as { items: Array<{ operation: string }> }).items.map((r) => r.operation)
  t.equal(operations[0], 'LockboxRequestCreated', 'oldest first')
  for (const op of ['LockboxRequestManagerApproved', 'LockboxRequestApproved', 'LockboxAccessTokenIssued', 'ContentAccessed', 'ContentAccessCompleted']) {
    t.ok(operations.includes(op), `${op} is on the log`)
  }
  t.equal(verify.code, 0, verify.stderr)
  t.match(verify.stdout, /chain +valid/)
  t.match(denials.stdout, /fabrikam +\S+ +ContentAccessDenied +Denied +eng-ada/, 'the refusal is on the log of the tenant asked for')

  const revoked = await as('approver', ['revoke', id, '-m', 'done'])
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.stdout, `Revoked: request ${id} is now Revoked (access ended`)
  const cut = await lockbox(['fetch', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages'])
  t.equal(cut.code, 1, 'a revoked request\'s token: exit 1')
  t.match(cut.stderr, /\(GRANT_INACTIVE\)\nhint: the request is no longer Approved/)
})

t.test('exits 0 without a word when its reader goes away', async (t) => {
  const child = spawnCli(['--help'])
  child.stdout?.destroy()
  const code = await new Promise((resolve) => child.on('close', resolve))
  t.equal(code, 0)
})

t.test('exits 2 on usage errors, from commander and from bad values', async (t) => {
  const cases = await Promise.all([
    runInProcess(['request', 'create', '--tenant', 'contoso', '--sr', '1', '--workload', 'email', '--duration', '2h', '--reason', 'x']),
    runInProcess(['request', 'create', '--tenant', 'contoso', '--sr', '1', '--workload', 'exchange', '--duration', 'two hours', '--reason', 'x']),
    runInProcess(['--timeout', 'soon', 'whoami']),
    runInProcess(['--profile', '../etc', 'whoami']),
    runInProcess(['whoami'], { env: { LOCKBOX_PROFILE: 'a/b' } }),
    runInProcess(['sr', 'list', '--limit', '0']),
    runInProcess(['frobnicate']),
    runInProcess(['sr']),
    runInProcess(['--url', 'not a url', 'whoami']),
    runInProcess(['whoami'], { env: { LOCKBOX_URL: 'ftp://127.0.0.1/' } }),
    runInProcess(['login', '--dev', 'eng-ada', '--token', 'x'])
  ])
  t.same(cases.map((c) => c.code), cases.map(() => 2), cases.map((c) => c.stderr).join(''))
  t.match(cases[0]?.stderr, /argument 'email' is invalid\. Allowed choices are exchange, sharepoint, onedrive/)
  t.match(cases[1]?.stderr, 'expected a duration such as 2h, 90m, 1h30m or PT2H')
  t.match(cases[2]?.stderr, 'expected a positive number')
  t.match(cases[3]?.stderr, 'error: "../etc" is not a profile name\nhint: a profile name is letters')
  t.match(cases[4]?.stderr, 'error: "a/b" is not a profile name')
  t.match(cases[5]?.stderr, 'expected a whole number from 1 to 200')
  t.match(cases[6]?.stderr, "error: unknown command 'frobnicate'")
  t.match(cases[7]?.stderr, 'Usage: lockbox sr')
  t.match(cases[8]?.stderr, 'error: "not a url" is not a URL\nhint: pass the gateway\'s base URL')
  t.match(cases[9]?.stderr, 'error: "ftp://127.0.0.1/" is not an http(s) URL')
  t.match(cases[10]?.stderr, "option '--dev <user>' cannot be used with option '--token <jwt>'")
})

t.test('prints help with the workflow and the exit codes', async (t) => {
  const help = await runInProcess(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, 'lockbox request create --tenant contoso --sr <number>')
  t.match(help.stdout, 'Exit codes: 0 ok, 1 refused')
})

// bin/lockbox.js runs dist/, which exists only after `npm run build`; the tests above run the source
// so they never depend on a stale build. `npm test` builds before tap runs (and CI runs `npm test`),
// so there the shim is always checked; a bare `tap` run on an unbuilt checkout skips it.
const built = existsSync(join(ROOT, 'dist/src/cli/main.js'))
t.test('the installed shim runs the built CLI', { skip: built || process.env.CI !== undefined ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  // A bare environment, kept out of coverage (test/helpers/compiled.ts).
  const res = spawnSync(process.execPath, [join(ROOT, 'bin/lockbox.js'), '--version'], { encoding: 'utf8', env: { PATH: process.env.PATH, ...UNCOVERED } })
  t.equal(res.status, 0, res.stderr)
  t.match(res.stdout, /^\d+\.\d+\.\d+\n$/)
})
