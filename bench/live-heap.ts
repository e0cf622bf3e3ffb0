// The live heap of a Node process started with --inspect: a full garbage collection through the
// inspector protocol, then the heap used. Heap figures sampled without a GC mostly show how far V8
// has let garbage pile up; after a full GC they show what is still referenced, which is what a leak
// makes grow.
import { WebSocket } from 'undici'

export interface LiveHeap {
  /** Bytes still referenced after a full GC. */
  measure: () => Promise<number>
  close: () => void
}

export async function connectLiveHeap (inspectorPort: number): Promise<LiveHeap> {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json() as Array<{ webSocketDebuggerUrl: string }>
  const socket = new WebSocket((targets[0] as { webSocketDebuggerUrl: string }).webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve)
    socket.addEventListener('error', reject)
  })
  let nextId = 1
  const pending = new Map<number, (result: any) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number, result?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
  })
  const send = async (method: string): Promise<any> => await new Promise((resolve) => {
    const id = nextId++
    pending.set(id, resolve)
    socket.send(JSON.stringify({ id, method }))
  })
  return {
    measure: async () => {
      await send('HeapProfiler.collectGarbage')
      return (await send('Runtime.getHeapUsage')).usedSize as number
    },
    close: () => { socket.close() }
  }
}
