// What each backend allows when the gateway runs as several processes on one machine
// (LOCKBOX_WORKERS). Start-up reads this before anything is opened; the cluster relay reads it to
// know whether the primary must carry events between the processes.
import type { Config } from '../../config/schema.js'

export interface BackendCapabilities {
  /**
   * Several processes may open the backend at once (on one data dir, or one Redis) and all see one
   * state: commits serialised across them, chains kept whole. False: start-up refuses LOCKBOX_WORKERS > 1.
   */
  sharedAcrossProcesses: boolean
  /**
   * Grant events and committed audit records reach the listeners of every process that opened the
   * backend. False: the cluster primary relays them between its workers over IPC (src/cluster/).
   */
  eventsReachEveryProcess: boolean
}

export const BACKEND_CAPABILITIES: Record<Config['store'], BackendCapabilities> = {
  // The journal store holds its whole state in one process's memory and appends to its journal
  // alone: a second process would write a diverging journal. When the LMDB store replaces it, set
  // sharedAcrossProcesses to true (LMDB serialises writers across processes); its events stay
  // local to a process, which the primary's relay already covers.
  embedded: { sharedAcrossProcesses: false, eventsReachEveryProcess: false },
  // Redis is the shared state, and its pub/sub and streams reach every process (events.ts).
  redis: { sharedAcrossProcesses: true, eventsReachEveryProcess: true }
}
