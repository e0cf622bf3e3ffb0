// ISO 8601 durations of fixed length: PnW, or PnDTnHnMnS (seconds may carry a fraction).
// Years and months are refused: their length depends on the calendar, and a grant must not.

const PATTERN = /^P(?:(\d+)W|(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?)$/

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * Milliseconds in `text`, or null when it is not a fixed-length ISO 8601 duration or is too long to
 * count exactly in milliseconds (`P9999…D` would otherwise come out as Infinity).
 */
export function parseDuration (text: string): number | null {
  const m = PATTERN.exec(text)
  if (m === null || text === 'P' || text.endsWith('T')) return null
  const [, weeks, days, hours, minutes, seconds] = m
  const ms = weeks !== undefined
    ? Number(weeks) * 7 * DAY
    : Number(days ?? 0) * DAY +
      Number(hours ?? 0) * HOUR +
      Number(minutes ?? 0) * MINUTE +
      Math.round(Number(seconds ?? 0) * SECOND)
  return Number.isSafeInteger(ms) ? ms : null
}

/** An access window duration as API.md §3 accepts it: `PT…H…M…S`, positive. */
export function parseAccessDuration (text: string): number | null {
  if (!text.startsWith('PT')) return null
  const ms = parseDuration(text)
  return ms !== null && ms > 0 ? ms : null
}

/** Milliseconds as a compact ISO 8601 duration (`PT2H30M`, `P365D`). */
export function formatDuration (ms: number): string {
  const days = Math.floor(ms / DAY)
  let rest = ms - days * DAY
  const hours = Math.floor(rest / HOUR)
  rest -= hours * HOUR
  const minutes = Math.floor(rest / MINUTE)
  rest -= minutes * MINUTE
  const seconds = rest / SECOND
  let time = ''
  if (hours > 0) time += `${hours}H`
  if (minutes > 0) time += `${minutes}M`
  if (seconds > 0) time += `${seconds}S`
  if (days === 0 && time === '') return 'PT0S'
  return 'P' + (days > 0 ? `${days}D` : '') + (time !== '' ? 'T' + time : '')
}
