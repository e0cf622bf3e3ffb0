// Content requests the router refuses before any route runs: find-my-way decodes the path to route
// it, and a path that is not valid percent-encoded UTF-8 (`%ZZ`, `%C0%AF`) fails there with
// FST_ERR_BAD_URL, so no onRequest hook sees it. The content guard still judges such a request,
// in the same order as any other, and records the refusal.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { PathRejected, sendProblem } from '../../errors.js'

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>

export class UnroutableRequests {
  private readonly guards = new Map<string, Guard>()

  /** The guard of the content routes under `/{workload}`. */
  guard (workload: string, guard: Guard): void {
    this.guards.set(workload, guard)
  }

  /** Fastify's `frameworkErrors`: every answer is problem+json; a content path goes through its guard. */
  readonly handle = async (err: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (err.code !== 'FST_ERR_BAD_URL') {
      sendProblem(reply, err)
      return
    }
    const guard = this.guards.get((request.raw.url as string).split(/[/?#]/)[1] as string)
    const rejected = new PathRejected('the path is not valid percent-encoded UTF-8; it is rejected, never repaired')
    if (guard === undefined) {
      sendProblem(reply, rejected)
      return
    }
    const refused = await guard(request, reply)
    /* c8 ignore next -- the router could not decode this path, so the guard's stricter canonical check refuses it too */
    if (refused === undefined) sendProblem(reply, rejected)
  }
}
