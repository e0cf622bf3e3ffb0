import t from 'tap'
import createError from '@fastify/error'
import { ConflictError, InvalidState, StoreUnavailableError, toProblem, Unavailable } from '../../src/errors.js'

t.test('maps our errors, store failures and Fastify\'s client errors to problems', async (t) => {
  t.match(toProblem(new StoreUnavailableError('ECONNREFUSED 127.0.0.1:6379')), { status: 503, code: 'UNAVAILABLE', detail: 'the store is unavailable; try again shortly' })
  t.match(toProblem(new ConflictError('version 3 != 4')), { status: 409, code: 'INVALID_STATE' })
  t.match(toProblem(new InvalidState('cannot approve')), { status: 409, code: 'INVALID_STATE', detail: 'cannot approve', title: 'Conflict' })
  t.match(toProblem(new Unavailable('identity provider unreachable')), { status: 503, code: 'UNAVAILABLE', detail: 'identity provider unreachable' }, 'our 5xx messages are written for clients')
  const TooLarge = createError('FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large', 413)
  t.match(toProblem(new TooLarge()), { status: 413, code: 'PAYLOAD_TOO_LARGE', title: 'Payload Too Large' })
  const NotAllowed = createError('FST_ERR_SOMETHING', 'Method not allowed', 405)
  t.match(toProblem(new NotAllowed()), { status: 405, code: 'METHOD_NOT_ALLOWED' })
  const Teapot = createError('FST_ERR_TEAPOT', 'short and stout', 418)
  t.match(toProblem(new Teapot()), { status: 418, code: 'VALIDATION_FAILED', title: 'Error' })
})

t.test('never shows the text of an unexpected error', async (t) => {
  const leaky = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432 at Socket.internal'), { statusCode: 502 })
  t.same(toProblem(leaky), { type: 'urn:lockbox-gateway:problem:internal', title: 'Internal Server Error', status: 500, detail: 'an unexpected error occurred', code: 'INTERNAL' })
  const weird = Object.assign(new Error('x'), { statusCode: 99 })
  t.equal(toProblem(weird).status, 500, 'a status outside 4xx/5xx is a 500')
  t.equal(toProblem(new TypeError('undefined is not a function')).detail, 'an unexpected error occurred')
})
