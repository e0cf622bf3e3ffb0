// Signed webhooks: `x-lockbox-signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, the scheme
// receivers know from Stripe and Slack. A receiver checks the HMAC and that `t` is recent.
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { OutboxMessage } from './types.js'

export const SIGNATURE_HEADER = 'x-lockbox-signature'

export function signWebhook (body: string, secret: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${mac}`
}

/**
 * What a receiver runs: true when the signature is ours, for this very body, and no older than
 * `toleranceSeconds` (which defeats replaying a captured delivery later).
 */
export function verifyWebhook (header: string | undefined, body: string, secret: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (header === undefined) return false
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]))
  const t = Number(parts.get('t'))
  const v1 = parts.get('v1')
  if (!Number.isInteger(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return false
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false
  const expected = Buffer.from(signWebhook(body, secret, t).slice(`t=${t},v1=`.length), 'hex')
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'))
}

export interface WebhookSender {
  send: (message: OutboxMessage) => Promise<void>
}

export function webhookSender (url: string, secret: string, now: () => number = Date.now): WebhookSender {
  return {
    async send (message) {
      const body = message.webhook as string
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(body, secret, Math.floor(now() / 1000)),
          'x-lockbox-event': message.event,
          'x-lockbox-delivery': message.id
        },
        body,
        signal: AbortSignal.timeout(10_000),
        redirect: 'error'
      })
      await res.body?.cancel()
      if (!res.ok) throw new Error(`webhook answered ${res.status}`)
    }
  }
}
