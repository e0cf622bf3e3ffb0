// The bench's baseline: @fastify/http-proxy as its README shows it, with no checks, no audit and no
// logging, and the same prefix rewrite as the gateway (/exchange/… → /tenants/…).
import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'

const [port, upstream] = [Number(process.argv[2]), process.argv[3] as string]
const app = Fastify({ logger: false })
await app.register(proxy, { upstream, prefix: '/exchange', rewritePrefix: '/tenants', websocket: false })
await app.listen({ host: '127.0.0.1', port })
process.stdout.write(`listening ${port}\n`)
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
