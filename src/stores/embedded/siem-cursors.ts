// SIEM delivery cursors in LMDB: one JSON text per [sink, tenant], compare-and-set inside a write
// transaction, which LMDB serialises across every process sharing the data dir.
import type { Key } from 'lmdb'
import type { SiemCursor, SiemCursors } from '../types.js'
import type { Tables } from './db.js'

export function embeddedSiemCursors (t: Tables, transact: <T>(work: () => T) => Promise<T>, guard: () => void): SiemCursors {
  // Opened here rather than in db.ts: nothing else reads it, and opening creates it when missing.
  const cursors = t.root.openDB<string, Key>({ name: 'siemCursors', encoding: 'string' })
  const stored = (sink: string, tenantId: string): SiemCursor | null => {
    const text = cursors.get([sink, tenantId])
    return text === undefined ? null : JSON.parse(text) as SiemCursor
  }
  return {
    get: async (sink, tenantId) => {
      guard()
      return stored(sink, tenantId)
    },
    put: async (cursor, expectedVersion) => {
      guard()
      return await transact(() => {
        if ((stored(cursor.sink, cursor.tenantId)?.version ?? 0) !== expectedVersion) return false
        cursors.put([cursor.sink, cursor.tenantId], JSON.stringify({ ...cursor, version: expectedVersion + 1 }))
        return true
      })
    }
  }
}
