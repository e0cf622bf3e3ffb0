// Closing idle keep-alive connections while the server drains, without cutting an answer's tail.
import type { Server } from 'node:http'
import type { Socket } from 'node:net'

export interface IdleConnections {
  /** Node's own sweep, bytes still queued or not: for when the drain time is up. */
  cut: () => void
}

/**
 * Makes `server.closeIdleConnections()` skip its sweep while any connection still has bytes queued
 * for its client; the drain calls it again 100 ms later.
 *
 * Node counts a connection idle as soon as its response's `end()` was called, not once what it
 * wrote has left the process. The tail of an answer still waits in the socket's buffer while the
 * client reads it: up to the high-water mark (16 KiB on Node 20, 64 KiB since Node 22, which made
 * a download's last chunks far likelier to be there) or a whole body written at once. Node's sweep
 * destroys that socket, and the client gets ECONNRESET on a response the server saw finished.
 * `server.close()` calls the same method at once, so the override also covers the drain's start.
 * A connection closed late costs nothing: `close()` waits for the busy ones anyway.
 */
export function closeIdleOnceFlushed (server: Server): IdleConnections {
  const sockets = new Set<Socket>()
  server.on('connection', function trackConnection (socket: Socket) {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
  })
  const sweep = server.closeIdleConnections.bind(server)
  server.closeIdleConnections = function closeIdleConnectionsOnceFlushed (): void {
    for (const socket of sockets) if (socket.writableLength > 0) return
    sweep()
  }
  return { cut: sweep }
}
