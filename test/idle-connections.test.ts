// An answer whose end() was called but whose tail is still queued for a slow reader is not cut by
// the drain's sweeps, nor by close(); the connection is closed once the tail has left.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { closeIdleOnceFlushed, type IdleConnections } from '../src/idle-connections.js'

// Written at once: far more than loopback's socket buffers hold, so most of it waits in the process.
const BODY = Buffer.alloc(64 * 1024 * 1024, 7)

interface Download { res: IncomingMessage, bytes: () => Promise<number>, closed: Promise<unknown> }

/** A server that answers BODY with one end(), and a keep-alive client that does not read yet. */
async function slowDownload (t: Test): Promise<{ server: Server, idle: IdleConnections, download: Download }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-length', BODY.length)
    res.end(BODY)
  })
  const idle = closeIdleOnceFlushed(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => { agent.destroy() })
  const req = request({ host: '127.0.0.1', port: (server.address() as { port: number }).port, agent })
  req.end()
  const [res] = await once(req, 'response') as [IncomingMessage]
  res.pause()
  const closed = once(res.socket, 'close')
  let count = 0
  res.on('data', (chunk: Buffer) => { count += chunk.length })
  const ended = new Promise<number>((resolve, reject) => {
    res.once('end', () => { resolve(count) })
    res.once('error', reject)
  })
  ended.catch(() => {})
  const bytes = async (): Promise<number> => {
    res.resume()
    return await ended
  }
  return { server, idle, download: { res, bytes, closed } }
}

t.test('keeps a connection whose answer ended but is still queued, then closes it once it has left', async (t) => {
  const { server, download } = await slowDownload(t)
  // The server's end() was called at once; the client has read nothing.
  await sleep(200)
  server.closeIdleConnections()
  t.equal(await download.bytes(), BODY.length, 'the whole answer arrives: the sweep did not cut its tail')
  server.closeIdleConnections()
  await download.closed
  t.pass('the connection, idle now, is closed')
})

t.test('close() at the start of a drain does not cut it either', async (t) => {
  const { server, download } = await slowDownload(t)
  await sleep(200)
  const closed = new Promise((resolve) => { server.close(resolve) })
  t.equal(await download.bytes(), BODY.length, 'the whole answer arrives')
  server.closeIdleConnections()
  await closed
  t.pass('the server closes once the connection was')
})

t.test('cut() sweeps as Node does: a tail still queued is lost', async (t) => {
  const { idle, download } = await slowDownload(t)
  await sleep(200)
  idle.cut()
  await t.rejects(download.bytes(), { code: 'ECONNRESET' })
  await download.closed
})
