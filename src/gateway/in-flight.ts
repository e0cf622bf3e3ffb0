// Proxied exchanges still streaming, by grant: a revoke, cancel, close or window end cuts them too,
// so a download started a second before a revoke does not run on for minutes. A grant event cuts at
// once; because an event can be lost (a replica's pub/sub connection dropped just before the
// revoke), every grant with something in flight is also re-read from the store at least every
// second (one read per grant, however many transfers it has), and all at once when asked (when the
// event subscription was renewed). A grant the store no longer holds Approved, or cannot vouch for,
// is cut: fail closed. One it still holds Approved keeps streaming until the window end the store
// holds, read again each time: an extension approved while a transfer streams moves its end too.
import { performance } from 'node:perf_hooks'
import { effectiveStatus, type LockboxRequest } from '../domain/lockbox.js'

export interface Flight {
  /** When the grant's window ends, epoch ms (on the app clock); moved by a recheck when an extension moved it. */
  windowEndsAt: number
  /** Stops the exchange both ways; `reason` goes to its ContentAccessCompleted record. */
  cut: (reason: string) => void
}

export interface RecheckOptions {
  /** The request as stored now, bypassing every cache; rejects when the store cannot answer. */
  read: (requestId: string) => Promise<LockboxRequest | null>
  /** How often every grant in flight is re-read (ms); at most 1000. */
  everyMs?: number
  /** A grant that could not be checked, before its transfers are cut. */
  failed?: (requestId: string, err: unknown) => void
}

const NOTHING = (): void => {}

/** The `cutBy` of a transfer whose grant the store could not vouch for. */
export const UNCHECKABLE = 'GrantUncheckable'

export class InFlight {
  private readonly byGrant = new Map<string, Set<Flight>>()
  private timer: NodeJS.Timeout | null = null
  private lastRecheck = 0
  private rechecking: Promise<void> | null = null
  readonly stats = { rechecks: 0, reads: 0, recheckCuts: 0 }

  constructor (private readonly now: () => number, private readonly checkEveryMs = 250, private readonly recheckOptions: RecheckOptions | null = null) {}

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

  /**
   * Re-reads every grant with something in flight and cuts those no longer Approved; resolves once
   * done. A recheck under way is joined, not doubled.
   */
  recheck (): Promise<void> {
    if (this.recheckOptions === null) return Promise.resolve()
    // recheckOnce never rejects: a grant that cannot be read is cut, not thrown.
    this.rechecking ??= this.recheckOnce(this.recheckOptions).finally(() => { this.rechecking = null })
    return this.rechecking
  }

  /** Starts a recheck without waiting for it. */
  recheckNow (): void {
    this.recheck().then(NOTHING, NOTHING)
  }

  private async recheckOnce ({ read, failed }: RecheckOptions): Promise<void> {
    this.stats.rechecks++
    await Promise.all([...this.byGrant.keys()].map(async (requestId) => {
      this.stats.reads++
      let reason: string | null
      try {
        const request = await read(requestId)
        reason = request === null ? 'Unknown' : effectiveStatus(request, this.now())
        // Still Approved: its window is where the store has it now, later once an extension was approved.
        if (reason === 'Approved' && typeof request?.accessEndsAt === 'string') this.moveWindow(requestId, Date.parse(request.accessEndsAt))
      } catch (err) {
        failed?.(requestId, err)
        reason = UNCHECKABLE
      }
      if (reason !== 'Approved') this.stats.recheckCuts += this.cut(requestId, reason)
    }))
  }

  /** Sets the window end of every flight of a grant to the one the store holds. */
  private moveWindow (requestId: string, windowEndsAt: number): void {
    for (const flight of this.byGrant.get(requestId) ?? []) flight.windowEndsAt = windowEndsAt
  }

  private cutEnded (): void {
    const now = this.now()
    const every = Math.min(this.recheckOptions?.everyMs ?? 1000, 1000)
    if (this.recheckOptions !== null && this.rechecking === null && performance.now() - this.lastRecheck >= every - this.checkEveryMs / 2) {
      this.lastRecheck = performance.now()
      this.recheckNow()
    }
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
