// `lockbox audit`: search, export, verify, checkpoint and the live tail, as a security team uses them.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tempDir } from '../../helpers/config.js'
import { approvedRequest, openServiceRequest } from '../../helpers/workflow.js'
import { runInProcess, spawnCli, startCliHarness, startOddGateway, waitForOutput, writeProfile, type Run } from '../run.js'

async function finished (child: ReturnType<typeof spawnCli>): Promise<Run> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  return await new Promise((resolve) => {
    child.on('close', (code, signal) => { resolve({ code, signal, stdout, stderr }) })
  })
}

t.test('searches, exports, verifies and checkpoints a tenant\'s log', async (t) => {
  const cli = await startCliHarness()
  t.teardown(cli.close)
  const files = tempDir('lockbox-cli-files-')
  t.teardown(files.remove)
  const req = await approvedRequest(cli.h)
  await Promise.all([
    cli.lockbox(['-p', 'security', 'login', '--dev', 'sec-erin']),
    cli.lockbox(['-p', 'customer', 'login', '--dev', 'contoso-user']),
    cli.lockbox(['-p', 'approver', 'login', '--dev', 'contoso-approver'])
  ])
  const sec = async (...args: string[]): Promise<Run> => await cli.lockbox(['-p', 'security', ...args])

  t.test('shows records oldest first, in a table, as JSON, and in the o365 schema', async (t) => {
    const [human, json, o365, page, none, ocsf] = await Promise.all([
      sec('audit', 'search', '--tenant', 'contoso'),
      sec('--json', 'audit', 'search', '--request', req.id, '--operation', 'LockboxRequestApproved'),
      sec('audit', 'search', '--tenant', 'contoso', '--format', 'o365', '--actor', 'mgr-carol'),
      sec('audit', 'search', '--tenant', 'contoso', '--limit', '2'),
      sec('audit', 'search', '--tenant', 'contoso', '--from', '2001-01-01T00:00:00Z', '--to', '2001-01-02T00:00:00Z'),
      sec('audit', 'search', '--tenant', 'contoso', '--format', 'ocsf', '--actor', 'mgr-carol')
    ])
    t.match(ocsf.stdout, /^TIME +TYPE +STATUS +USER +UID\n\S+ +API Activity: Update +Success +mgr-carol +\S+\n/)
    t.match(human.stdout, /^SEQ +TENANT +TIME +OPERATION +RESULT +ACTOR +REQUEST +OBJECT\n1 +contoso +\S+ +ServiceRequestOpened +Success +contoso-user/)
    t.match(JSON.parse(json.stdout), { items: [{ operation: 'LockboxRequestApproved', requestId: req.id, actor: { id: 'contoso-approver' } }], nextCursor: null })
    t.match(o365.stdout, /^CREATED +OPERATION +RESULT +USER +OBJECT\n\S+ +LockboxRequestManagerApproved +Succeeded +mgr-carol/)
    t.match(page.stderr, /^more: add --cursor \S+\n$/)
    t.equal(none.stdout, 'No records.\n')
  })

  t.test('refuses a customer user, and bad filters before asking', async (t) => {
    const [customer, tail, operation, from] = await Promise.all([
      cli.lockbox(['-p', 'customer', 'audit', 'search']),
      cli.lockbox(['-p', 'customer', 'audit', 'tail']),
      sec('audit', 'search', '--operation', 'ContentAccessed,MailSent'),
      sec('audit', 'search', '--from', 'yesterday')
    ])
    t.equal(customer.code, 1)
    t.match(customer.stderr, '(FORBIDDEN)')
    t.equal(tail.code, 1)
    t.match(tail.stderr, '(FORBIDDEN)')
    t.equal(operation.code, 2)
    t.match(operation.stderr, 'unknown operation "MailSent"')
    t.equal(from.code, 2)
    t.match(from.stderr, 'expected a date and time')
  })

  t.test('exports NDJSON to stdout or to a 0600 file with a summary', async (t) => {
    const file = join(files.path, 'audit.ndjson')
    const [stdout, human, json] = await Promise.all([
      sec('audit', 'export', '--tenant', 'contoso', '--format', 'o365'),
      sec('audit', 'export', '--tenant', 'contoso', '-o', file),
      sec('--json', 'audit', 'export', '--tenant', 'contoso', '--request', req.id, '-o', `${file}.2`)
    ])
    const lines = stdout.stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
    t.ok(lines.length >= 4)
    t.match(lines[0], { Operation: 'ServiceRequestOpened', OrganizationId: 'contoso' })
    const records = readFileSync(file, 'utf8').trimEnd().split('\n')
    t.equal(records.length, lines.length)
    t.equal(statSync(file).mode & 0o777, 0o600)
    t.match(human.stdout, new RegExp(`^Exported ${records.length} records \\(\\d+(\\.\\d)? (B|KiB)\\) to ${file}\\.\\n$`))
    t.same(JSON.parse(json.stdout), { file: `${file}.2`, records: readFileSync(`${file}.2`, 'utf8').trimEnd().split('\n').length, bytes: statSync(`${file}.2`).size })
  })

  t.test('verifies a chain and saves a checkpoint', async (t) => {
    const file = join(files.path, 'contoso.jws')
    const [verify, own, checkpoint, saved, json] = await Promise.all([
      sec('--json', 'audit', 'verify', '--tenant', 'contoso'),
      cli.lockbox(['-p', 'approver', 'audit', 'verify']),
      sec('audit', 'checkpoint', '--tenant', 'contoso'),
      cli.lockbox(['-p', 'approver', 'audit', 'checkpoint', '-o', file]),
      sec('--json', 'audit', 'checkpoint', '--tenant', 'contoso')
    ])
    t.match(JSON.parse(verify.stdout), { tenantId: 'contoso', valid: true, firstInvalidSeq: null })
    t.match(own.stdout, /^tenant +contoso\nchain +valid\nrecords +\d+\nhead +seq \d+, hash [0-9a-f]{64}\ninvariant +no access after its grant ended\nstored state +backed by the chain\n$/, 'an approver verifies its own tenant by default')
    t.match(checkpoint.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    t.equal(saved.stdout, `Checkpoint saved to ${file}.\n`)
    t.match(readFileSync(file, 'utf8'), /^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    t.match(JSON.parse(json.stdout), { checkpoint: /^[\w-]+\.[\w-]+\.[\w-]+$/ })
    const provider = await sec('audit', 'verify')
    t.equal(provider.code, 2, 'provider staff name the tenant')
    t.match(provider.stderr, 'error: which tenant? pass --tenant <id>')
  })

  t.test('follows new records as NDJSON until it has seen enough', async (t) => {
    const child = spawnCli(['-p', 'security', '--json', 'audit', 'tail', '--tenant', 'contoso', '--max', '2'], { env: { LOCKBOX_URL: cli.url, LOCKBOX_CONFIG_DIR: cli.configDir } })
    const done = finished(child)
    await waitForOutput(child.stderr as NodeJS.ReadableStream, /following the audit log of contoso/)
    await openServiceRequest(cli.h, 'fabrikam')
    await openServiceRequest(cli.h)
    await openServiceRequest(cli.h)
    const res = await done
    t.equal(res.code, 0, res.stderr)
    const records = res.stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
    t.equal(records.length, 2)
    t.match(records, [{ tenantId: 'contoso', operation: 'ServiceRequestOpened' }, { tenantId: 'contoso', operation: 'ServiceRequestOpened' }])
  })

  t.test('follows one request in lines until Ctrl-C, then exits 0', async (t) => {
    const child = spawnCli(['-p', 'approver', 'audit', 'tail', '--request', req.id], { env: { LOCKBOX_URL: cli.url, LOCKBOX_CONFIG_DIR: cli.configDir } })
    const done = finished(child)
    await waitForOutput(child.stderr as NodeJS.ReadableStream, new RegExp(`following the audit log of every tenant you may read, request ${req.id}`))
    const line = waitForOutput(child.stdout as NodeJS.ReadableStream, /LockboxAccessRevoked/)
    await cli.h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${req.id}/revoke`, payload: {} })
    t.match(await line, new RegExp(`^\\d+  contoso  \\S+  LockboxAccessRevoked  Success  contoso-approver  ${req.id}`))
    child.kill('SIGINT')
    const res = await done
    t.equal(res.code, 0)
    t.equal(res.signal, null)
  })
})

t.test('reports a broken chain with exit 1, and a stream the gateway closed with exit 3', async (t) => {
  const record = { seq: 7, tenantId: 'contoso', time: '2026-11-24T09:00:00.000Z', operation: 'ContentAccessed', result: 'Success', actor: { id: 'eng-ada', type: 'SupportEngineer' }, requestId: null, workload: 'exchange', object: null }
  const odd = await startOddGateway((req, res) => {
    if (req.url?.startsWith('/v1/audit/verify') === true) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ tenantId: 'contoso', valid: false, records: 9, headSeq: 9, headHash: 'ab'.repeat(32), firstInvalidSeq: 3 }))
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(`: connected\n\nevent: heartbeat\ndata: {}\n\nid: contoso:7\nevent: record\ndata: ${JSON.stringify(record)}\n\n`)
  })
  t.teardown(odd.close)
  const config = tempDir('lockbox-cli-')
  t.teardown(config.remove)
  writeProfile(config.path, 'default', { identityToken: 'x' })
  const env = { LOCKBOX_URL: odd.url, LOCKBOX_CONFIG_DIR: config.path }
  const [verify, verifyJson, tail] = await Promise.all([
    runInProcess(['audit', 'verify', '--tenant', 'contoso'], { env }),
    runInProcess(['--json', 'audit', 'verify', '--tenant', 'contoso'], { env }),
    runInProcess(['audit', 'tail'], { env })
  ])
  t.equal(verify.code, 1)
  t.match(verify.stdout, /chain +BROKEN at seq 3/)
  t.match(verify.stderr, 'error: the audit chain of contoso is broken at seq 3\nhint: keep the export')
  t.equal(verifyJson.code, 1)
  t.match(JSON.parse(verifyJson.stdout), { valid: false, firstInvalidSeq: 3 })
  t.match(JSON.parse(verifyJson.stderr), { error: 'the audit chain of contoso is broken at seq 3', exitCode: 1 })
  t.equal(tail.code, 3)
  t.equal(tail.stdout, '7  contoso  2026-11-24T09:00:00.000Z  ContentAccessed  Success  eng-ada\n')
  t.match(tail.stderr, 'error: the gateway closed the audit stream after 1 records')
})

t.test('reports access after a grant ended, and stored state the chain does not back, with exit 1', async (t) => {
  const answers = [
    { tenantId: 'contoso', valid: false, records: 9, headSeq: 9, headHash: 'ab'.repeat(32), firstInvalidSeq: null, invariantViolations: [{ seq: 8, requestId: 'req-1', endedBySeq: 6 }], invariantViolationCount: 1, stateMismatches: [] },
    { tenantId: 'contoso', valid: false, records: 9, headSeq: 9, headHash: 'ab'.repeat(32), firstInvalidSeq: null, invariantViolations: [], invariantViolationCount: 0, stateMismatches: [{ requestId: 'req-2', storedStatus: 'Approved', chainStatus: 'Revoked', seq: 5, field: 'status' }, { requestId: 'req-3', storedStatus: 'Approved', chainStatus: null, seq: 7, field: 'accessEndsAt' }] }
  ]
  let next = 0
  const odd = await startOddGateway((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(answers[next++]))
  })
  t.teardown(odd.close)
  const config = tempDir('lockbox-cli-')
  t.teardown(config.remove)
  writeProfile(config.path, 'default', { identityToken: 'x' })
  const env = { LOCKBOX_URL: odd.url, LOCKBOX_CONFIG_DIR: config.path }
  const violation = await runInProcess(['audit', 'verify', '--tenant', 'contoso'], { env })
  t.equal(violation.code, 1)
  t.match(violation.stdout, /chain +valid\n[^]*invariant +1 access\(es\) after the grant ended\n[^]* {2}seq 8: ContentAccessed for request req-1 after seq 6 ended it\n/)
  t.match(violation.stderr, 'error: the audit chain of contoso holds content access after the grant ended (first at seq 8)')
  const mismatch = await runInProcess(['audit', 'verify', '--tenant', 'contoso'], { env })
  t.equal(mismatch.code, 1)
  t.match(mismatch.stdout, /stored state +2 request\(s\) not backed by the chain\n {2}request req-2: stored as Approved the chain does not back \(last transition seq 5: Revoked\)\n {2}request req-3: stored with a accessEndsAt the chain does not back \(last transition seq 7: no status\)\n/)
  t.match(mismatch.stderr, 'error: request req-2 of contoso is stored in a state its audit chain does not back')
})
