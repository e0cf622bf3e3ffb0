// The tenant's lockbox settings: on/off and who is told about new requests. Global administrators
// change them; the tenant's other users may read them.
import { api, detach } from '../api.js'
import { errorBox, h, messageOf } from '../dom.js'
import type { Tenant } from '../types.js'
import { passkeysAvailable, registerPasskey, type ApproverKey } from '../passkeys.js'
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
  const signed = h('input', { id: 'require-signed', name: 'requireSignedApprovals', type: 'checkbox', checked: tenant.requireSignedApprovals === true, disabled: !editable, 'aria-describedby': 'require-signed-hint' })
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
  h('div', { class: 'check' }, signed, h('label', { for: 'require-signed' }, 'Require passkey-signed approvals')),
  h('p', { id: 'require-signed-hint', class: 'hint' }, 'An approval then counts only when the approver signs exactly what is granted with a registered passkey, so nobody at the provider can approve in your name; the content services can check the signatures themselves.'),
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
  if (hasRole(me, 'GlobalAdministrator', 'CustomerLockboxApprover')) main.append(passkeyCard(ctx, tenant.id, editable))

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
      tenant = await api<Tenant>('PATCH', `/v1/tenants/${encodeURIComponent(tenant.id)}`, { body: { lockboxEnabled: enabled.checked, approverEmails: list, approvalsRequired: Number(quorum.value), requireSignedApprovals: signed.checked }, signal })
      signed.checked = tenant.requireSignedApprovals === true
      enabled.checked = tenant.lockboxEnabled
      emails.value = tenant.approverEmails.join('\n')
      quorum.value = String(tenant.approvalsRequired ?? 1)
      saved.textContent = `Settings saved: Customer Lockbox is ${tenant.lockboxEnabled ? 'on' : 'off'}, ${tenant.approverEmails.length} approver ${tenant.approverEmails.length === 1 ? 'address' : 'addresses'}.`
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
    }
  }
}

/** The tenant's approver passkeys: register one's own; revoke one's own, or any as a global administrator. */
function passkeyCard (ctx: ViewContext, tenantId: string, admin: boolean): HTMLElement {
  const { me, signal } = ctx
  const path = `/v1/tenants/${encodeURIComponent(tenantId)}/passkeys`
  const error = errorBox('passkeys-error')
  const status = h('p', { class: 'notice', role: 'status' })
  const body = h('tbody')
  const register = h('button', { type: 'button', class: 'primary', disabled: !passkeysAvailable() }, 'Register a passkey')
  const card = h('section', { class: 'card stack', 'aria-labelledby': 'passkeys-heading' },
    h('h2', { id: 'passkeys-heading' }, 'Approver passkeys'),
    h('p', { class: 'hint' }, 'A passkey signs your approvals. Each registration and removal is recorded in the audit log; the public keys are published for the content services.'),
    error, status,
    h('table', { class: 'passkeys' }, h('thead', {}, h('tr', {}, h('th', {}, 'Approver'), h('th', {}, 'Key'), h('th', {}, 'Registered'), h('th', {}, 'State'), h('th', {}))), body),
    h('div', { class: 'actions' }, register))
  if (!passkeysAvailable()) card.append(h('p', { class: 'muted' }, 'This browser cannot use passkeys.'))

  const load = async (): Promise<void> => {
    try {
      const { items } = await api<{ items: ApproverKey[] }>('GET', path, { signal })
      body.replaceChildren(...items.map(row))
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
    }
  }
  const row = (key: ApproverKey): HTMLElement => {
    const mayRevoke = key.revokedAt === null && (admin || key.approver.id === me.id)
    const revoke = h('button', {
      type: 'button',
      class: 'danger',
      'aria-label': `Revoke the passkey of ${key.approver.name}`,
      onclick: () => { detach(run(async () => { await api('POST', `${path}/${encodeURIComponent(key.kid)}/revoke`, { signal }) }, `Passkey of ${key.approver.name} revoked.`)) }
    }, 'Revoke')
    return h('tr', { 'data-kid': key.kid },
      h('td', {}, `${key.approver.name} (${key.approver.id})`),
      h('td', {}, h('code', {}, `${key.alg} ${key.kid.slice(0, 12)}…`)),
      h('td', {}, new Date(key.createdAt).toISOString().slice(0, 16).replace('T', ' ')),
      h('td', {}, key.revokedAt === null ? 'Active' : `Revoked by ${key.revokedBy ?? ''}`),
      h('td', {}, mayRevoke ? revoke : null))
  }
  const run = async (step: () => Promise<unknown>, said: string): Promise<void> => {
    error.clear()
    status.textContent = ''
    try {
      await step()
      status.textContent = said
      await load()
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
    }
  }
  register.addEventListener('click', () => { detach(run(async () => await registerPasskey(tenantId), 'Passkey registered.')) })
  detach(load())
  return card
}
