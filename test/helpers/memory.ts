// Samples what the process holds (heap + array buffers) after a full garbage collection, so a bound
// on growth measures what is retained, not garbage that merely has not been collected yet.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Bytes retained right now. */
export function retainedBytes (): number {
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

/** Samples every `everyMs` until stopped; `peak` is the largest sample. */
export function memorySampler (everyMs = 100): { readonly peak: number, stop: () => number } {
  let peak = retainedBytes()
  const timer = setInterval(() => { peak = Math.max(peak, retainedBytes()) }, everyMs)
  return {
    get peak () { return peak },
    stop: () => {
      clearInterval(timer)
      peak = Math.max(peak, retainedBytes())
      return peak
    }
  }
}
