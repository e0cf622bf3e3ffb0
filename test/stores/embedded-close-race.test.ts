// Closing the embedded store while a commit it accepted is still being written: the commit settles
// (it was written: the close waits for it), and nothing is thrown from under the caller.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import { draft, newRequest } from './contract-fixtures.js'

t.test('a commit under way when the store closes settles, and throws nothing from under the caller', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lockbox-close-race-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const stores = await openEmbeddedStores({ dataDir })
  const request = newRequest()
  const committing = stores.lockbox.commit({ tenantId: request.tenantId, requests: [{ value: request, expectedVersion: 0 }], audit: [draft('LockboxRequestCreated', { tenantId: request.tenantId, requestId: request.id, actorId: request.requester.id })] })
  await stores.close()
  t.equal((await committing).length, 1, 'accepted before the close: written, and answered')
  const reopened = await openEmbeddedStores({ dataDir })
  t.match(await reopened.lockbox.getRequest(request.id), { id: request.id, version: 1 }, 'on disk')
  await reopened.close()
})
