import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { openRedisStores } from '../src/stores/redis/index.js'
const port = 6391
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
await sleep(500)
const client = new Redis({ port })
const used = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1])
const log: any = { debug () {}, info () {}, warn () {}, error () {}, child () { return log } }
const stores = await openRedisStores({ connection: { url: `redis://127.0.0.1:${port}` }, now: Date.now, log })
const d = (i: number) => ({ tenantId: 'contoso', operation: 'ContentAccessed' as const, result: 'Success' as const, actor: { id: 'eng-' + (i % 50), type: 'SupportEngineer' as const }, clientIp: '10.0.0.7', requestId: 'r' + (i % 1000), workload: 'exchange', object: '/mailboxes/alice@contoso.com/messages/' + i, details: { method: 'GET', path: '/exchange/contoso/mailboxes/alice@contoso.com/messages/' + i, accessId: 'a-' + i } })
await stores.lockbox.commit({ tenantId: 'contoso', audit: [d(0)] })
const before = await used()
const N = 20000
let n = 0
await Promise.all(Array.from({ length: 64 }, async () => { while (n < N) { n++; await stores.lockbox.commit({ tenantId: 'contoso', audit: [d(n)] }) } }))
const after = await used()
const text = JSON.stringify((await stores.audit.query({ limit: 1 })).items[0])
console.log(JSON.stringify({ N, bytesPerRecord: Math.round((after - before) / N), recordJsonBytes: text.length }))
await stores.close(); client.disconnect(); server.kill()
