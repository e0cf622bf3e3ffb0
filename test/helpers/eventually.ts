// The one way a test waits for what the code under test does after the call that caused it has
// returned (a record written after a response, an event delivered after a commit, a log line):
// poll until it holds. The deadline only stops a test that would otherwise hang; it is no timing
// claim, so it is generous for a loaded machine.
import { setTimeout as sleep } from 'node:timers/promises'

const GIVE_UP_MS = 10_000
const EVERY_MS = 10

/**
 * Resolves with `probe`'s value once `check` holds for it (by default: once it is truthy); rejects
 * naming `what` and the last value seen if it never does.
 */
export async function eventually<T> (what: string, probe: () => T | Promise<T>, check: (value: T) => boolean = Boolean): Promise<T> {
  const giveUpAt = Date.now() + GIVE_UP_MS
  for (;;) {
    const value = await probe()
    if (check(value)) return value
    if (Date.now() > giveUpAt) throw new Error(`${what}: still not true after ${GIVE_UP_MS / 1000} s: ${JSON.stringify(value)}`)
    await sleep(EVERY_MS)
  }
}
