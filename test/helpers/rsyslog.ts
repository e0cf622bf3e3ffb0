// A real rsyslogd for the syslog SIEM sink's tests: started on a free loopback port with a generated
// config in a temp dir (imtcp in, omfile out, every message as received), killed and restarted on
// the same port to play a receiver that dies mid-stream.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './redis.js'

export const RSYSLOGD = '/usr/sbin/rsyslogd'

export interface SyslogLine { pri: number, time: string, host: string, app: string, msgid: string, data: string, message: unknown }

export interface Rsyslog {
  port: number
  url: string
  /** Every message written so far, parsed. */
  lines: () => SyslogLine[]
  /** SIGKILL: gone at once, as in a crash. */
  kill: () => Promise<void>
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** `<pri>1 time host app procid msgid [sd] json`: our messages' shape (src/siem/syslog.ts). */
const LINE = /^<(\d+)>1 (\S+) (\S+) (\S+) \S+ (\S+) (\[.*?"\]) (.*)$/

export function parseSyslogLine (line: string): SyslogLine {
  const m = LINE.exec(line)
  if (m === null) throw new Error(`not one of our syslog messages: ${line.slice(0, 200)}`)
  return { pri: Number(m[1]), time: m[2] as string, host: m[3] as string, app: m[4] as string, msgid: m[5] as string, data: m[6] as string, message: JSON.parse(m[7] as string) }
}

async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => { resolve(false) })
  })
}

export async function startRsyslog (): Promise<Rsyslog> {
  if (!existsSync(RSYSLOGD)) throw new Error(`${RSYSLOGD} is missing: apt-get install rsyslog (npm run test:all does)`)
  const dir = mkdtempSync(join(tmpdir(), 'lockbox-rsyslog-'))
  const port = await freePort()
  const out = join(dir, 'received.log')
  const conf = join(dir, 'rsyslog.conf')
  writeFileSync(conf, [
    `global(workDirectory="${dir}" maxMessageSize="256k")`,
    'module(load="imtcp")',
    'template(name="asReceived" type="string" string="%rawmsg%\\n")',
    'ruleset(name="lockbox") {',
    `  action(type="omfile" file="${out}" template="asReceived")`,
    '}',
    `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="lockbox")`,
    ''
  ].join('\n'))
  let child: ChildProcess | null = null
  const start = async (): Promise<void> => {
    child = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' })
    for (let tries = 0; !await listening(port); tries++) {
      if (tries === 200 || child.exitCode !== null) throw new Error(`rsyslogd did not start on port ${port}`)
      await sleep(25)
    }
  }
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    const running = child
    child = null
    if (running === null || running.exitCode !== null) return
    const exited = once(running, 'exit')
    running.kill(name)
    await exited
  }
  await start()
  return {
    port,
    url: `tcp://127.0.0.1:${port}`,
    lines: () => existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((line) => line !== '').map(parseSyslogLine) : [],
    kill: async () => { await signal('SIGKILL') },
    start,
    stop: async () => {
      await signal('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
