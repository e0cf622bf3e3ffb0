// One lockbox request: its details and history, the customer's Approve / Deny (with a comment) while
// it awaits them, Revoke while its access is active, and the live audit trail of what was done with it.
import { api, ApiError, detach } from '../api.js'
import { append, errorBox, h, messageOf, type Child } from '../dom.js'
import { formatTime, isAwaiting, readableDuration, statusBadge, timeElement, timeLeft } from '../format.js'
import type { LockboxRequest, Tenant } from '../types.js'
import { signGrant } from '../passkeys.js'
import { every, mayDecide, mayReadAudit, type ViewContext } from '../view.js'
import { renderActivity } from './activity.js'

export async function renderRequest (ctx: ViewContext, id: string): Promise<void> {
  const { main, me, signal } = ctx
  const heading = ctx.heading('Lockbox request')
  const error = errorBox('request-error')
  const done = h('p', { class: 'notice', role: 'status' })
  const back = h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('a', { href: '#/requests' }, 'All requests'))
  main.replaceChildren(back, heading, error)

  let req: LockboxRequest
  try {
    req = await api<LockboxRequest>('GET', `/v1/requests/${encodeURIComponent(id)}`, { signal })
  } catch (err) {
    if (signal.aborted) return
    error.show(err instanceof ApiError && err.status === 404
      ? `No lockbox request ${id} is visible to you. It may belong to another organisation, or the link is wrong.`
      : messageOf(err))
    return
  }

  const lead = h('p', { class: 'lead' })
  const statusLine = h('p', { class: 'status-line', id: 'request-status', tabindex: -1 })
  const actions = h('div', { class: 'actions-area' })
  const details = h('section', { class: 'card', 'aria-labelledby': 'details-heading' })
  const history = h('section', { class: 'card', 'aria-labelledby': 'history-heading' })
  const activity = h('section', { class: 'card', 'aria-labelledby': 'activity-heading' })
  // Added around what is there already: the heading keeps the focus the shell gave it.
  error.before(lead, statusLine, done)
  main.append(actions, details, history, activity)

  let shownStatus = ''
  const show = (next: LockboxRequest): void => {
    req = next
    lead.replaceChildren(h('q', {}, req.justification))
    statusLine.replaceChildren(statusBadge(req.status), ' ', h('span', { class: 'time-left' }, timeLeft(req)))
    append(statusLine, quorumProgress(req))
    // Forms are rebuilt only when the stage changes, so a live update never wipes a half-typed comment.
    const stage = `${req.status} ${req.approvals?.length ?? 0} ${req.extension?.status ?? ''} ${req.extension?.approvals.length ?? 0}`
    if (stage !== shownStatus) {
      shownStatus = stage
      actions.replaceChildren()
      append(actions, actionsFor(req))
    }
    details.replaceChildren(h('h2', { id: 'details-heading' }, 'Details'), detailList(req))
    history.replaceChildren(h('h2', { id: 'history-heading' }, 'History'), historyTable(req))
  }

  // Whether this tenant's approvals must be signed with a passkey (only its approvers need to know).
  let requireSigned = false
  if (mayDecide(me, req.tenantId)) {
    try {
      requireSigned = (await api<Tenant>('GET', `/v1/tenants/${encodeURIComponent(req.tenantId)}`, { signal })).requireSignedApprovals === true
    } catch (err) {
      if (signal.aborted) return
      error.show(messageOf(err))
    }
  }

  const act = async (path: string, body: Body, said: (r: LockboxRequest) => string, form: HTMLFormElement): Promise<void> => {
    error.clear()
    done.textContent = ''
    form.setAttribute('aria-busy', 'true')
    for (const button of form.querySelectorAll('button')) button.disabled = true
    try {
      const payload = typeof body === 'function' ? await body() : body
      show(await api<LockboxRequest>('POST', `/v1/requests/${encodeURIComponent(req.id)}/${path}`, { body: payload, signal }))
      done.textContent = said(req)
      statusLine.focus()
    } catch (err) {
      if (signal.aborted) return
      error.show(messageOf(err))
      // The request may have moved on meanwhile (another approver, the deadline): show where it is now.
      if (err instanceof ApiError && err.status === 409) await refresh()
    } finally {
      form.removeAttribute('aria-busy')
      for (const button of form.querySelectorAll('button')) button.disabled = false
    }
  }

  const actionsFor = (r: LockboxRequest): Child => {
    if (!mayDecide(me, r.tenantId)) return null
    if (r.status === 'AwaitingCustomerApproval') {
      return (r.approvals ?? []).some((a) => a.by === me.id || a.onBehalfOf === me.id) ? waitingForOthers(r) : decisionForm(act, r, requireSigned)
    }
    if (r.status === 'Approved') {
      const ext = r.extension ?? null
      const extensionDecision = ext !== null && ext.status === 'AwaitingCustomerApproval' && !ext.approvals.some((a) => a.by === me.id || a.onBehalfOf === me.id)
      return h('div', {}, extensionDecision ? extensionForm(r, act, requireSigned) : null, revokeForm(r, act))
    }
    return null
  }

  const refresh = async (): Promise<void> => {
    try {
      show(await api<LockboxRequest>('GET', `/v1/requests/${encodeURIComponent(req.id)}`, { signal }))
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
    }
  }

  show(req)
  every(signal, 30_000, () => { statusLine.querySelector('.time-left')?.replaceChildren(timeLeft(req)) })

  if (!mayReadAudit(me)) {
    activity.replaceChildren(h('h2', { id: 'activity-heading' }, 'Activity'),
      h('p', { class: 'muted' }, 'The audit trail of this request is visible to the tenant\'s approvers and administrators and to the provider\'s security readers.'))
    return
  }
  renderActivity(activity, {
    tenantId: req.tenantId,
    requestId: req.id,
    signal,
    // A workflow record (a decision elsewhere, a revoke, the window ending) changes the request: reload it.
    onLifecycle: () => { detach(refresh()) }
  })
}

/** A body, or how to make one (a passkey signature is asked for when the button is pressed). */
type Body = Record<string, unknown> | (() => Promise<Record<string, unknown>>)
type Act = (path: string, body: Body, said: (r: LockboxRequest) => string, form: HTMLFormElement) => Promise<void>

/** "1 of 2 approvals" while a quorum is incomplete. */
function quorumProgress (req: LockboxRequest): Child {
  const required = req.approvalsRequired ?? null
  if (req.status !== 'AwaitingCustomerApproval' || required === null || required < 2) return null
  return h('span', { class: 'quorum' }, ` · ${req.approvals?.length ?? 0} of ${required} approvals`)
}

function waitingForOthers (req: LockboxRequest): HTMLElement {
  const left = (req.approvalsRequired ?? 1) - (req.approvals?.length ?? 0)
  return h('section', { class: 'card decision' },
    h('h2', { id: 'decision-heading' }, 'Your decision'),
    h('p', {}, `You have approved. It needs ${left} more ${left === 1 ? 'approval' : 'approvals'} from other approvers before access opens.`))
}

/** Optional narrowing: approve less than was asked (a shorter window, a sub-path, read only). */
function narrowingFields (req: LockboxRequest): { fieldset: HTMLElement, values: () => Record<string, string> } {
  const duration = h('input', { id: 'grant-duration', name: 'duration', type: 'text', inputmode: 'text', placeholder: req.duration, 'aria-describedby': 'grant-hint', size: 10 })
  const scope = h('input', { id: 'grant-scope', name: 'scope', type: 'text', placeholder: req.scope, spellcheck: 'false', 'aria-describedby': 'grant-hint' })
  const readOnly = h('input', { id: 'grant-read-only', name: 'readOnly', type: 'checkbox' })
  const fieldset = h('details', { class: 'narrowing' },
    h('summary', {}, 'Grant less than requested'),
    h('div', { class: 'stack' },
      h('label', { for: 'grant-duration' }, 'Shorter duration (ISO 8601, e.g. PT1H)'),
      duration,
      h('label', { for: 'grant-scope' }, 'Narrower scope (a sub-path of the requested one)'),
      scope,
      req.accessLevel === 'readwrite' ? h('div', { class: 'check' }, readOnly, h('label', { for: 'grant-read-only' }, 'Read only')) : null,
      h('p', { id: 'grant-hint', class: 'hint' }, 'Left empty, the request is approved as asked. You can never grant more than was requested.')))
  const values = (): Record<string, string> => {
    const out: Record<string, string> = {}
    if (duration.value.trim() !== '') out.duration = duration.value.trim()
    if (scope.value.trim() !== '') out.scope = scope.value.trim()
    if (readOnly.checked) out.accessLevel = 'read'
    return out
  }
  return { fieldset, values }
}

function decisionForm (act: Act, req: LockboxRequest, requireSigned: boolean): HTMLElement {
  const comment = h('textarea', { id: 'decision-comment', name: 'comment', rows: 3, maxlength: 2000, 'aria-describedby': 'decision-hint' })
  const narrowing = narrowingFields(req)
  const required = req.approvalsRequired ?? 1
  const form: HTMLFormElement = h('form', {
    class: 'stack',
    'aria-labelledby': 'decision-heading',
    onsubmit: (event) => {
      event.preventDefault()
      const decision = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'Deny' ? 'Deny' : 'Approve'
      const text = comment.value.trim()
      const said = (r: LockboxRequest): string => {
        if (decision === 'Deny') return 'You denied this request. No access was granted.'
        if (r.status === 'AwaitingCustomerApproval') return `You approved this request: ${r.approvals?.length ?? 0} of ${r.approvalsRequired ?? 1} approvals so far.`
        return `You approved this request. Access is open until ${r.accessEndsAt === null ? 'its window ends' : formatTime(r.accessEndsAt)}.`
      }
      const narrowed = decision === 'Approve' ? narrowing.values() : {}
      const body = { decision, ...(text === '' ? {} : { comment: text }), ...narrowed }
      // Signed: the passkey signs the grant this approval allows, and the signature goes with it.
      detach(act('decision', decision === 'Approve' && requireSigned ? async () => ({ ...body, webauthn: await signGrant(req.id, narrowed) }) : body, said, form))
    }
  },
  h('h2', { id: 'decision-heading' }, 'Your decision'),
  required > 1 ? h('p', { class: 'quorum-note' }, `This request needs ${required} different approvers; your approval is one of them.`) : null,
  h('label', { for: 'decision-comment' }, 'Comment (optional)'),
  comment,
  h('p', { id: 'decision-hint', class: 'hint' }, requireSigned
    ? 'Your organisation requires signed approvals: approving asks your passkey to sign exactly this grant. Recorded in the request\'s history and the audit log.'
    : 'Recorded in the request\'s history and the audit log.'),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', name: 'decision', value: 'Approve', class: 'primary' }, requireSigned ? 'Approve with passkey' : 'Approve'),
    h('button', { type: 'submit', name: 'decision', value: 'Deny', class: 'danger' }, 'Deny')),
  // After the buttons: approving as asked stays the shortest path from the keyboard.
  narrowing.fieldset)
  return h('section', { class: 'card decision' }, form)
}

/**
 * A pending extension of the window: approve (perhaps for less time) or deny; the access goes on
 * meanwhile. Where approvals are signed, so are extensions: the passkey signs the window end it
 * extends and the time it adds.
 */
function extensionForm (req: LockboxRequest, act: Act, requireSigned: boolean): HTMLElement {
  const ext = req.extension as NonNullable<LockboxRequest['extension']>
  const duration = h('input', { id: 'extension-duration', name: 'duration', type: 'text', placeholder: ext.duration, size: 10 })
  const form: HTMLFormElement = h('form', {
    class: 'stack',
    'aria-labelledby': 'extension-heading',
    onsubmit: (event) => {
      event.preventDefault()
      const decision = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'Deny' ? 'Deny' : 'Approve'
      const shorter = duration.value.trim()
      const narrowed: Record<string, string> = decision === 'Approve' && shorter !== '' ? { duration: shorter } : {}
      const body = { decision, ...narrowed }
      detach(act('decision', decision === 'Approve' && requireSigned ? async () => ({ ...body, webauthn: await signGrant(req.id, narrowed) }) : body,
        (r) => `You ${decision === 'Approve' ? 'approved' : 'denied'} the extension. Access ends ${formatTime(r.accessEndsAt as string)}.`, form))
    }
  },
  h('h2', { id: 'extension-heading' }, 'Extension asked for'),
  h('p', {}, `${req.requester.name} asks for ${readableDuration(ext.duration)} more: `, h('q', {}, ext.justification)),
  ext.approvalsRequired !== null && ext.approvalsRequired > 1 ? h('p', { class: 'quorum' }, `${ext.approvals.length} of ${ext.approvalsRequired} approvals`) : null,
  h('label', { for: 'extension-duration' }, 'Grant less time (optional, e.g. PT30M)'),
  duration,
  h('div', { class: 'actions' },
    h('button', { type: 'submit', name: 'decision', value: 'Approve', class: 'primary' }, requireSigned ? 'Approve extension with passkey' : 'Approve extension'),
    h('button', { type: 'submit', name: 'decision', value: 'Deny', class: 'danger' }, 'Deny extension')))
  return h('section', { class: 'card decision' }, form)
}

function revokeForm (req: LockboxRequest, act: Act): HTMLElement {
  const comment = h('textarea', { id: 'revoke-comment', name: 'comment', rows: 2, maxlength: 2000 })
  const form: HTMLFormElement = h('form', {
    class: 'stack',
    'aria-labelledby': 'revoke-heading',
    onsubmit: (event) => {
      event.preventDefault()
      const text = comment.value.trim()
      detach(act('revoke', text === '' ? {} : { comment: text }, () => 'You revoked this access. The engineer\'s token no longer works, and transfers in progress were cut.', form))
    }
  },
  h('h2', { id: 'revoke-heading' }, 'Active access'),
  h('p', {}, 'The engineer can use this access until ', timeElement(req.accessEndsAt), '. Revoking ends it at once, including transfers in progress.'),
  h('label', { for: 'revoke-comment' }, 'Reason (optional)'),
  comment,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Revoke access')))
  return h('section', { class: 'card revoke' }, form)
}

function detailList (req: LockboxRequest): HTMLElement {
  const rows: Array<[string, Child]> = [
    ['Request ID', h('span', { class: 'mono' }, req.id)],
    ['Tenant', req.tenantId],
    ['Service request', req.serviceRequestNumber],
    ['Workload', req.workload],
    ['Scope', h('span', { class: 'mono' }, req.scope)],
    ['Access level', req.accessLevel === 'readwrite' ? 'read and write' : 'read only'],
    ['Duration', readableDuration(req.duration)],
    ['Justification', req.justification],
    ['Requested by', `${req.requester.name} (${req.requester.id})`],
    ['Created', timeElement(req.createdAt)],
    [isAwaiting(req.status) ? 'Decide before' : 'Decision deadline', timeElement(req.decisionDeadline)],
    ['Access starts', timeElement(req.accessStartsAt)],
    ['Access ends', timeElement(req.accessEndsAt)],
    ...grantedRows(req)
  ]
  const list = h('dl', { class: 'details' })
  for (const [term, value] of rows) list.append(h('div', {}, h('dt', {}, term), h('dd', {}, value)))
  return list
}

/** What the approvers granted, where it is less than what was requested; who approved. */
function grantedRows (req: LockboxRequest): Array<[string, Child]> {
  const rows: Array<[string, Child]> = []
  const g = req.granted ?? null
  if (g !== null && (g.scope !== req.scope || g.accessLevel !== req.accessLevel || g.duration !== req.duration)) {
    rows.push(['Granted', h('span', { class: 'granted' }, `${g.accessLevel === 'readwrite' ? 'read and write' : 'read only'} on `, h('span', { class: 'mono' }, g.scope), ` for ${readableDuration(g.duration)}`)])
  }
  const approvals = req.approvals ?? []
  if (approvals.length > 0) rows.push(['Approved by', approvals.map((a) => a.onBehalfOf === null ? a.by : `${a.by} (for ${a.onBehalfOf})`).join(', ')])
  const ext = req.extension ?? null
  if (ext !== null) {
    const progress = ext.approvalsRequired === null ? '' : `, ${ext.approvals.length} of ${ext.approvalsRequired} approvals`
    rows.push(['Extension', `${readableDuration(ext.duration)} more: ${ext.status}${progress}`])
  }
  return rows
}

function historyTable (req: LockboxRequest): HTMLElement {
  return h('table', { class: 'history' },
    h('caption', { class: 'visually-hidden' }, 'History of the request, oldest first'),
    h('thead', {}, h('tr', {}, ...['When', 'Action', 'By', 'Comment'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...req.history.map((entry) => h('tr', {},
      h('td', {}, timeElement(entry.at)),
      h('td', {}, entry.action),
      h('td', {}, entry.actor.id, h('div', { class: 'muted' }, entry.actor.role)),
      h('td', {}, entry.comment ?? '')))))
}
