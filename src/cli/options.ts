// Parsers for option values: a bad value is a usage error (exit 2) raised by commander itself.
import { InvalidArgumentError, Option } from 'commander'
import { STATUSES, WORKLOADS } from '../domain/lockbox.js'
import { accessDuration } from './format.js'

const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/

export function tenantId (value: string): string {
  if (!TENANT_ID.test(value)) throw new InvalidArgumentError('a tenant id is lower-case letters, digits and dashes (e.g. contoso).')
  return value
}

export function positiveNumber (value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.')
  return n
}

export function limitUpTo (max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}.`)
    return n
  }
}

export function duration (value: string): string {
  const iso = accessDuration(value)
  if (iso === null) throw new InvalidArgumentError('expected a duration such as 2h, 90m, 1h30m or PT2H.')
  return iso
}

export function timestamp (value: string): string {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected a date and time such as 2026-11-24T09:00:00Z.')
  return new Date(ms).toISOString()
}

export const tenantOption = (description = 'tenant id (default: your own, for customer users)'): Option =>
  new Option('-t, --tenant <id>', description).argParser(tenantId)

export const workloadOption = (): Option =>
  new Option('-w, --workload <workload>', 'content service').choices(WORKLOADS)

export const statusOption = (): Option =>
  new Option('-s, --status <status>', 'only requests in this status').choices(STATUSES)

export const limitOption = (max: number): Option =>
  new Option('-n, --limit <n>', `page size, 1 to ${max}`).argParser(limitUpTo(max))

export const cursorOption = (): Option =>
  new Option('--cursor <cursor>', 'continue a listing where the previous page ended')

export const commentOption = (): Option =>
  new Option('-m, --comment <text>', 'a comment kept in the request\'s history')
