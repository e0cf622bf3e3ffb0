// A worker's view of a backend whose events stay inside one process (BACKEND_CAPABILITIES
// `eventsReachEveryProcess` false): grant events and committed audit records go to the primary,
// which hands them to the other workers, and theirs come back the same way. Listeners hear their own
// process's events from the store and the others' from the relay, through the usual subscribe.
import type { AuditRecord } from '../domain/audit.js'
import { createLocalEvents } from '../stores/embedded/local-events.js'
import type { AuditLog, GrantEvent, GrantEvents, Stores } from '../stores/types.js'
import type { WorkerLink } from './messages.js'

/** `target` with some members replaced; every other member read from it, its methods bound to it. */
function overriding<T extends object> (target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get (object, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof T]
      const value: unknown = Reflect.get(object, key, object)
      return typeof value === 'function' ? value.bind(object) : value
    }
  })
}

export interface Relay {
  /** The backend as this process's code uses it: its own events and the other processes'. */
  stores: Stores
  /** Detaches from the link and the backend (which stays open: it is its opener's to close). */
  stop: () => void
}

export function relayStoreEvents (stores: Stores, link: WorkerLink): Relay {
  const relayedGrants = createLocalEvents<GrantEvent>()
  const relayedRecords = createLocalEvents<AuditRecord[]>()
  let streamListeners = 0
  /** Set while another process streams records: this process's commits are sent to the primary. */
  let forwarding: (() => void) | null = null

  // Grant events are few and every process enforces them: each one is sent, always.
  const stopGrants = stores.grantEvents.subscribe(function relayGrant (event) { link.send({ lockbox: 'grant', event }) })
  const stopLink = link.on(function receive (message) {
    switch (message.lockbox) {
      case 'grant':
        relayedGrants.emit(message.event)
        break
      case 'records':
        relayedRecords.emit(message.records)
        break
      case 'records-wanted':
        if (message.wanted && forwarding === null) {
          forwarding = stores.audit.subscribe(function relayRecords (records) { link.send({ lockbox: 'records', records }) })
        } else if (!message.wanted && forwarding !== null) {
          forwarding()
          forwarding = null
        }
        break
      default:
        break
    }
  })

  const grantEvents: Partial<GrantEvents> = {
    subscribe (listener) {
      const local = stores.grantEvents.subscribe(listener)
      const relayed = relayedGrants.subscribe(listener)
      return () => { local(); relayed() }
    }
  }
  const audit: Partial<AuditLog> = {
    subscribe (listener) {
      const local = stores.audit.subscribe(listener)
      const relayed = relayedRecords.subscribe(listener)
      if (streamListeners++ === 0) link.send({ lockbox: 'listening', on: true })
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        local()
        relayed()
        if (--streamListeners === 0) link.send({ lockbox: 'listening', on: false })
      }
    }
  }
  return {
    stores: overriding(stores, {
      grantEvents: overriding(stores.grantEvents, grantEvents),
      audit: overriding(stores.audit, audit)
    }),
    stop () {
      stopLink()
      stopGrants()
      forwarding?.()
      forwarding = null
    }
  }
}
