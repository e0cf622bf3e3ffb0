// A live counter on stderr for long transfers (`audit export`): records and bytes so far. The total
// is unknown while the export streams, so it counts rather than fills a bar.
import type { Writable } from 'node:stream'
import { bytes } from './format.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const EVERY_MS = 100

export class Progress {
  private lastAt = -Infinity
  private frame = 0
  private shown = false

  /** `enabled` is whether `stream` is a terminal: redrawing a line means nothing in a log file. */
  constructor (private readonly stream: Writable, private readonly enabled: boolean, private readonly label: string, private readonly now: () => number = Date.now) {}

  update (records: number, size: number): void {
    if (!this.enabled) return
    const at = this.now()
    if (at - this.lastAt < EVERY_MS) return
    this.lastAt = at
    this.frame = (this.frame + 1) % FRAMES.length
    this.shown = true
    this.stream.write(`\r${FRAMES[this.frame] as string} ${this.label}: ${records} records, ${bytes(size)}\u001b[K`)
  }

  /** Clears the line so what follows starts clean. */
  done (): void {
    if (this.shown) this.stream.write('\r\u001b[K')
  }
}
