// What every page gets from the shell: where to render, who is signed in, and a signal that fires
// when the user navigates away (to stop its timers, streams and pending calls).
import type { Me } from './types.js'

export interface ViewContext {
  main: HTMLElement
  me: Me
  signal: AbortSignal
  /** Sets the page's heading and the document title together. */
  heading: (text: string) => HTMLHeadingElement
}

export function hasRole (me: Me, ...roles: string[]): boolean {
  return roles.some((role) => me.roles.includes(role))
}

/** Customer approvers and global admins decide and revoke, for their own tenant only. */
export function mayDecide (me: Me, tenantId: string): boolean {
  return !me.provider && me.tenantId === tenantId && hasRole(me, 'GlobalAdministrator', 'CustomerLockboxApprover')
}

/** Who may search (and so watch) the audit log: a tenant's approvers and admins, the provider's security readers. */
export function mayReadAudit (me: Me): boolean {
  return me.provider ? hasRole(me, 'SecurityReader') : hasRole(me, 'GlobalAdministrator', 'CustomerLockboxApprover')
}

/** Repeats `tick` every `ms` until the page is left. */
export function every (signal: AbortSignal, ms: number, tick: () => void): void {
  const timer = setInterval(tick, ms)
  signal.addEventListener('abort', () => { clearInterval(timer) })
}
