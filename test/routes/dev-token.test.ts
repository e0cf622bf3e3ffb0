// The dev issuer's routes: who the dev sign-in picker may offer, and that none of it exists beside a real issuer.
import t from 'tap'
import devUsers from '../../config/dev-users.json' with { type: 'json' }
import { startTestApp } from '../helpers/app.js'

t.test('lists the dev users with their tenant and roles, without e-mail addresses', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const res = await h.app.inject({ url: '/dev/users' })
  t.equal(res.statusCode, 200)
  const listed = res.json() as Array<Record<string, unknown>>
  t.same(listed, devUsers.map(({ id, name, tid, roles }) => ({ id, name, tid, roles })))
  t.notOk(res.body.includes('@'), 'no address is listed')
})

t.test('has no user list when an OIDC issuer is configured', async (t) => {
  const h = await startTestApp({ config: { oidc: { issuer: 'https://idp.example', audience: 'lockbox', jwksUrl: 'http://127.0.0.1:9/jwks' }, devUsers: [] } })
  t.teardown(h.close)
  const res = await h.app.inject({ url: '/dev/users' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
})
