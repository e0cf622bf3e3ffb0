// The list of lockbox requests the caller may see, newest first, with a status filter and the time
// left to decide (or left on an active access), kept current while the page is open.
import { api, detach } from '../api.js'
import { errorBox, h, messageOf } from '../dom.js'
import { formatShortTime, formatTime, readableDuration, statusBadge, statusLabel, timeLeft } from '../format.js'
import { STATUSES, type LockboxRequest, type Page } from '../types.js'
import { every, type ViewContext } from '../view.js'

export async function renderRequests (ctx: ViewContext, params: URLSearchParams): Promise<void> {
  const { main, me, signal } = ctx
  const status = params.get('status') ?? ''
  const tenant = params.get('tenantId') ?? ''
  const heading = ctx.heading('Lockbox requests')
  const error = errorBox('requests-error')

  const statusSelect = h('select', { id: 'status-filter', name: 'status' },
    h('option', { value: '' }, 'All statuses'),
    ...STATUSES.map((s) => h('option', { value: s, selected: s === status }, statusLabel(s))))
  const tenantInput = me.provider
    ? h('input', { id: 'tenant-filter', name: 'tenantId', type: 'text', value: tenant, autocomplete: 'off', spellcheck: 'false', placeholder: 'all tenants' })
    : null
  const filters = h('form', {
    class: 'filters',
    role: 'search',
    'aria-label': 'Filter requests',
    onsubmit: (event) => {
      event.preventDefault()
      const next = new URLSearchParams()
      if (statusSelect.value !== '') next.set('status', statusSelect.value)
      const tenantId = tenantInput?.value.trim() ?? ''
      if (tenantId !== '') next.set('tenantId', tenantId)
      const query = next.toString()
      location.hash = `#/requests${query === '' ? '' : `?${query}`}`
    }
  },
  h('div', { class: 'field' }, h('label', { for: 'status-filter' }, 'Status'), statusSelect),
  tenantInput === null ? null : h('div', { class: 'field' }, h('label', { for: 'tenant-filter' }, 'Tenant'), tenantInput),
  h('button', { type: 'submit' }, 'Apply filter'))

  const summary = h('p', { class: 'count', role: 'status' }, 'Loading requests…')
  const body = h('tbody')
  const table = h('table', { class: 'requests' },
    h('caption', { class: 'visually-hidden' }, 'Lockbox requests, newest first'),
    h('thead', {}, h('tr', {},
      ...['Request', 'Tenant', 'Access', 'Requested by', 'Status', 'Time left', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
    body)
  const more = h('button', { type: 'button', hidden: true }, 'Load more')
  main.replaceChildren(heading, h('p', { class: 'lead' }, me.provider
    ? 'Requests for access to customer content.'
    : 'Requests from the provider\'s support engineers for access to your organisation\'s content. Decide each one before its deadline.'),
  filters, error, summary, table, more)
  table.hidden = true

  const shown: Array<{ req: LockboxRequest, cell: HTMLTableCellElement }> = []
  let cursor: string | null = null
  const load = async (): Promise<void> => {
    error.clear()
    const query = new URLSearchParams({ limit: '50' })
    if (status !== '') query.set('status', status)
    if (tenant !== '') query.set('tenantId', tenant)
    if (cursor !== null) query.set('cursor', cursor)
    try {
      const page = await api<Page<LockboxRequest>>('GET', `/v1/requests?${query.toString()}`, { signal })
      for (const req of page.items) body.append(row(req))
      cursor = page.nextCursor
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
      summary.textContent = ''
      return
    }
    more.hidden = cursor === null
    table.hidden = shown.length === 0
    summary.textContent = shown.length === 0
      ? 'No lockbox requests match.'
      : `${shown.length} ${shown.length === 1 ? 'request' : 'requests'}${cursor === null ? '' : ' so far'}${status === '' ? '' : ` ${statusLabel(status).toLowerCase()}`}.`
  }

  const row = (req: LockboxRequest): HTMLTableRowElement => {
    const left = h('td', { class: 'time-left' }, timeLeft(req) || '—')
    shown.push({ req, cell: left })
    return h('tr', {},
      h('td', {}, h('a', { href: `#/requests/${encodeURIComponent(req.id)}` }, req.justification), h('div', { class: 'muted' }, `Service request ${req.serviceRequestNumber}`)),
      h('td', {}, req.tenantId),
      h('td', {}, `${req.workload}, ${req.accessLevel === 'readwrite' ? 'read and write' : 'read'} for ${readableDuration(req.duration)}`, h('div', { class: 'muted mono' }, req.scope)),
      h('td', {}, req.requester.name),
      h('td', {}, statusBadge(req.status)),
      left,
      h('td', { class: 'nowrap' }, h('time', { datetime: req.createdAt, title: formatTime(req.createdAt) }, formatShortTime(req.createdAt))))
  }

  more.addEventListener('click', () => {
    const before = body.rows.length
    // The button may disappear with the last page: focus goes on to the first new request instead.
    detach(load().then(() => { body.rows[before]?.querySelector('a')?.focus() }))
  })
  every(signal, 30_000, () => { for (const { req, cell } of shown) cell.textContent = timeLeft(req) || '—' })
  await load()
}
