// Growable typed-array columns: the audit index keeps a few numbers per record, and a million
// records must not cost a million boxed values.

type Storage = Float64Array | Uint32Array | Uint8Array

/** Anything with ascending positions or times that a binary search can walk. */
export interface Sorted {
  readonly length: number
  at: (index: number) => number | undefined
}

export class Column implements Sorted {
  private data: Storage
  length = 0

  constructor (private readonly make: (size: number) => Storage, capacity = 1024) {
    this.data = make(capacity)
  }

  push (value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = value
  }

  /** Only meaningful below `length`: the spare capacity reads as zeros. */
  at (index: number): number {
    return this.data[index] as number
  }

  /** A new column holding this one's values from `start` on (retention drops the rest). */
  from (start: number): Column {
    const kept = this.length - start
    const copy = new Column(this.make, Math.max(kept, 64))
    copy.data.set(this.data.subarray(start, this.length))
    copy.length = kept
    return copy
  }
}

/** The first index whose value is >= `value`; `list` must be non-decreasing. */
export function lowerBound (list: Sorted, value: number): number {
  let low = 0
  let high = list.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if ((list.at(mid) as number) < value) low = mid + 1
    else high = mid
  }
  return low
}

/** Maps strings to small integers so a column can hold them. */
export class Interner {
  private readonly numbers: Map<string, number>

  constructor (numbers: Iterable<[string, number]> = []) {
    this.numbers = new Map(numbers)
  }

  intern (text: string): number {
    let number = this.numbers.get(text)
    if (number === undefined) {
      number = this.numbers.size
      this.numbers.set(text, number)
    }
    return number
  }

  lookup (text: string): number | undefined {
    return this.numbers.get(text)
  }

  /** Every string with its number. */
  entries (): IterableIterator<[string, number]> {
    return this.numbers.entries()
  }
}
