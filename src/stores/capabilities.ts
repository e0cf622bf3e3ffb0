// What each backend allows when the gateway runs as several processes on one machine
// (LOCKBOX_WORKERS). Every backend may be opened by several processes at once (LMDB serialises
// writers on one data dir; Redis is shared); the cluster relay reads this to know whether the
// primary must carry events between the processes.
import type { Config } from '../../config/schema.js'

export interface BackendCapabilities {
  /**
   * Grant events and committed audit records reach the listeners of every process that opened the
   * backend. False: the cluster primary relays them between its workers over IPC (src/cluster/).
   */
  eventsReachEveryProcess: boolean
}

export const BACKEND_CAPABILITIES: Record<Config['store'], BackendCapabilities> = {
  // LMDB serialises writers across processes and every chain head is read inside the write
  // transaction; each process follows the others' commits (records, grant events) by polling the
  // database (src/stores/embedded/), so the primary need not relay them.
  embedded: { eventsReachEveryProcess: true },
  // Redis is the shared state, and its pub/sub and streams reach every process (events.ts).
  redis: { eventsReachEveryProcess: true }
}
