// Relative times, sizes, durations and tables as the CLI prints them.
import t from 'tap'
import { accessDuration, bytes, expiry, fields, relative, span, table, visibleWidth } from '../../src/cli/format.js'

const NOW = Date.parse('2026-11-24T09:00:00.000Z')
const at = (ms: number): string => new Date(NOW + ms).toISOString()

t.test('says spans the way people do', async (t) => {
  t.equal(span(45_000), '45s')
  t.equal(span(-12 * 60_000), '12m')
  t.equal(span(3 * 3600_000), '3h')
  t.equal(span((3 * 60 + 12) * 60_000 + 59_000), '3h 12m')
  t.equal(span(2 * 86_400_000), '2d')
  t.equal(span(2 * 86_400_000 + 4 * 3600_000), '2d 4h')
})

t.test('puts times before or after now', async (t) => {
  t.equal(relative(at(500), NOW), 'just now')
  t.equal(relative(at(2 * 60_000), NOW), 'in 2m')
  t.equal(relative(at(-2 * 60_000), NOW), '2m ago')
  t.equal(expiry(at((3 * 60 + 12) * 60_000), NOW), 'expires in 3h 12m')
  t.equal(expiry(at(-2 * 60_000), NOW), 'expired 2m ago')
})

t.test('counts bytes in binary units', async (t) => {
  t.equal(bytes(512), '512 B')
  t.equal(bytes(1536), '1.5 KiB')
  t.equal(bytes(52 * 1024 * 1024), '52 MiB')
  t.equal(bytes(3 * 1024 ** 5), '3072 TiB')
})

t.test('turns what people type into an ISO access duration', async (t) => {
  t.equal(accessDuration('2h'), 'PT2H')
  t.equal(accessDuration('1h30m'), 'PT1H30M')
  t.equal(accessDuration('90m'), 'PT1H30M')
  t.equal(accessDuration('pt45s'), 'PT45S')
  t.equal(accessDuration('P1D'), null, 'days are not an access window')
  t.equal(accessDuration('0m'), null)
  t.equal(accessDuration('soon'), null)
})

t.test('aligns tables and fields by what is visible', async (t) => {
  t.equal(visibleWidth('\u001b[32mApproved\u001b[39m'), 8)
  t.same(table(['ID', 'STATUS', 'NOTE'], [['1', '\u001b[32mok\u001b[39m', ''], ['22', 'no', 'x']]), [
    'ID  STATUS  NOTE',
    '1   \u001b[32mok\u001b[39m',
    '22  no      x'
  ])
  t.same(fields([['user', 'ada'], ['roles', 'x']]), ['user   ada', 'roles  x'])
})
