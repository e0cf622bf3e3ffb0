// The content routes' log: one access line per call, with the request id and the outcome, and
// never a credential, even when a client sends them in every header that can carry one.
import t from 'tap'
import { loggerOptions } from '../../../src/app.js'
import { startTestApp } from '../../helpers/app.js'
import { testConfig } from '../../helpers/config.js'
import { eventually, granted } from '../../helpers/content.js'
import { closedPort } from '../../helpers/raw-http.js'

const MAILBOX = '/exchange/contoso/mailboxes/alice@contoso.com'

t.test('writes one access line per content call with its request id and outcome, and no credential', async (t) => {
  const lines: Array<Record<string, any>> = []
  const raw: string[] = []
  const down = `http://127.0.0.1:${await closedPort()}`
  const options = loggerOptions(testConfig('unused', { logLevel: 'info' })) as object
  const h = await startTestApp({
    config: { upstreams: { exchange: null, sharepoint: down, onedrive: null } },
    overrides: { logger: { ...options, stream: { write: (line: string) => { raw.push(line); lines.push(JSON.parse(line)) } } } }
  })
  t.teardown(h.close)
  const mail = await granted(h)
  const files = await granted(h, { workload: 'sharepoint', scope: '/sites/finance' })
  const secrets = { cookie: 'session=cookie-secret', 'proxy-authorization': 'Basic cHJveHktc2VjcmV0', 'x-lockbox-assertion': 'forged.assertion.secret' }
  const forwarded = await h.app.inject({ url: `${MAILBOX}/messages`, headers: { authorization: mail.authorization, ...secrets } })
  const denied = await h.app.inject({ url: '/exchange/contoso/mailboxes/bob@contoso.com', headers: { authorization: mail.authorization, ...secrets } })
  const failed = await h.app.inject({ url: '/sharepoint/contoso/sites/finance/files', headers: { authorization: files.authorization } })
  t.same([forwarded.statusCode, denied.statusCode, failed.statusCode], [200, 403, 502])
  const access = await eventually('three access lines', async () => lines.filter((line) => line.msg === 'content access'), (found) => found.length === 3)
  t.match(access, [
    { reqId: String, accessId: forwarded.headers['x-lockbox-access-id'], outcome: 'forwarded', status: 200, requestId: mail.request.id },
    { reqId: String, accessId: denied.headers['x-lockbox-access-id'], outcome: 'denied', reason: 'OUT_OF_SCOPE', status: 403 },
    { reqId: String, accessId: failed.headers['x-lockbox-access-id'], outcome: 'upstream_error', status: 502 }
  ])
  t.equal(new Set(access.map((line) => line.reqId)).size, 3, 'each call has its own request id')
  const all = raw.join('')
  for (const secret of [mail.token, files.token, 'cookie-secret', 'cHJveHktc2VjcmV0', 'forged.assertion.secret']) {
    t.notOk(all.includes(secret), 'no credential in the log')
  }
})

t.test('redacts credential headers wherever a headers object is logged', async (t) => {
  const raw: string[] = []
  const h = await startTestApp({
    overrides: { logger: { ...(loggerOptions(testConfig('unused', { logLevel: 'info' })) as object), stream: { write: (line: string) => { raw.push(line) } } } }
  })
  t.teardown(h.close)
  const headers = { authorization: 'Bearer top-secret', cookie: 'a=secret-cookie', 'proxy-authorization': 'Basic secret-proxy', 'x-lockbox-assertion': 'secret-assertion', accept: 'text/plain' }
  h.app.log.info({ headers }, 'headers as logged')
  const line = JSON.parse(raw.find((l) => l.includes('headers as logged')) as string)
  t.same(line.headers, { authorization: '[redacted]', cookie: '[redacted]', 'proxy-authorization': '[redacted]', 'x-lockbox-assertion': '[redacted]', accept: 'text/plain' })
})
