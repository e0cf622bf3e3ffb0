// Proxied exchanges still streaming, by grant: a revoke, cancel, close or window end cuts them too,
// so a download started a second before a revoke does not run on for minutes.

export interface Flight {
  /** When the grant's window ends, epoch ms (on the app clock). */
  windowEndsAt: number
  /** Stops the exchange both ways; `reason` goes to its ContentAccessCompleted record. */
  cut: (reason: string) => void
}

export class InFlight {
  private readonly byGrant = new Map<string, Set<Flight>>()
  private timer: NodeJS.Timeout | null = null

  constructor (private readonly now: () => number, private readonly checkEveryMs = 250) {}

  get size (): number {
    let n = 0
    for (const flights of this.byGrant.values()) n += flights.size
    return n
  }

  /** Registers a flight; call the returned function when it ends by itself. */
  add (requestId: string, flight: Flight): () => void {
    let flights = this.byGrant.get(requestId)
    if (flights === undefined) {
      flights = new Set()
      this.byGrant.set(requestId, flights)
    }
    flights.add(flight)
    this.startWatch()
    return () => { this.remove(requestId, flight) }
  }

  /** Cuts every flight of a grant. */
  cut (requestId: string, reason: string): number {
    const flights = this.byGrant.get(requestId)
    if (flights === undefined) return 0
    this.byGrant.delete(requestId)
    for (const flight of flights) flight.cut(reason)
    this.stopWatchIfIdle()
    return flights.size
  }

  cutAll (reason: string): void {
    for (const requestId of [...this.byGrant.keys()]) this.cut(requestId, reason)
  }

  private remove (requestId: string, flight: Flight): void {
    const flights = this.byGrant.get(requestId)
    if (flights === undefined) return
    flights.delete(flight)
    if (flights.size === 0) this.byGrant.delete(requestId)
    this.stopWatchIfIdle()
  }

  // Window ends need no event: a watch runs only while something is in flight.
  private startWatch (): void {
    if (this.timer !== null) return
    this.timer = setInterval(() => { this.cutEnded() }, this.checkEveryMs)
    this.timer.unref()
  }

  private stopWatchIfIdle (): void {
    if (this.byGrant.size === 0 && this.timer !== null) {
      clearInterval(this.timer)
      this.timer = null
    }
  }

  private cutEnded (): void {
    const now = this.now()
    for (const [requestId, flights] of [...this.byGrant]) {
      for (const flight of [...flights]) {
        if (now >= flight.windowEndsAt) {
          this.remove(requestId, flight)
          flight.cut('AccessWindowEnded')
        }
      }
    }
  }
}
