// Hints: what to do next after a refusal, by where the call went and what the gateway said.
import t from 'tap'
import { hintFor } from '../../src/cli/errors.js'

t.test('hints by plane and code, then by status', async (t) => {
  t.match(hintFor({ status: 401, code: 'UNAUTHENTICATED', detail: '' }, 'api'), 'run `lockbox login`')
  t.match(hintFor({ status: 401, code: 'TOKEN_INVALID', detail: '' }, 'content'), 'lockbox token <request-id>')
  t.match(hintFor({ status: 400, code: 'PATH_REJECTED', detail: '' }, 'content'), 'must be canonical')
  t.match(hintFor({ status: 404, code: 'NOT_FOUND', detail: '' }, 'dev'), 'config/dev-users.json')
  t.match(hintFor({ status: 403, code: 'SEPARATION_OF_DUTIES', detail: '' }, 'api'), 'another person')
  t.match(hintFor({ status: 503, code: 'UNAVAILABLE', detail: '' }, 'api'), 'try again shortly')
  t.equal(hintFor({ status: 418, code: 'HTTP_418', detail: '' }, 'api'), null)
})
