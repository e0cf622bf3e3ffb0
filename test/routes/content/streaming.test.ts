// Bodies stream through the gateway both ways without being held, and a grant that ends (revoke,
// cancel, window end) cuts the transfers already under way.
import t, { type Test } from 'tap'
import { startTestApp, type TestApp } from '../../helpers/app.js'
import { contentRecords, eventually, granted, listen, type Granted } from '../../helpers/content.js'
import { memorySampler } from '../../helpers/memory.js'
import { startAppBehindUpstream, startRecordingUpstream } from '../../helpers/recording-upstream.js'
import { download, upload } from '../../helpers/transfer.js'

const MiB = 1024 * 1024
const FILE_SIZE = 50 * MiB
const PHOENIX = '/sharepoint/contoso/sites/finance/files/Shared%20Documents/Archive/Project%20Phoenix%20assets.zip'
const OFFSITE = '/onedrive/contoso/drives/alice@contoso.com/items/Videos/Team%20offsite.mp4'
// Far below the 50 MiB that buffering one body would cost.
// The test process holds the client, the gateway and the upstream at once, so their buffers add up:
// 35 MiB stays well below the 50 MiB transferred, which a gateway holding the body whole would exceed.
const GROWTH_BOUND = 35 * MiB

async function completedRecord (h: TestApp, requestId: string, tenantId = 'contoso'): Promise<Record<string, any>> {
  const [record] = await eventually('ContentAccessCompleted', async () => await contentRecords(h, requestId, 'ContentAccessCompleted', tenantId), (r) => r.length > 0)
  return record as Record<string, any>
}

async function financeGateway (t: Test): Promise<{ h: TestApp, grant: Granted, port: number }> {
  const h = await startTestApp()
  t.teardown(h.close)
  const grant = await granted(h, { workload: 'sharepoint', scope: '/sites/finance' })
  return { h, grant, port: await listen(h) }
}

t.test('streams a 50 MiB download to a slow reader without holding it', async (t) => {
  const { h, grant, port } = await financeGateway(t)
  const sampler = memorySampler()
  const baseline = sampler.peak
  // A pause after every 2 MiB keeps the reader far slower than the mock (which could send tens of
  // MiB in each pause): only backpressure keeps the gateway from piling the file up in memory.
  const res = await download(port, PHOENIX, { authorization: grant.authorization }, { pauseMs: 50, pauseEvery: 2 * MiB })
  t.equal(res.status, 200)
  t.equal(res.headers['content-length'], String(FILE_SIZE))
  const { bytes, complete } = await res.ended
  const peak = sampler.stop()
  t.equal(bytes, FILE_SIZE)
  t.ok(complete)
  t.ok(peak - baseline < GROWTH_BOUND, `memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB, bound ${GROWTH_BOUND / MiB} MiB`)
  const record = await completedRecord(h, grant.request.id)
  t.match(record, { result: 'Success', details: { status: 200, bytes: FILE_SIZE, completed: true, cutBy: null } })
})

t.test('streams a 50 MiB upload without holding it', async (t) => {
  const upstream = await startRecordingUpstream()
  const h = await startTestApp({ config: { upstreams: { exchange: null, sharepoint: null, onedrive: upstream.url } } })
  t.teardown(async () => {
    await h.close()
    await upstream.close()
  })
  const grant = await granted(h, { workload: 'onedrive', scope: '/drives/alice@contoso.com', accessLevel: 'readwrite' })
  const port = await listen(h)
  const sampler = memorySampler()
  const baseline = sampler.peak
  const res = await upload(port, '/onedrive/contoso/drives/alice@contoso.com/items/Videos/raw.mp4', { authorization: grant.authorization, 'content-type': 'video/mp4' }, FILE_SIZE)
  const peak = sampler.stop()
  t.equal(res.status, 200)
  t.equal(JSON.parse(res.body).bytes, FILE_SIZE)
  t.equal(upstream.requests[0]?.bytes, FILE_SIZE)
  t.equal(upstream.requests[0]?.headers['content-type'], 'video/mp4')
  t.ok(peak - baseline < GROWTH_BOUND, `memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB, bound ${GROWTH_BOUND / MiB} MiB`)
  const record = await completedRecord(h, grant.request.id)
  t.match(record, { result: 'Success', details: { method: 'PUT', status: 200, bytesIn: FILE_SIZE, completed: true } })
})

t.test('streams an upload into the built-in mock', async (t) => {
  const { h, port } = await financeGateway(t)
  const grant = await granted(h, { workload: 'sharepoint', scope: '/sites/finance', accessLevel: 'readwrite' })
  const res = await upload(port, '/sharepoint/contoso/sites/finance/files/Shared%20Documents/big.bin', { authorization: grant.authorization, 'content-type': 'application/octet-stream' }, 10 * MiB)
  t.equal(res.status, 201)
  t.match(JSON.parse(res.body), { size: 10 * MiB })
})

t.test('cuts a download in flight when the request is revoked', async (t) => {
  const { h, grant, port } = await financeGateway(t)
  const res = await download(port, PHOENIX, { authorization: grant.authorization }, { pauseMs: 20 })
  t.equal(res.status, 200)
  await eventually('first bytes', async () => res.received(), (n) => n > 0)
  t.equal(h.app.gateway.inFlight.size, 1)
  const revoke = await h.as('contoso-approver', { method: 'POST', url: `/v1/requests/${grant.request.id}/revoke` })
  t.equal(revoke.statusCode, 200)
  const cutAt = Date.now()
  const { bytes, complete } = await res.ended
  t.ok(Date.now() - cutAt < 5000, 'the transfer ends within 5 s of the revoke')
  t.notOk(complete)
  t.ok(bytes < FILE_SIZE, `${bytes} of ${FILE_SIZE} bytes arrived`)
  const record = await completedRecord(h, grant.request.id)
  t.match(record, { result: 'Failure', details: { status: 200, completed: false, cutBy: 'Revoked' } })
  t.ok(record.details.bytes < FILE_SIZE)
  t.equal(h.app.gateway.inFlight.size, 0)
})

t.test('cuts a download in flight when its requester cancels', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const grant = await granted(h, { workload: 'onedrive', scope: '/drives/alice@contoso.com' })
  const port = await listen(h)
  const res = await download(port, OFFSITE, { authorization: grant.authorization }, { pauseMs: 20 })
  t.equal(res.status, 200)
  await eventually('first bytes', async () => res.received(), (n) => n > 0)
  t.equal((await h.as('eng-ada', { method: 'POST', url: `/v1/requests/${grant.request.id}/cancel` })).statusCode, 200)
  const { complete } = await res.ended
  t.notOk(complete)
  const record = await completedRecord(h, grant.request.id)
  t.match(record, { details: { completed: false, cutBy: 'Completed' } })
})

t.test('cuts a download in flight when the access window ends', async (t) => {
  const { h, grant, port } = await financeGateway(t)
  const res = await download(port, PHOENIX, { authorization: grant.authorization }, { pauseMs: 20 })
  t.equal(res.status, 200)
  await eventually('first bytes', async () => res.received(), (n) => n > 0)
  // No event announces a window's end: the registry's own watch notices it.
  h.advance(Date.parse(grant.request.accessEndsAt as string) - h.now())
  const endedAt = Date.now()
  const { bytes, complete } = await res.ended
  t.ok(Date.now() - endedAt < 5000, 'the transfer ends within 5 s of the window end')
  t.notOk(complete)
  t.ok(bytes < FILE_SIZE)
  const record = await completedRecord(h, grant.request.id)
  t.match(record, { result: 'Failure', details: { completed: false, cutBy: 'AccessWindowEnded' } })
})

t.test('records the outcome of a download the client abandons, and releases the upstream', async (t) => {
  const { h, upstream } = await startAppBehindUpstream(t)
  upstream.mode = 'stream'
  const grant = await granted(h)
  const port = await listen(h)
  const res = await download(port, '/exchange/contoso/mailboxes/alice@contoso.com/export.pst', { authorization: grant.authorization }, { pauseMs: 20 })
  t.equal(res.status, 200)
  await eventually('first bytes', async () => res.received(), (n) => n > 0)
  res.abort()
  const record = await completedRecord(h, grant.request.id)
  t.match(record, { result: 'Failure', details: { status: 200, completed: false, cutBy: null } })
  t.equal(h.app.gateway.inFlight.size, 0, 'no longer tracked')
  // Well before the 30 s body timeout: the gateway lets go of the upstream as soon as the client is gone.
  await eventually('upstream response cut', async () => upstream.cutResponses, (n) => n === 1)
  t.pass('the upstream connection is released')
})
