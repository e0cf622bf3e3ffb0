// In-process grant events: one process holds the whole embedded store, so every subscriber is local.
import type { GrantEvent } from '../types.js'

export interface LocalGrantEvents {
  emit: (event: GrantEvent) => void
  subscribe: (listener: (event: GrantEvent) => void) => () => void
}

export function createGrantEvents (): LocalGrantEvents {
  const listeners = new Set<(event: GrantEvent) => void>()
  return {
    emit (event) {
      for (const listener of [...listeners]) {
        // The commit behind the event is already durable: a failing subscriber must neither undo it
        // nor keep the others from dropping their cached grant.
        try {
          listener(event)
        } catch {}
      }
    },
    subscribe (listener) {
      // Wrapped so that subscribing one function twice gives two independent subscriptions.
      const own = (event: GrantEvent): void => listener(event)
      listeners.add(own)
      return () => { listeners.delete(own) }
    }
  }
}
