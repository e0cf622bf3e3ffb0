// The one shape of a mock service's 404, for an unknown tenant, mailbox, site, drive, message or file.
import type { FastifyReply } from 'fastify'

/** Answers 404 naming what is missing (`'mailbox'` → `{ error: 'mailbox not found' }`). */
export function notFound (reply: FastifyReply, what: string): FastifyReply {
  return reply.code(404).send({ error: `${what} not found` })
}
