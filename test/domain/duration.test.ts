// ISO 8601 durations: what parses, what is refused, and formatting back.
import t from 'tap'
import { formatDuration, parseAccessDuration, parseDuration } from '../../src/domain/duration.js'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

t.test('parses fixed-length durations to milliseconds', async (t) => {
  const valid: Array<[string, number]> = [
    ['PT2H', 2 * HOUR],
    ['PT4H', 4 * HOUR],
    ['PT30M', 30 * MINUTE],
    ['PT1H30M', 90 * MINUTE],
    ['PT90S', 90 * SECOND],
    ['PT0.5S', 500],
    ['PT0.001S', 1],
    ['PT1.25S', 1250],
    ['PT1H2M3S', HOUR + 2 * MINUTE + 3 * SECOND],
    ['PT0S', 0],
    ['P0D', 0],
    ['P365D', 365 * DAY],
    ['P1DT2H', DAY + 2 * HOUR],
    ['P2W', 14 * DAY]
  ]
  for (const [text, ms] of valid) t.equal(parseDuration(text), ms, text)
})

t.test('refuses what is not a fixed-length ISO 8601 duration', async (t) => {
  const invalid = [
    'P', 'PT', 'P1DT', '2H', 'P1Y', 'P1M', 'P1Y2M', 'PT-1H', '-PT1H', '', 'PT1.2345S', 'PT1.5H', 'P1.5D',
    'pt2h', ' PT2H', 'PT2H ', 'PT2', 'PT30M2H', 'P1W2D', 'P2WT1H', 'PT0,5S', 'PT.5S', 'P1DT2HX'
  ]
  for (const text of invalid) t.equal(parseDuration(text), null, JSON.stringify(text))
})

t.test('refuses a duration too long to count exactly in milliseconds', async (t) => {
  for (const text of ['P' + '9'.repeat(400) + 'D', 'P' + '9'.repeat(400) + 'W', 'PT' + '9'.repeat(20) + 'H', 'PT' + '9'.repeat(400) + 'S']) {
    t.equal(parseDuration(text), null, `${text.slice(0, 12)}…`)
    t.equal(parseAccessDuration(text), null, `${text.slice(0, 12)}…`)
  }
  // The longest span a Date can hold still counts.
  t.equal(parseDuration('P100000000D'), 8.64e15)
})

t.test('accepts an access window only as a positive PT… duration', async (t) => {
  t.equal(parseAccessDuration('PT2H'), 2 * HOUR)
  t.equal(parseAccessDuration('PT1H30M'), 90 * MINUTE)
  t.equal(parseAccessDuration('PT0.5S'), 500)
  t.equal(parseAccessDuration('PT14400S'), 4 * HOUR)
  for (const text of ['PT0S', 'PT0M', 'PT', 'P1D', 'P1DT2H', 'P0DT2H', 'P2W', '2H', 'PT-1H', '', 'P']) {
    t.equal(parseAccessDuration(text), null, JSON.stringify(text))
  }
})

t.test('formats milliseconds as a compact duration', async (t) => {
  const cases: Array<[number, string]> = [
    [0, 'PT0S'],
    [1, 'PT0.001S'],
    [500, 'PT0.5S'],
    [90 * SECOND, 'PT1M30S'],
    [30 * MINUTE, 'PT30M'],
    [2 * HOUR, 'PT2H'],
    [90 * MINUTE, 'PT1H30M'],
    [HOUR + 2 * MINUTE + 3.5 * SECOND, 'PT1H2M3.5S'],
    [DAY, 'P1D'],
    [DAY + 2 * HOUR, 'P1DT2H'],
    [DAY + 1, 'P1DT0.001S'],
    [14 * DAY, 'P14D'],
    [365 * DAY, 'P365D']
  ]
  for (const [ms, text] of cases) t.equal(formatDuration(ms), text, String(ms))
})

t.test('round-trips through format and parse', async (t) => {
  for (const text of ['PT0S', 'PT2H', 'PT4H', 'PT30M', 'PT1H30M', 'PT1M30S', 'PT0.5S', 'PT59.999S', 'P365D', 'P1DT2H', 'P3DT4H5M6.007S']) {
    const ms = parseDuration(text)
    t.not(ms, null, text)
    t.equal(formatDuration(ms as number), text, text)
  }
  for (const ms of [1, 999, 1001, 59_999, 3_599_999, 4 * HOUR, 86_399_999, 7 * DAY + 1, 365 * DAY]) {
    t.equal(parseDuration(formatDuration(ms)), ms, String(ms))
  }
  // A week is a fixed 7 days: same length, written in days.
  t.equal(formatDuration(parseDuration('P2W') as number), 'P14D')
  t.equal(formatDuration(parseDuration('PT90S') as number), 'PT1M30S')
})
