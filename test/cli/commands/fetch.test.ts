// `lockbox fetch`: content through the gateway with a stored access token, streamed both ways.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { encodePath } from '../../../src/cli/commands/fetch.js'
import { tempDir } from '../../helpers/config.js'
import { approvedRequest } from '../../helpers/workflow.js'
import { startCliHarness, startOddGateway, writeProfile, runInProcess } from '../run.js'

t.test('encodes only what a URL path cannot hold, and keeps the query', async (t) => {
  t.equal(encodePath('/sites/hr/files/Shared Documents/Résumé.pdf'), '/sites/hr/files/Shared%20Documents/R%C3%A9sum%C3%A9.pdf')
  t.equal(encodePath('mailboxes/alice@contoso.com/messages?top=2&x=a?b'), '/mailboxes/alice@contoso.com/messages?top=2&x=a?b')
  t.equal(encodePath('/already%20encoded'), '/already%20encoded', 'a path the user encoded is sent as written')
})

t.test('fetches, saves and uploads content with the stored token', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  const files = tempDir('lockbox-cli-files-')
  t.teardown(files.remove)
  const mail = await approvedRequest(cli.h)
  const drive = await approvedRequest(cli.h, { workload: 'onedrive', accessLevel: 'readwrite', scope: '/drives/alice@contoso.com' })
  t.equal((await cli.lockbox(['login', '--dev', 'eng-ada'])).code, 0)
  const tokens = await Promise.all([cli.lockbox(['token', mail.id]), cli.lockbox(['-p', 'other', 'token', drive.id])])
  t.equal(tokens[0]?.code, 0, tokens[0]?.stderr)
  t.equal(tokens[1]?.code, 1, 'a profile that is not logged in has nothing to send')
  t.match(tokens[1]?.stderr, 'error: not logged in (profile "other")\nhint: run `lockbox --profile other login` to sign in')
  // Two profiles must not race on one file: the second token goes in after the first.
  t.equal((await cli.lockbox(['token', drive.id])).code, 0)

  t.test('prints the status line and headers with -i', async (t) => {
    const res = await cli.lockbox(['fetch', '-i', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages'])
    t.equal(res.code, 0, res.stderr)
    t.match(res.stdout, /^HTTP 200 OK\n(.+: .+\n)*content-type: application\/json.*\n(.+: .+\n)*\n\[\{/)
  })

  t.test('writes the body to a 0600 file with -o and says so', async (t) => {
    const file = join(files.path, 'messages.json')
    const [human, json] = await Promise.all([
      cli.lockbox(['fetch', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages', '-o', file]),
      cli.lockbox(['--json', 'fetch', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages', '-o', `${file}.2`, '--request', mail.id])
    ])
    t.equal(human.code, 0, human.stderr)
    t.match(human.stdout, new RegExp(`^Saved \\d+(\\.\\d)? (B|KiB) to ${file} \\(200 OK, request ${mail.id}\\)\\.\n$`))
    t.equal(statSync(file).mode & 0o777, 0o600)
    t.ok(Array.isArray(JSON.parse(readFileSync(file, 'utf8'))))
    t.same(JSON.parse(json.stdout), { status: 200, file: `${file}.2`, bytes: statSync(`${file}.2`).size })
  })

  t.test('uploads a file streamed with -d @file, and reads it back', async (t) => {
    const file = join(files.path, 'upload.bin')
    const bytes = Buffer.alloc(300_000, 'lockbox ')
    writeFileSync(file, bytes)
    const put = await cli.lockbox(['fetch', '-X', 'put', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/Documents/upload.bin', '-d', `@${file}`])
    t.equal(put.code, 0, put.stderr)
    const back = join(files.path, 'back.bin')
    const get = await cli.lockbox(['fetch', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/Documents/upload.bin', '-o', back])
    t.equal(get.code, 0, get.stderr)
    t.ok(readFileSync(back).equals(bytes), 'the same bytes come back')
  })

  t.test('sends text with -d and stdin with -d @-, POST unless -X says otherwise', async (t) => {
    const [text, piped] = await Promise.all([
      cli.lockbox(['fetch', '-X', 'PUT', '-H', 'content-type: text/markdown', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/Documents/note.md', '-d', '# hello']),
      cli.lockbox(['fetch', '-X', 'PUT', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/Documents/piped.txt', '-d', '@-'], { input: 'from stdin' })
    ])
    t.equal(text.code, 0, text.stderr)
    t.equal(piped.code, 0, piped.stderr)
    const [note, pipedBack, posted] = await Promise.all([
      cli.lockbox(['fetch', '-i', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/Documents/note.md']),
      cli.lockbox(['fetch', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/Documents/piped.txt']),
      cli.lockbox(['fetch', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/Documents/note.md', '-d', 'x'])
    ])
    t.match(note.stdout, /content-type: text\/markdown/)
    t.match(note.stdout, /\n\n# hello$/)
    t.equal(pipedBack.stdout, 'from stdin')
    t.equal(posted.code, 1, 'POST is not a file route of the mock')
  })

  t.test('sends HEAD and prints nothing for an empty body', async (t) => {
    const res = await cli.lockbox(['fetch', '-X', 'HEAD', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages'])
    t.equal(res.code, 0, res.stderr)
    t.equal(res.stdout, '')
  })

  t.test('refuses what it cannot send: no token, unknown request, unreadable file, bad flags', async (t) => {
    const cases = await Promise.all([
      cli.lockbox(['fetch', 'sharepoint', 'contoso', '/sites']),
      cli.lockbox(['fetch', 'exchange', 'contoso', '/mailboxes', '--request', 'no-such-request']),
      cli.lockbox(['fetch', 'onedrive', 'contoso', '/drives/alice@contoso.com/items/x', '-X', 'PUT', '-d', `@${join(files.path, 'missing')}`]),
      cli.lockbox(['fetch', 'exchange', 'contoso', '/mailboxes', '-H', 'no colon']),
      cli.lockbox(['fetch', 'exchange', 'contoso', '/mailboxes', '-X', 'GET /']),
      cli.lockbox(['fetch', 'exchange', 'Contoso', '/mailboxes'])
    ])
    t.same(cases.map((c) => c.code), [1, 1, 2, 2, 2, 2])
    t.match(cases[0]?.stderr, 'error: no valid access token stored for sharepoint in contoso\nhint: get one for your approved request')
    t.match(cases[1]?.stderr, 'error: no valid access token stored for request no-such-request\nhint: get one: lockbox token no-such-request')
    t.match(cases[2]?.stderr, 'error: cannot read')
    t.match(cases[3]?.stderr, 'expected "Name: value"')
    t.match(cases[4]?.stderr, 'expected an HTTP method')
    t.match(cases[5]?.stderr, 'a tenant id is lower-case letters')
  })

  t.test('reports what the content service said when it has no such item', async (t) => {
    const res = await cli.lockbox(['fetch', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages/nope'])
    t.equal(res.code, 1)
    t.match(res.stderr, /^error: .*not found \((HTTP_404|NOT_FOUND)\)\nhint: the content service has no such item/)
  })

  t.test('reports a file it cannot write as a failure of its own', async (t) => {
    const res = await cli.lockbox(['fetch', 'exchange', 'contoso', '/mailboxes/alice@contoso.com/messages', '-o', join(files.path, 'no/such/dir/x.json')])
    t.equal(res.code, 1)
    t.match(res.stderr, /^error: ENOENT: no such file or directory/)
  })
})

t.test('says a transfer was cut short, and what to check', async (t) => {
  const odd = await startOddGateway((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' })
    res.write(Buffer.alloc(1000))
    setImmediate(() => { res.destroy() })
  })
  t.teardown(odd.close)
  const config = tempDir('lockbox-cli-')
  t.teardown(config.remove)
  writeProfile(config.path, 'default', {
    accessTokens: {
      r1: { requestId: 'r1', tenantId: 'contoso', workload: 'exchange', scope: '/', accessLevel: 'read', accessToken: 'x', expiresAt: '2999-01-01T00:00:00.000Z', storedAt: '2026-01-01T00:00:00.000Z' }
    }
  })
  const res = await runInProcess(['fetch', 'exchange', 'contoso', '/big', '-o', join(config.path, 'big.bin')], { env: { LOCKBOX_URL: odd.url, LOCKBOX_CONFIG_DIR: config.path } })
  t.equal(res.code, 1)
  t.match(res.stderr, /^error: the transfer was cut short after \d+ bytes\nhint: the gateway ends transfers when access is revoked/)
})
