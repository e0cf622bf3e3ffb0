// In-process events (grant events, new audit records) for a store's listeners in this process; each
// backend feeds them from its own source (the shared database, Redis pub/sub).

export interface LocalEvents<T> {
  emit: (event: T) => void
  subscribe: (listener: (event: T) => void) => () => void
}

export function createLocalEvents<T> (): LocalEvents<T> {
  const listeners = new Set<(event: T) => void>()
  return {
    emit (event) {
      for (const listener of [...listeners]) {
        // What the event reports is already durable: a failing subscriber must neither undo it
        // nor keep the others from hearing of it.
        try {
          listener(event)
        } catch {}
      }
    },
    subscribe (listener) {
      // Wrapped so that subscribing one function twice gives two independent subscriptions.
      const own = (event: T): void => listener(event)
      listeners.add(own)
      return () => { listeners.delete(own) }
    }
  }
}
