// The tenant's lockbox settings: on/off and who is told about new requests. Global administrators
// change them; the tenant's other users may read them.
import { api, detach } from '../api.js'
import { errorBox, h, messageOf } from '../dom.js'
import type { Tenant } from '../types.js'
import { hasRole, type ViewContext } from '../view.js'

// Deliberately loose: the gateway validates for real; this only catches an obvious slip early.
const LOOKS_LIKE_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

export async function renderSettings (ctx: ViewContext): Promise<void> {
  const { main, me, signal } = ctx
  const heading = ctx.heading('Tenant settings')
  const error = errorBox('settings-error')
  main.replaceChildren(heading, error)
  if (me.provider) {
    main.append(h('p', {}, 'Lockbox settings belong to each customer tenant and are changed by its global administrators.'))
    return
  }

  let tenant: Tenant
  try {
    tenant = await api<Tenant>('GET', `/v1/tenants/${encodeURIComponent(me.tenantId)}`, { signal })
  } catch (err) {
    if (!signal.aborted) error.show(messageOf(err))
    return
  }
  const editable = hasRole(me, 'GlobalAdministrator')
  const enabled = h('input', { id: 'lockbox-enabled', name: 'lockboxEnabled', type: 'checkbox', checked: tenant.lockboxEnabled, disabled: !editable, 'aria-describedby': 'lockbox-enabled-hint' })
  const emails = h('textarea', { id: 'approver-emails', name: 'approverEmails', rows: 5, disabled: !editable, spellcheck: 'false', 'aria-describedby': 'approver-emails-hint' })
  emails.value = tenant.approverEmails.join('\n')
  const quorum = h('select', { id: 'approvals-required', name: 'approvalsRequired', disabled: !editable, 'aria-describedby': 'approvals-required-hint' },
    ...[1, 2, 3, 4, 5].map((n) => h('option', { value: String(n), selected: n === (tenant.approvalsRequired ?? 1) }, String(n))))
  const saved = h('p', { class: 'notice', role: 'status' })

  const form = h('form', {
    class: 'card stack',
    'aria-labelledby': 'settings-heading',
    onsubmit: (event) => {
      event.preventDefault()
      detach(save())
    }
  },
  h('h2', { id: 'settings-heading' }, `${tenant.displayName} (${tenant.id})`),
  h('div', { class: 'check' }, enabled, h('label', { for: 'lockbox-enabled' }, 'Customer Lockbox is on')),
  h('p', { id: 'lockbox-enabled-hint', class: 'hint' }, 'When it is on, the provider\'s engineers get access to your content only after one of your approvers approves. When it is off, the provider\'s manager approval is enough.'),
  h('label', { for: 'approver-emails' }, 'Approver e-mail addresses'),
  emails,
  h('p', { id: 'approver-emails-hint', class: 'hint' }, 'One address per line. Each new request is sent to these addresses.'),
  h('label', { for: 'approvals-required' }, 'Approvals required'),
  quorum,
  h('p', { id: 'approvals-required-hint', class: 'hint' }, 'How many different approvers must approve a request before access opens. Any one of them can deny it.'),
  editable
    ? h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save settings'))
    : h('p', { class: 'muted' }, 'Only a global administrator of your organisation can change these settings.'))
  main.append(saved, form)

  async function save (): Promise<void> {
    error.clear()
    saved.textContent = ''
    const list = [...new Set(emails.value.split('\n').map((line) => line.trim()).filter((line) => line !== ''))]
    const wrong = list.find((address) => !LOOKS_LIKE_EMAIL.test(address))
    if (wrong !== undefined) {
      error.show(`"${wrong}" is not an e-mail address.`)
      emails.focus()
      return
    }
    try {
      tenant = await api<Tenant>('PATCH', `/v1/tenants/${encodeURIComponent(tenant.id)}`, { body: { lockboxEnabled: enabled.checked, approverEmails: list, approvalsRequired: Number(quorum.value) }, signal })
      enabled.checked = tenant.lockboxEnabled
      emails.value = tenant.approverEmails.join('\n')
      quorum.value = String(tenant.approvalsRequired ?? 1)
      saved.textContent = `Settings saved: Customer Lockbox is ${tenant.lockboxEnabled ? 'on' : 'off'}, ${tenant.approverEmails.length} approver ${tenant.approverEmails.length === 1 ? 'address' : 'addresses'}.`
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
    }
  }
}
