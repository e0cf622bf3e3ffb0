// The dev issuer's endpoints: POST /dev/token mints an identity token, GET /dev/users lists who it
// can mint one for (the admin center's dev sign-in picker). Registered only when no OIDC issuer is configured.
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { NotFound } from '../errors.js'
import type { DevIssuer } from '../identity/dev-issuer.js'
import { problems } from './schemas.js'

const Body = Type.Object({ user: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })
const DevUser = Type.Object({ id: Type.String(), name: Type.String(), tid: Type.String(), roles: Type.Array(Type.String()) })

export default async function devTokenRoutes (app: FastifyInstance, { issuer }: { issuer: DevIssuer }): Promise<void> {
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

  app.get('/dev/users', {
    schema: {
      tags: ['operations'],
      summary: 'Dev only: the users POST /dev/token signs for, with their tenant and roles',
      response: { 200: Type.Array(DevUser) }
    }
  }, async function listDevUsers () {
    return issuer.users()
  })
}
