// Output: colours only where they are wanted, one JSON document with --json, errors with hints.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { CliError, ProblemError } from '../../src/cli/errors.js'
import { asCliError, Output, wantsColour } from '../../src/cli/output.js'

function capture (isTTY = false): PassThrough & { isTTY: boolean, text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY })
  let text = ''
  stream.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
  return Object.assign(stream, { text: () => text })
}

t.test('colours a terminal unless NO_COLOR, and anything when FORCE_COLOR', async (t) => {
  t.equal(wantsColour({ isTTY: true }, {}), true)
  t.equal(wantsColour({ isTTY: true }, { TERM: 'dumb' }), false)
  t.equal(wantsColour({ isTTY: false }, {}), false)
  t.equal(wantsColour({}, {}), false)
  t.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1' }), false)
  t.equal(wantsColour({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count')
  t.equal(wantsColour({ isTTY: false }, { FORCE_COLOR: '1' }), true)
  t.equal(wantsColour({ isTTY: true }, { FORCE_COLOR: '0' }), false)
  t.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }), false)
})

t.test('paints statuses and errors on a terminal', async (t) => {
  const stdout = capture(true)
  const stderr = capture(true)
  const out = new Output({ json: false, stdout, stderr, env: {} })
  t.equal(out.status('Approved'), '\u001b[32mApproved\u001b[39m')
  t.equal(out.status('Expired'), '\u001b[2mExpired\u001b[22m')
  out.note('next')
  out.error(new CliError('it broke', 1, 'try again'))
  t.equal(stderr.text(), '\u001b[2mnext\u001b[22m\n\u001b[31m\u001b[1merror:\u001b[22m\u001b[39m it broke\nhint: try again\n')
})

t.test('keeps stdout to one JSON document and reports errors as JSON on stderr', async (t) => {
  const stdout = capture()
  const stderr = capture()
  const out = new Output({ json: true, stdout, stderr, env: {} })
  out.result({ a: 1 }, () => { out.line('human') })
  out.note('not with --json')
  out.notice('following')
  out.error(new ProblemError({ status: 403, code: 'FORBIDDEN', detail: 'no' }, null))
  t.equal(stdout.text(), '{"a":1}\n')
  const [notice, error] = stderr.text().trimEnd().split('\n')
  t.equal(notice, 'following')
  t.same(JSON.parse(error as string), { error: 'no (FORBIDDEN)', exitCode: 1, hint: null, problem: { status: 403, code: 'FORBIDDEN', detail: 'no' } })
})

t.test('prints an error without a hint as one line', async (t) => {
  const stderr = capture()
  new Output({ json: false, stdout: capture(), stderr, env: {} }).error(new CliError('plain', 1))
  t.equal(stderr.text(), 'error: plain\n')
})

t.test('reports anything thrown as a refusal', async (t) => {
  t.match(asCliError(new Error('disk full')), { message: 'disk full', exitCode: 1 })
  t.match(asCliError('odd'), { message: 'odd', exitCode: 1 })
  const own = new CliError('x', 2)
  t.equal(asCliError(own), own)
})
