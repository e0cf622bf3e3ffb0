// Delegations of approving: an approver away hands their approving to someone of the tenant until
// a time; listed here with who may end them. (docs/approval-policy.md)
import { api, detach } from '../api.js'
import { errorBox, h, messageOf } from '../dom.js'
import { timeElement } from '../format.js'
import type { Delegation } from '../types.js'
import { mayDecide, type ViewContext } from '../view.js'

export async function renderDelegations (ctx: ViewContext): Promise<void> {
  const { main, me, signal } = ctx
  const heading = ctx.heading('Delegations')
  const error = errorBox('delegations-error')
  const done = h('p', { class: 'notice', role: 'status' })
  main.replaceChildren(heading, error, done)
  if (me.provider) {
    main.append(h('p', {}, 'Delegations belong to each customer tenant: its approvers hand their approving to someone while they are away.'))
    return
  }
  const base = `/v1/tenants/${encodeURIComponent(me.tenantId)}/delegations`
  const list = h('section', { class: 'card', 'aria-labelledby': 'delegations-heading' })
  main.append(list)

  const load = async (): Promise<void> => {
    try {
      const page = await api<{ items: Delegation[] }>('GET', base, { signal })
      show(page.items)
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
    }
  }

  const revoke = async (d: Delegation): Promise<void> => {
    error.clear()
    try {
      await api<Delegation>('POST', `${base}/${encodeURIComponent(d.id)}/revoke`, { signal })
      done.textContent = `The delegation from ${d.from} to ${d.to} has ended.`
      await load()
    } catch (err) {
      if (!signal.aborted) error.show(messageOf(err))
    }
  }

  const show = (items: Delegation[]): void => {
    list.replaceChildren(h('h2', { id: 'delegations-heading' }, 'Current delegations'))
    if (items.length === 0) {
      list.append(h('p', { class: 'muted' }, 'No delegations.'))
      return
    }
    list.append(h('table', { class: 'delegations' },
      h('thead', {}, h('tr', {}, ...['From', 'To', 'Until', 'Status', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...items.map((d) => h('tr', { 'data-id': d.id },
        h('td', {}, d.from),
        h('td', {}, d.to),
        h('td', {}, timeElement(d.until)),
        h('td', {}, d.status),
        h('td', {}, d.status === 'Active'
          ? h('button', { type: 'button', class: 'danger', 'aria-label': `End the delegation from ${d.from} to ${d.to}`, onclick: () => { detach(revoke(d)) } }, 'End now')
          : null))))))
  }

  if (mayDecide(me, me.tenantId)) main.append(createForm())
  await load()

  function createForm (): HTMLElement {
    const to = h('input', { id: 'delegate-to', name: 'to', type: 'text', required: true, spellcheck: 'false', 'aria-describedby': 'delegate-hint' })
    const until = h('input', { id: 'delegate-until', name: 'until', type: 'datetime-local', required: true })
    const form: HTMLFormElement = h('form', {
      class: 'card stack',
      'aria-labelledby': 'delegate-heading',
      onsubmit: (event) => {
        event.preventDefault()
        detach(create())
      }
    },
    h('h2', { id: 'delegate-heading' }, 'Delegate your approving'),
    h('label', { for: 'delegate-to' }, 'To (their user id)'),
    to,
    h('label', { for: 'delegate-until' }, 'Until'),
    until,
    h('p', { id: 'delegate-hint', class: 'hint' }, 'They decide for you until then; each decision names you, and you are e-mailed. A delegate cannot pass it on.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Delegate')))

    async function create (): Promise<void> {
      error.clear()
      done.textContent = ''
      const when = new Date(until.value)
      if (Number.isNaN(when.getTime())) {
        error.show('Choose when the delegation ends.')
        return
      }
      try {
        const d = await api<Delegation>('POST', base, { body: { to: to.value.trim(), until: when.toISOString() }, signal })
        done.textContent = `${d.to} now decides for ${d.from} until ${new Date(d.until).toLocaleString()}.`
        form.reset()
        await load()
      } catch (err) {
        if (!signal.aborted) error.show(messageOf(err))
      }
    }
    return form
  }
}
