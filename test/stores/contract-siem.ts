// The SIEM delivery cursors (src/siem): per tenant and sink, compare-and-set, durable across a reopen.
import { GENESIS_HASH } from '../../src/domain/audit.js'
import type { SiemCursor } from '../../src/stores/types.js'
import { openFor, type OpenStores, type Test } from './contract-fixtures.js'

const start = (sink: string, tenantId: string, owner: string | null = null): Omit<SiemCursor, 'version'> =>
  ({ sink, tenantId, seq: 0, hash: GENESIS_HASH, time: null, owner, leaseUntil: owner === null ? 0 : 1000 })

export function siemCursorsContract (t: Test, open: OpenStores): void {
  t.test('keeps a SIEM cursor per tenant and sink, set by compare-and-set', async (t) => {
    const stores = await openFor(t, open)
    const cursors = stores.siemCursors
    t.equal(await cursors.get('hec', 'contoso'), null)
    t.equal(await cursors.put(start('hec', 'contoso', 'a'), 1), false, 'nothing stored: only version 0 matches')
    t.equal(await cursors.put(start('hec', 'contoso', 'a'), 0), true)
    t.equal(await cursors.put(start('hec', 'contoso', 'b'), 0), false, 'a second creation loses')
    t.same(await cursors.get('hec', 'contoso'), { ...start('hec', 'contoso', 'a'), version: 1 })

    const advanced = { ...start('hec', 'contoso', 'a'), seq: 42, hash: 'f'.repeat(64), time: '2025-06-02T08:00:00.000Z', leaseUntil: 5000 }
    t.equal(await cursors.put(advanced, 1), true)
    t.equal(await cursors.put({ ...advanced, owner: 'b' }, 1), false, 'a stale version loses, whoever asks')
    t.same(await cursors.get('hec', 'contoso'), { ...advanced, version: 2 })

    t.equal(await cursors.get('syslog', 'contoso'), null, 'each sink has its own cursor')
    t.equal(await cursors.get('hec', 'fabrikam'), null, 'and each tenant')
    t.equal(await cursors.put(start('syslog', 'contoso'), 0), true)
    t.equal(await cursors.put(start('hec', 'fabrikam'), 0), true)
    t.equal((await cursors.get('hec', 'contoso'))?.seq, 42)
  })

  t.test('of many concurrent compare-and-sets on one version, exactly one wins', async (t) => {
    const stores = await openFor(t, open)
    const results = await Promise.all(Array.from({ length: 8 }, async (_, i) => await stores.siemCursors.put(start('hec', 'contoso', `owner-${i}`), 0)))
    t.equal(results.filter(Boolean).length, 1)
    const winner = results.indexOf(true)
    t.equal((await stores.siemCursors.get('hec', 'contoso'))?.owner, `owner-${winner}`)
  })
}
