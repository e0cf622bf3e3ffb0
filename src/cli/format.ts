// Pure formatting for human output: relative times, byte counts, aligned tables, friendly durations.
import { formatDuration, parseAccessDuration } from '../domain/duration.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** A span as people say it: `45s`, `12m`, `3h 12m`, `2d 4h`. */
export function span (ms: number): string {
  const abs = Math.abs(ms)
  if (abs < MINUTE) return `${Math.floor(abs / 1000)}s`
  if (abs < HOUR) return `${Math.floor(abs / MINUTE)}m`
  const [big, small, bigUnit, smallUnit] = abs < DAY
    ? [Math.floor(abs / HOUR), Math.floor((abs % HOUR) / MINUTE), 'h', 'm']
    : [Math.floor(abs / DAY), Math.floor((abs % DAY) / HOUR), 'd', 'h']
  return small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${small}${smallUnit}`
}

/** `in 3h 12m` or `2m ago` (`just now` within a second). */
export function relative (iso: string, now: number): string {
  const diff = Date.parse(iso) - now
  if (Math.abs(diff) < 1000) return 'just now'
  return diff > 0 ? `in ${span(diff)}` : `${span(diff)} ago`
}

/** `expires in 3h 12m`, or `expired 2m ago`. */
export function expiry (iso: string, now: number): string {
  return Date.parse(iso) > now ? `expires ${relative(iso, now)}` : `expired ${relative(iso, now)}`
}

export function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] as string}`
}

/**
 * An access duration as the API wants it (`PT2H30M`), from either that form or the shorthand people
 * type (`2h30m`, `90m`); null when it is neither.
 */
export function accessDuration (text: string): string | null {
  const upper = text.trim().toUpperCase()
  const ms = parseAccessDuration(upper.startsWith('P') ? upper : `PT${upper}`)
  return ms === null ? null : formatDuration(ms)
}

// eslint-disable-next-line no-control-regex -- ANSI colour sequences are exactly what is stripped
const ANSI = /\u001b\[[0-9;]*m/g

export function visibleWidth (text: string): number {
  return text.replace(ANSI, '').length
}

/** Columns padded to their widest cell; the last column is never padded. */
export function table (header: string[], rows: string[][]): string[] {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((row) => visibleWidth(row[i] as string))))
  return all.map((row) => row.map((cell, i) => i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] as number) - visibleWidth(cell))).join('  ').trimEnd())
}

/** `key  value` lines with the keys aligned. */
export function fields (pairs: Array<[string, string]>): string[] {
  const width = Math.max(...pairs.map(([key]) => key.length))
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`)
}
