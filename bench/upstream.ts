// The bench's content service: answers every request with the same ~1 KB JSON body, as fast as a
// plain Node server can, so the proxies in front of it are what the bench compares.
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 0)
const body = Buffer.from(JSON.stringify({
  value: Array.from({ length: 12 }, (_, i) => ({ id: `AAMkAD${i}`, subject: `Quarterly report ${i}`, from: 'alice@contoso.com', isRead: i % 2 === 0 }))
}))

const server = createServer((req, res) => {
  // The request body (if any) is read and dropped, so keep-alive goes on.
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`)
})
process.on('SIGTERM', () => { server.close(); server.closeAllConnections() })
