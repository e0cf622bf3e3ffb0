// The live audit view of one request: every record so far, then each new one (an engineer's call
// through the gateway, a decision, a revoke) as it happens.
import { h } from '../dom.js'
import { formatShortTime, formatTime, recordSummary } from '../format.js'
import { followAudit, type LiveState } from '../live-audit.js'
import type { AuditRecord } from '../types.js'

export interface ActivityOptions {
  tenantId: string
  requestId: string
  signal: AbortSignal
  onLifecycle: () => void
}

const STATE_TEXT: Record<Exclude<LiveState['kind'], 'failed'>, string> = {
  connecting: 'Connecting to the live audit stream…',
  live: 'Live: new activity appears here as it happens.',
  reconnecting: 'Connection lost; reconnecting…'
}

export function renderActivity (section: HTMLElement, options: ActivityOptions): void {
  const state = h('p', { class: 'live-state', id: 'live-state', 'data-state': 'connecting' }, STATE_TEXT.connecting)
  // Screen readers hear each new record once, without re-reading the table.
  const announcer = h('p', { class: 'visually-hidden', role: 'status' })
  const empty = h('p', { class: 'muted' }, 'No activity yet.')
  const body = h('tbody')
  const table = h('table', { class: 'activity', hidden: true },
    h('caption', { class: 'visually-hidden' }, 'Audit records of this request, oldest first'),
    h('thead', {}, h('tr', {}, ...['Time', 'Operation', 'Actor', 'Result', 'What'].map((c) => h('th', { scope: 'col' }, c)))),
    body)
  section.replaceChildren(h('h2', { id: 'activity-heading' }, 'Activity'), state, announcer, empty, table)

  let loaded = false
  followAudit({
    tenantId: options.tenantId,
    requestId: options.requestId,
    signal: options.signal,
    onState: (s) => {
      state.dataset.state = s.kind
      state.textContent = s.kind === 'failed' ? `Live activity is unavailable: ${s.message}` : STATE_TEXT[s.kind]
      if (s.kind === 'live') loaded = true
    },
    onRecords: (records) => {
      for (const record of records) body.append(recordRow(record, loaded))
      empty.hidden = true
      table.hidden = false
      if (!loaded) return
      const last = records[records.length - 1] as AuditRecord
      announcer.textContent = `New activity: ${last.operation} ${recordSummary(last)}`
      if (records.some((r) => !r.operation.startsWith('Content'))) options.onLifecycle()
    }
  })
}

function recordRow (record: AuditRecord, fresh: boolean): HTMLTableRowElement {
  return h('tr', { class: fresh ? 'fresh' : null, 'data-operation': record.operation },
    h('td', { class: 'nowrap' }, h('time', { datetime: record.time, title: formatTime(record.time) }, formatShortTime(record.time))),
    h('td', {}, record.operation),
    h('td', {}, record.actor.id, h('div', { class: 'muted' }, record.actor.type)),
    h('td', {}, h('span', { class: `result result-${record.result.toLowerCase()}` }, record.result)),
    h('td', { class: 'mono' }, recordSummary(record)))
}
