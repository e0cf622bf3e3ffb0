// The audit export (streamed NDJSON), searchability at answer time, and signed checkpoints.
import t from 'tap'
import { get } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose'
import { EMPTY_HEAD, type AuditDraft } from '../../../src/domain/audit.js'
import { CHECKPOINT_TYPE, verifyCheckpoint } from '../../../src/gateway/checkpoint.js'
import { START, startTestApp } from '../../helpers/app.js'
import { approvedRequest, auditOf, createRequest, decide, review } from '../../helpers/workflow.js'

const NDJSON = 'application/x-ndjson'

const parseLines = (body: string): Array<Record<string, any>> => body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line))

t.test('streams NDJSON that holds exactly what search finds, filter by filter, native or o365', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const approved = await approvedRequest(h)
  h.advance(60_000)
  await createRequest(h, { tenantId: 'fabrikam', scope: '/' })
  const from = new Date(START + 60_000).toISOString()

  const queries = ['', 'tenantId=contoso', `requestId=${approved.id}`, 'operation=LockboxRequestCreated,LockboxRequestApproved', 'actorId=contoso-approver',
    `from=${from}`, `to=${from}`, `tenantId=fabrikam&from=${from}`, 'tenantId=northwind', 'format=o365', 'tenantId=contoso&format=o365']
  for (const query of queries) {
    const exported = await h.as('sec-erin', { url: `/v1/audit/export?${query}` })
    t.equal(exported.statusCode, 200, query)
    t.equal(exported.headers['content-type'], NDJSON, query)
    const searched = (await h.as('sec-erin', { url: `/v1/audit?${query}&limit=1000` })).json().items
    t.same(parseLines(exported.body), searched, query)
  }
  const all = await h.as('sec-erin', { url: '/v1/audit/export' })
  t.equal(all.headers['content-disposition'], 'attachment; filename="lockbox-audit-all.ndjson"')
  t.ok(all.body.endsWith('\n'), 'every record ends its line')
  const o365 = await h.as('contoso-approver', { url: '/v1/audit/export?tenantId=contoso&format=o365' })
  t.equal(o365.headers['content-disposition'], 'attachment; filename="lockbox-audit-contoso-o365.ndjson"')
  const approval = parseLines(o365.body).find((record) => record.Operation === 'LockboxRequestApproved')
  t.match(approval, { OrganizationId: 'contoso', UserId: 'contoso-approver', UserType: 2, RecordType: 1, Workload: 'Exchange', ResultStatus: 'Succeeded', LockboxRequestId: approved.id })
  t.equal(parseLines((await h.as('sec-erin', { url: '/v1/audit/export?tenantId=northwind' })).body).length, 0, 'a tenant without records exports nothing')
})

t.test('refuses an export to whoever search refuses, the same way', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await createRequest(h)
  await createRequest(h, { tenantId: 'fabrikam', scope: '/' })
  const callers: Array<[string | null, string, number]> = [
    [null, '', 401],
    ['eng-ada', '', 403],
    ['mgr-carol', 'tenantId=contoso', 403],
    ['contoso-user', '', 403],
    ['contoso-approver', 'tenantId=fabrikam', 403],
    ['rogue-contoso-engineer', 'tenantId=fabrikam', 403],
    ['sec-erin', 'operation=Nope', 400],
    ['sec-erin', `from=${new Date(START + 1000).toISOString()}&to=${new Date(START).toISOString()}`, 400],
    ['sec-erin', 'format=csv', 400],
    ['contoso-admin', 'tenantId=contoso', 200]
  ]
  for (const [user, query, status] of callers) {
    const exported = await h.as(user, { url: `/v1/audit/export?${query}` })
    const searched = await h.as(user, { url: `/v1/audit?${query}` })
    t.equal(exported.statusCode, status, `${user ?? 'anonymous'} ${query}`)
    t.equal(searched.statusCode, status)
    if (status !== 200) t.equal(exported.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  const own = parseLines((await h.as('contoso-approver', { url: '/v1/audit/export' })).body)
  t.ok(own.length > 0 && own.every((record) => record.tenantId === 'contoso'), 'a customer without a tenant filter exports its own tenant only')
})

t.test('finds a record in the same instant the call that made it answered', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const request = await createRequest(h)
  await review(h, request.id)
  await decide(h, request.id)
  const records = await auditOf(h, `requestId=${request.id}`)
  t.equal(records.at(-1)?.operation, 'LockboxRequestApproved', 'searched right after the decision answered, with nothing awaited in between')
  const exported = parseLines((await h.as('sec-erin', { url: `/v1/audit/export?requestId=${request.id}` })).body)
  t.same(exported, records)
})

t.test('signs the chain head as a checkpoint that verifies with the JWKS', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  await approvedRequest(h)
  const jwks = (await h.app.inject({ url: '/.well-known/jwks.json' })).json() as JSONWebKeySet
  const res = await h.as('contoso-approver', { url: '/v1/audit/checkpoint?tenantId=contoso' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/jose/)
  const header = decodeProtectedHeader(res.body)
  t.match(header, { alg: 'EdDSA', typ: CHECKPOINT_TYPE })
  t.ok(jwks.keys.some((key) => key.kid === header.kid), 'signed with a key the JWKS publishes')
  const checkpoint = await verifyCheckpoint(res.body, createLocalJWKSet(jwks))
  const verify = (await h.as('contoso-approver', { url: '/v1/audit/verify?tenantId=contoso' })).json()
  t.match(checkpoint, { tenantId: 'contoso', seq: verify.headSeq, hash: verify.headHash })
  t.ok(Number.isFinite(Date.parse(checkpoint.time)))
  t.same(await h.app.stores.audit.head('contoso'), { seq: checkpoint.seq, hash: checkpoint.hash })

  const empty = await verifyCheckpoint((await h.as('sec-erin', { url: '/v1/audit/checkpoint?tenantId=northwind' })).body, createLocalJWKSet(jwks))
  t.match(empty, { tenantId: 'northwind', seq: EMPTY_HEAD.seq, hash: EMPTY_HEAD.hash })
})

t.test('refuses a checkpoint to whoever may not read the tenant\'s log', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const callers: Array<[string | null, string, number]> = [
    [null, 'tenantId=contoso', 401],
    ['eng-ada', 'tenantId=contoso', 403],
    ['contoso-user', 'tenantId=contoso', 403],
    ['contoso-approver', 'tenantId=fabrikam', 403],
    ['sec-erin', '', 400],
    ['contoso-admin', 'tenantId=contoso', 200],
    ['sec-erin', 'tenantId=fabrikam', 200]
  ]
  for (const [user, query, status] of callers) {
    t.equal((await h.as(user, { url: `/v1/audit/checkpoint?${query}` })).statusCode, status, `${user ?? 'anonymous'} ${query}`)
  }
})

/** A full collection now, when the process allows it: what stays is what is really held. */
function collector (): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

const heldBytes = (): number => {
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

t.test('streams an export of 100k records to a slow reader with bounded memory', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const RECORDS = 100_000
  const draft = (index: number): AuditDraft => ({
    tenantId: 'contoso',
    operation: 'ContentAccessed',
    result: 'Success',
    actor: { id: 'eng-ada', type: 'SupportEngineer' },
    clientIp: '127.0.0.1',
    requestId: `req-${index % 100}`,
    workload: 'exchange',
    object: `/mailboxes/alice@contoso.com/messages/${index}`,
    details: { method: 'GET', accessId: `access-${index}` }
  })
  for (let start = 0; start < RECORDS; start += 2000) {
    await h.app.stores.lockbox.commit({ tenantId: 'contoso', audit: Array.from({ length: 2000 }, (_, index) => draft(start + index)) })
  }
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as AddressInfo
  const authorization = `Bearer ${await h.token('sec-erin')}`
  const gc = collector()
  gc()
  const baseline = heldBytes()

  let bytes = 0
  let lines = 0
  let lastSeq = 0
  let carry = ''
  let nextSample = 0
  let peak = 0
  const status = await new Promise<number>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/v1/audit/export?tenantId=contoso', headers: { authorization } }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        bytes += chunk.length
        const parts = (carry + chunk).split('\n')
        carry = parts.pop() as string
        for (const part of parts) {
          lines++
          lastSeq = (JSON.parse(part) as { seq: number }).seq
        }
        // A slow reader: it stops now and then (for long at first), measuring what the process holds
        // meanwhile. A server that ignored back-pressure would pile the export up in memory.
        if (bytes >= nextSample) {
          res.pause()
          setTimeout(() => {
            gc()
            peak = Math.max(peak, heldBytes() - baseline)
            res.resume()
          }, nextSample === 0 ? 300 : 10)
          nextSample += 4 << 20
        }
      })
      res.on('end', () => { resolve(res.statusCode as number) })
      res.on('error', reject)
    }).on('error', reject)
  })
  t.equal(status, 200)
  t.equal(lines, RECORDS)
  t.equal(lastSeq, RECORDS, 'every record, in order, to the last')
  t.equal(carry, '')
  t.ok(peak < bytes / 4, `held at most ${(peak / 2 ** 20).toFixed(1)} MiB more while streaming ${(bytes / 2 ** 20).toFixed(1)} MiB`)
})
