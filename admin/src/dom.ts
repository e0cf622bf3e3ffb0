// A tiny element builder. Text always goes in as text nodes, never as HTML, so nothing a request or
// an audit record contains can turn into markup.
export type Child = Node | string | null | undefined | false
type AttrValue = string | number | boolean | null | undefined
export type Attrs = Record<string, AttrValue | ((event: Event) => void)>

export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value)
    else if (value === true) el.setAttribute(name, '')
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value))
  }
  append(el, ...children)
  return el
}

export function append (el: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    el.append(child)
  }
}

/** A region that shows an error as it came from the gateway, and is announced when it does. */
export function errorBox (id: string): HTMLDivElement & { show: (message: string) => void, clear: () => void } {
  // Always in the page, empty when there is nothing to say: a live region that appears together
  // with its text is not announced by every screen reader.
  const box = h('div', { id, class: 'error', role: 'alert' }) as HTMLDivElement & { show: (m: string) => void, clear: () => void }
  box.show = (message) => { box.replaceChildren(h('strong', {}, 'Error: '), message) }
  box.clear = () => { box.replaceChildren() }
  return box
}

/** The text of a thrown value, for an errorBox. */
export function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

let uniqueIds = 0
/** A fresh id for label/aria-describedby pairs. */
export function uid (prefix: string): string {
  uniqueIds += 1
  return `${prefix}-${uniqueIds}`
}
