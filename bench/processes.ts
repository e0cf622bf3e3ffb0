// Starting, watching and stopping the bench's processes, and reading a process's CPU time from
// /proc, so the CPU a proxy spends is measured from outside it, the same way for Node and nginx.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

export interface Started { name: string, child: ChildProcess, pid: number }

/** A port no one listens on right now (the bench binds it again at once). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

/** Runs `command`; its output goes to `logFile` (or nowhere), so writing logs costs what it costs in production. */
export function start (name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv, logFile?: string } = {}): Started {
  const out = openSync(options.logFile ?? '/dev/null', 'a')
  const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', out, out] })
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`)
  child.on('exit', (code, signal) => {
    if (!stopping.has(child)) process.stderr.write(`  ! ${name} exited early (code ${String(code)}, signal ${String(signal)})\n`)
  })
  return { name, child, pid: child.pid }
}

/** How long a process may take to answer at start (BENCH_READY_SECONDS; a loaded machine needs more). */
const READY_SECONDS = Number(process.env.BENCH_READY_SECONDS ?? 30)

/** Waits until `url` answers 200 (or, for a bare port, accepts a request at all). */
export async function ready (name: string, url: string, anyStatus = false): Promise<void> {
  const giveUpAt = Date.now() + READY_SECONDS * 1000
  for (;;) {
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      if (anyStatus || res.status === 200) return
    } catch {}
    if (Date.now() > giveUpAt) throw new Error(`${name}: ${url} did not answer within ${READY_SECONDS} s`)
    await sleep(100)
  }
}

const stopping = new Set<ChildProcess>()

export async function stop (started: Started): Promise<void> {
  const { child } = started
  if (child.exitCode !== null || child.signalCode !== null) return
  stopping.add(child)
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  child.kill('SIGTERM')
  const late = setTimeout(() => { child.kill('SIGKILL') }, 15_000)
  await exited
  clearTimeout(late)
}

/** User + system CPU time of a /proc stat file's process or thread, in microseconds. */
function statMicros (file: string): number {
  const stat = readFileSync(file, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return ticks * 1e6 / TICKS_PER_SECOND
}

/** The process and its descendants (a cluster primary and its workers), from /proc's children lists. */
export function processTree (pid: number): number[] {
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) {
    const parent = tree[i] as number
    let children = ''
    try {
      children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8')
    } catch {}
    for (const child of children.trim().split(' ')) if (child !== '') tree.push(Number(child))
  }
  return tree
}

/**
 * User + system CPU time the process has used so far, in microseconds (all its threads), with its
 * descendants': a gateway with LOCKBOX_WORKERS is its primary and every worker.
 */
export function cpuMicros (pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + statMicros(`/proc/${each}/stat`), 0)
}

/**
 * The same for its main thread alone (the thread whose id is the process's): a Node process serves
 * every request on it, so when it is saturated it sets the req/s, whatever the other threads do.
 * Of a cluster, the sum of every process's main thread.
 */
export function mainThreadCpuMicros (pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + statMicros(`/proc/${each}/task/${each}/stat`), 0)
}

/** Resident set size, bytes. */
export function rssBytes (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  return Number(match?.[1] ?? 0) * 1024
}
