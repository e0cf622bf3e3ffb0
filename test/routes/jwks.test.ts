import t from 'tap'
import { readFile } from 'node:fs/promises'
import { startTestApp } from '../helpers/app.js'

t.test('publishes the public halves of the signing keys, to anyone', async (t) => {
  const h = await startTestApp()
  t.teardown(h.close)
  const res = await h.app.inject({ url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'public, max-age=300')
  const stored = JSON.parse(await readFile(h.config.signingKeyFile, 'utf8')).keys[0]
  t.same(res.json(), { keys: [{ kty: 'OKP', crv: 'Ed25519', x: stored.x, kid: stored.kid, alg: 'EdDSA', use: 'sig' }] })
  t.notOk(res.body.includes(stored.d), 'never the private key')
})
