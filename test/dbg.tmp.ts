import { openEmbeddedStores } from '../src/stores/embedded/index.js'
import { editRecords } from './helpers/embedded-db.js'
const dataDir = '/tmp/lm/d1'
let s = await openEmbeddedStores({ dataDir })
const d = (tenantId: string, requestId: string | null) => ({ tenantId, operation: 'ContentAccessed' as const, result: 'Success' as const, actor: { id: 'a', type: 'System' as const }, clientIp: null, requestId, workload: null, object: null, details: {} })
for (let i = 0; i < 6; i++) {
  await s.lockbox.commit({ tenantId: 'contoso', audit: [d('contoso', i > 1 ? 'r1' : null), d('contoso', 'r1')] })
  await s.lockbox.commit({ tenantId: 'fab', audit: [d('fab', null)] })
}
await s.close()
await editRecords(dataDir, 'contoso', (slots) => { (slots[3] as any).record = null })
s = await openEmbeddedStores({ dataDir })
for (const f of [{ tenantId: 'contoso' }, { tenantId: 'contoso', tenantIds: ['contoso'] }, {}]) {
const seqs: number[] = []
for await (const r of s.audit.export(f)) seqs.push(r.seq)
console.log(seqs)
}
console.log(await s.audit.verify('contoso'))
await s.close()
