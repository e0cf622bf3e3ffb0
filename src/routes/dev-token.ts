// POST /dev/token: the dev issuer's token endpoint. Registered only when no OIDC issuer is configured.
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { NotFound } from '../errors.js'
import { problems } from './schemas.js'

const Body = Type.Object({ user: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })

export default async function devTokenRoutes (app: FastifyInstance): Promise<void> {
  const issuer = app.devIssuer
  /* c8 ignore next -- app.ts registers these routes only when the dev issuer runs */
  if (issuer === null) return
  app.post<{ Body: { user: string } }>('/dev/token', {
    schema: {
      tags: ['operations'],
      summary: 'Dev only: an identity token for a user of config/dev-users.json',
      body: Body,
      response: { 200: Type.Object({ token: Type.String() }), ...problems(400, 404) }
    }
  }, async function issueDevToken (request) {
    const token = await issuer.issue(request.body.user)
    if (token === null) throw new NotFound(`no dev user "${request.body.user}" (see config/dev-users.json)`)
    return { token }
  })
}
