import { performance } from 'node:perf_hooks'
import { openEmbeddedStores } from '../src/stores/embedded/index.js'
const dataDir = '/tmp/lm/d2'
const s = await openEmbeddedStores({ dataDir })
const d = (i: number) => ({ tenantId: 'contoso', operation: 'ContentAccessed' as const, result: 'Success' as const, actor: { id: 'eng-' + (i % 50), type: 'System' as const }, clientIp: null, requestId: 'r' + (i % 100), workload: null, object: null, details: { path: '/x/' + i } })
let t0 = performance.now()
let inCb = 0
let n = 0
await Promise.all(Array.from({ length: 256 }, async () => { while (n < 20000) { n++; await s.lockbox.commit({ tenantId: 'contoso', audit: [d(n)] }) } }))
console.log('commits', 20000 / ((performance.now() - t0) / 1000), s.stats)
t0 = performance.now()
await Promise.all(Array.from({ length: 20 }, async (_, k) => { for (let j = 0; j < 50; j++) await s.lockbox.commit({ tenantId: 'contoso', audit: Array.from({ length: 100 }, (_, i) => d(i)) }) }))
console.log('bulk', 100000 / ((performance.now() - t0) / 1000), s.stats)
for (const f of [{ tenantId: 'contoso' }, {}]) {
  t0 = performance.now(); let c = 0
  for await (const r of s.audit.export(f)) c++
  console.log('export', JSON.stringify(f), c / ((performance.now() - t0) / 1000))
}
t0 = performance.now()
for (let i = 0; i < 20; i++) s.audit.query({ tenantId: 'contoso', actorId: 'eng-7', limit: 100 })
console.log('query ms', (performance.now() - t0) / 20)
await s.close()
