import t, { type Test } from 'tap'
import { parseMessagePatch } from '../../src/mocks/exchange.js'
import { buildMockService } from '../../src/mocks/index.js'
import { createAssertionSigner, TEST_ISSUER } from '../helpers/mock-assertions.js'

const signer = await createAssertionSigner()

async function service (t: Test) {
  const app = buildMockService('exchange', { keys: signer.keys, issuer: TEST_ISSUER })
  t.teardown(async () => { await app.close() })
  return {
    async call (method: 'GET' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
      const tenantId = url.split('/')[2] as string
      const headers = { 'x-lockbox-assertion': await signer.sign('exchange', tenantId) }
      return await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) })
    }
  }
}

const alice = '/tenants/contoso/mailboxes/alice@contoso.com'

t.test('lists the mailboxes of a tenant', async (t) => {
  const { call } = await service(t)
  const res = await call('GET', '/tenants/contoso/mailboxes')
  t.equal(res.statusCode, 200)
  t.same(res.json().map(({ upn }: { upn: string }) => upn), ['alice@contoso.com', 'bob@contoso.com', 'megan@contoso.com'])
  t.match(res.json()[0], { upn: 'alice@contoso.com', displayName: 'Alice Johnson' })
  const fabrikam = await call('GET', '/tenants/fabrikam/mailboxes')
  t.ok(fabrikam.json().some(({ upn }: { upn: string }) => upn === 'adele@fabrikam.com'))
})

t.test('lists the messages of a mailbox, newest first', async (t) => {
  const { call } = await service(t)
  const res = await call('GET', `${alice}/messages`)
  t.equal(res.statusCode, 200)
  const messages = res.json() as Array<Record<string, unknown>>
  t.ok(messages.length >= 3)
  t.same(Object.keys(messages[0] ?? {}).sort(), ['from', 'id', 'isRead', 'receivedAt', 'subject'])
  const times = messages.map(({ receivedAt }) => receivedAt as string)
  t.same(times, [...times].sort().reverse())
})

t.test('reads a whole message with its attachments described, not included', async (t) => {
  const { call } = await service(t)
  const res = await call('GET', `${alice}/messages/AAMk-alice-0001`)
  t.equal(res.statusCode, 200)
  t.match(res.json(), {
    id: 'AAMk-alice-0001',
    subject: 'Q3 report draft for review',
    from: 'bob@contoso.com',
    to: ['alice@contoso.com'],
    body: String,
    receivedAt: '2024-09-30T08:12:44.000Z',
    attachments: [
      { id: 'att-1', name: 'Q3 report draft.docx', contentType: /wordprocessingml/, size: 24_576 },
      { id: 'att-2', name: 'EMEA figures.xlsx', size: 9_830 }
    ]
  })
  t.notOk('bytes' in res.json().attachments[0])
})

t.test('reads an attachment as bytes of its content type and size', async (t) => {
  const { call } = await service(t)
  const doc = await call('GET', `${alice}/messages/AAMk-alice-0001/attachments/att-1`)
  t.equal(doc.statusCode, 200)
  t.match(doc.headers['content-type'], /wordprocessingml/)
  t.equal(doc.rawPayload.length, 24_576)
  t.equal(doc.headers['content-length'], '24576')
  const again = await call('GET', `${alice}/messages/AAMk-alice-0001/attachments/att-1`)
  t.same(again.rawPayload, doc.rawPayload, 'the same bytes every time')
  const rule = await call('GET', `${alice}/messages/AAMk-alice-0002/attachments/att-1`)
  t.match(rule.body, /^Rule: Move invoices/)
  t.match(rule.headers['content-type'], /^text\/plain/)
})

t.test('accepts a percent-encoded mailbox address', async (t) => {
  const { call } = await service(t)
  const res = await call('GET', '/tenants/contoso/mailboxes/alice%40contoso.com/messages')
  t.equal(res.statusCode, 200)
})

t.test('updates a message with PATCH and returns it', async (t) => {
  const { call } = await service(t)
  const res = await call('PATCH', `${alice}/messages/AAMk-alice-0001`, { isRead: true, subject: 'Q3 report (final)' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { id: 'AAMk-alice-0001', isRead: true, subject: 'Q3 report (final)', attachments: [{ id: 'att-1' }, { id: 'att-2' }] })
  const read = await call('GET', `${alice}/messages/AAMk-alice-0001`)
  t.match(read.json(), { isRead: true, subject: 'Q3 report (final)' })
  const listed = await call('GET', `${alice}/messages`)
  t.match(listed.json().find(({ id }: { id: string }) => id === 'AAMk-alice-0001'), { isRead: true, subject: 'Q3 report (final)' })
})

t.test('refuses a PATCH that is not a valid message patch with 400', async (t) => {
  const { call } = await service(t)
  for (const payload of [{}, { isRead: 'yes' }, { subject: '' }, { body: 'rewritten' }, [{ isRead: true }]]) {
    const res = await call('PATCH', `${alice}/messages/AAMk-alice-0001`, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
  }
  const unchanged = await call('GET', `${alice}/messages/AAMk-alice-0001`)
  t.match(unchanged.json(), { isRead: false, subject: 'Q3 report draft for review' })
})

t.test('deletes a message with DELETE', async (t) => {
  const { call } = await service(t)
  const res = await call('DELETE', `${alice}/messages/AAMk-alice-0003`)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await call('GET', `${alice}/messages/AAMk-alice-0003`)).statusCode, 404)
  t.notOk((await call('GET', `${alice}/messages`)).json().some(({ id }: { id: string }) => id === 'AAMk-alice-0003'))
  t.equal((await call('DELETE', `${alice}/messages/AAMk-alice-0003`)).statusCode, 404)
})

t.test('starts every instance from the sample content', async (t) => {
  const first = await service(t)
  await first.call('DELETE', `${alice}/messages/AAMk-alice-0001`)
  const second = await service(t)
  t.equal((await second.call('GET', `${alice}/messages/AAMk-alice-0001`)).statusCode, 200)
})

t.test('answers 404 naming the unknown tenant, mailbox, message or attachment', async (t) => {
  const { call } = await service(t)
  const cases: Array<[method: 'GET' | 'PATCH' | 'DELETE', url: string, error: string]> = [
    ['GET', '/tenants/northwind/mailboxes', 'tenant not found'],
    ['GET', '/tenants/northwind/mailboxes/nancy@northwind.example/messages', 'tenant not found'],
    ['GET', '/tenants/contoso/mailboxes/adele@fabrikam.com/messages', 'mailbox not found'],
    ['GET', '/tenants/contoso/mailboxes/ALICE@contoso.com/messages', 'mailbox not found'],
    ['GET', `${alice}/messages/AAMk-bob-0001`, 'message not found'],
    ['GET', '/tenants/contoso/mailboxes/zoe@contoso.com/messages/AAMk-alice-0001', 'mailbox not found'],
    ['PATCH', `${alice}/messages/nope`, 'message not found'],
    ['DELETE', '/tenants/contoso/mailboxes/zoe@contoso.com/messages/AAMk-alice-0001', 'mailbox not found'],
    ['GET', `${alice}/messages/nope/attachments/att-1`, 'message not found'],
    ['GET', `${alice}/messages/AAMk-alice-0001/attachments/att-9`, 'attachment not found'],
    ['GET', '/tenants/contoso/calendars', 'route not found']
  ]
  for (const [method, url, error] of cases) {
    const res = await call(method, url, method === 'PATCH' ? { isRead: true } : undefined)
    t.equal(res.statusCode, 404, url)
    t.same(res.json(), { error }, url)
  }
})

t.test('reads a patch of isRead and/or subject only', async (t) => {
  t.same(parseMessagePatch({ isRead: false }), { isRead: false })
  t.same(parseMessagePatch({ subject: 'x', isRead: true }), { subject: 'x', isRead: true })
  for (const body of [null, undefined, 'isRead', 1, [], {}, { isRead: 1 }, { subject: 3 }, { subject: '' }, { flagged: true }]) {
    t.equal(parseMessagePatch(body), null, JSON.stringify(body))
  }
})
