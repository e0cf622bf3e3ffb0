// The mock Exchange service (API.md §5): mailboxes, their messages and the messages' attachments.
import type { FastifyInstance } from 'fastify'
import { gatewayAssertionGuard, type GatewayAssertionOptions } from './assertion.js'
import { smallBodyBytes } from './bytes.js'
import { SAMPLE_CONTENT, type SampleMailbox, type SampleMessage } from './content.js'
import { notFound } from './not-found.js'

interface Attachment {
  id: string
  name: string
  contentType: string
  size: number
  bytes: Buffer
}

type Message = Omit<SampleMessage, 'attachments'> & { attachments: Attachment[] }

interface Mailbox {
  upn: string
  displayName: string
  messages: Map<string, Message>
}

/** The fields a PATCH may change; anything else is refused rather than ignored. */
export interface MessagePatch {
  isRead?: boolean
  subject?: string
}

/** The patch `body` asks for, or null when it is not one. */
export function parseMessagePatch (body: unknown): MessagePatch | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null
  const entries = Object.entries(body)
  if (entries.length === 0) return null
  for (const [key, value] of entries) {
    const valid = (key === 'isRead' && typeof value === 'boolean') ||
      (key === 'subject' && typeof value === 'string' && value.length > 0)
    if (!valid) return null
  }
  return body as MessagePatch
}

function messageView ({ attachments, ...message }: Message) {
  return { ...message, attachments: attachments.map(({ id, name, contentType, size }) => ({ id, name, contentType, size })) }
}

function loadMailboxes (tenantId: string, mailboxes: SampleMailbox[]): Map<string, Mailbox> {
  return new Map(mailboxes.map(({ upn, displayName, messages }) => [upn, {
    upn,
    displayName,
    messages: new Map(messages.map((message) => [message.id, {
      ...message,
      attachments: message.attachments.map(({ id, name, contentType, body }) => {
        const bytes = smallBodyBytes(body, `exchange/${tenantId}/${upn}/${message.id}/${id}`)
        return { id, name, contentType, size: bytes.length, bytes }
      })
    }]))
  }]))
}

type MailboxParams = { tenantId: string, upn: string }
type MessageParams = MailboxParams & { messageId: string }

/** Each registration starts from the sample content and keeps its own changes. */
export async function exchangeService (app: FastifyInstance, options: GatewayAssertionOptions): Promise<void> {
  app.addHook('onRequest', gatewayAssertionGuard('exchange', options))

  const tenants = new Map<string, Map<string, Mailbox>>()
  for (const [tenantId, { mailboxes }] of Object.entries(SAMPLE_CONTENT)) {
    tenants.set(tenantId, loadMailboxes(tenantId, mailboxes))
  }

  function mailboxOf ({ tenantId, upn }: MailboxParams): Mailbox | string {
    const mailboxes = tenants.get(tenantId)
    if (mailboxes === undefined) return 'tenant'
    return mailboxes.get(upn) ?? 'mailbox'
  }

  function messageOf (params: MessageParams): Message | string {
    const mailbox = mailboxOf(params)
    if (typeof mailbox === 'string') return mailbox
    return mailbox.messages.get(params.messageId) ?? 'message'
  }

  app.get<{ Params: { tenantId: string } }>('/tenants/:tenantId/mailboxes', async function listMailboxes (request, reply) {
    const mailboxes = tenants.get(request.params.tenantId)
    if (mailboxes === undefined) return notFound(reply, 'tenant')
    return [...mailboxes.values()].map(({ upn, displayName }) => ({ upn, displayName }))
  })

  app.get<{ Params: MailboxParams }>('/tenants/:tenantId/mailboxes/:upn/messages', async function listMessages (request, reply) {
    const mailbox = mailboxOf(request.params)
    if (typeof mailbox === 'string') return notFound(reply, mailbox)
    return [...mailbox.messages.values()]
      .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt))
      .map(({ id, subject, from, receivedAt, isRead }) => ({ id, subject, from, receivedAt, isRead }))
  })

  const message = '/tenants/:tenantId/mailboxes/:upn/messages/:messageId'

  app.get<{ Params: MessageParams }>(message, async function readMessage (request, reply) {
    const found = messageOf(request.params)
    if (typeof found === 'string') return notFound(reply, found)
    return messageView(found)
  })

  app.patch<{ Params: MessageParams }>(message, async function updateMessage (request, reply) {
    const found = messageOf(request.params)
    if (typeof found === 'string') return notFound(reply, found)
    const patch = parseMessagePatch(request.body)
    if (patch === null) return reply.code(400).send({ error: 'a patch sets isRead (boolean) and/or subject (non-empty string), nothing else' })
    Object.assign(found, patch)
    return messageView(found)
  })

  app.delete<{ Params: MessageParams }>(message, async function deleteMessage (request, reply) {
    const mailbox = mailboxOf(request.params)
    if (typeof mailbox === 'string') return notFound(reply, mailbox)
    if (!mailbox.messages.delete(request.params.messageId)) return notFound(reply, 'message')
    return reply.code(204).send()
  })

  app.get<{ Params: MessageParams & { attachmentId: string } }>(`${message}/attachments/:attachmentId`,
    async function readAttachment (request, reply) {
      const found = messageOf(request.params)
      if (typeof found === 'string') return notFound(reply, found)
      const attachment = found.attachments.find(({ id }) => id === request.params.attachmentId)
      if (attachment === undefined) return notFound(reply, 'attachment')
      return reply.type(attachment.contentType).send(attachment.bytes)
    })
}
