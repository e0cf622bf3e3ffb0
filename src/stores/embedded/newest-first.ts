// A list of entities ordered by creation time, paged newest first with stable cursors.
import type { Page } from '../types.js'
import { decodeCursor, encodeCursor } from './cursor.js'

/** `time` is the entity's creation time; `ordinal` (store-wide insertion count) breaks ties. */
interface Slot { time: number, ordinal: number, key: string }

function before (a: Slot, time: number, ordinal: number): boolean {
  return a.time < time || (a.time === time && a.ordinal < ordinal)
}

export class NewestFirst {
  private readonly slots: Slot[] = []

  constructor (private readonly kind: string) {}

  /** Keeps the slots sorted oldest first; creation times mostly arrive in order, so this is usually a push. */
  insert (key: string, time: number, ordinal: number): void {
    const at = this.countBefore(time, ordinal)
    this.slots.splice(at, 0, { time, ordinal, key })
  }

  /** Takes out the slot that `insert` made with the same time and ordinal (ordinals are unique). */
  remove (time: number, ordinal: number): void {
    this.slots.splice(this.countBefore(time, ordinal), 1)
  }

  /** Every key, oldest first. */
  keys (): string[] {
    return this.slots.map((slot) => slot.key)
  }

  /** Keys newest first from the cursor on, keeping those `accept` takes, resolved through `get`. */
  page<T> (page: { limit: number, cursor?: string | undefined }, get: (key: string) => T, accept: (value: T) => boolean): Page<T> {
    const limit = Math.max(1, Math.floor(page.limit))
    let index = this.slots.length - 1
    if (page.cursor !== undefined) {
      const [time, ordinal] = decodeCursor(this.kind, page.cursor, 2) as [number, number]
      index = this.countBefore(time, ordinal) - 1
    }
    const items: T[] = []
    let last: Slot | undefined
    for (; index >= 0; index--) {
      const slot = this.slots[index] as Slot
      const value = get(slot.key)
      if (!accept(value)) continue
      if (items.length === limit) return { items, nextCursor: encodeCursor(this.kind, [(last as Slot).time, (last as Slot).ordinal]) }
      items.push(value)
      last = slot
    }
    return { items, nextCursor: null }
  }

  /** How many slots sort before (time, ordinal): a binary search, the list being sorted. */
  private countBefore (time: number, ordinal: number): number {
    let low = 0
    let high = this.slots.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (before(this.slots[mid] as Slot, time, ordinal)) low = mid + 1
      else high = mid
    }
    return low
  }
}
