// The export counter: redrawn in place on a terminal, at most every 100 ms, cleared at the end.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { Progress } from '../../src/cli/progress.js'

t.test('redraws at most every 100 ms and clears its line', async (t) => {
  const stream = new PassThrough()
  let text = ''
  stream.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
  let now = 1000
  const progress = new Progress(stream, true, 'exporting', () => now)
  progress.update(1, 100)
  now += 50
  progress.update(2, 200)
  now += 60
  progress.update(3, 4096)
  progress.done()
  t.equal(text, '\r⠙ exporting: 1 records, 100 B\u001b[K\r⠹ exporting: 3 records, 4.0 KiB\u001b[K\r\u001b[K')
})

t.test('writes nothing when not on a terminal', async (t) => {
  const stream = new PassThrough()
  let text = ''
  stream.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
  const progress = new Progress(stream, false, 'exporting')
  progress.update(1, 1)
  progress.done()
  t.equal(text, '')
})
