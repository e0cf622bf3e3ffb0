// Where the CLI writes: the answer on stdout (exactly one JSON document with --json), notes and
// errors on stderr, colours only on a terminal that wants them.
import type { Writable } from 'node:stream'
import { styleText } from 'node:util'
import { CliError, EXIT } from './errors.js'

export type Style = Parameters<typeof styleText>[0]

export interface Terminal { isTTY?: boolean }
export type OutStream = Writable & Terminal

/** NO_COLOR wins, FORCE_COLOR forces, otherwise colours on a terminal that is not `dumb`. */
export function wantsColour (stream: Terminal, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0'
  return stream.isTTY === true && env.TERM !== 'dumb'
}

export interface OutputOptions {
  json: boolean
  stdout: OutStream
  stderr: OutStream
  env: NodeJS.ProcessEnv
}

const STATUS_STYLES: Record<string, Style> = {
  Approved: 'green',
  AwaitingManagerApproval: 'yellow',
  AwaitingCustomerApproval: 'yellow',
  Open: 'green',
  Success: 'green',
  RejectedByManager: 'red',
  Denied: 'red',
  Revoked: 'red',
  Failure: 'red'
}

export class Output {
  readonly json: boolean
  readonly stdout: OutStream
  readonly stderr: OutStream
  private readonly colourOut: boolean
  private readonly colourErr: boolean

  constructor (options: OutputOptions) {
    this.json = options.json
    this.stdout = options.stdout
    this.stderr = options.stderr
    this.colourOut = wantsColour(options.stdout, options.env)
    this.colourErr = wantsColour(options.stderr, options.env)
  }

  /** Text styled for stdout (plain when stdout gets no colours). */
  paint (style: Style, text: string): string {
    return this.colourOut ? styleText(style, text, { validateStream: false }) : text
  }

  /** A status or result, coloured by what it means. */
  status (value: string): string {
    return this.paint(STATUS_STYLES[value] ?? 'dim', value)
  }

  line (text = ''): void {
    this.stdout.write(text + '\n')
  }

  lines (texts: string[]): void {
    for (const text of texts) this.line(text)
  }

  /** A remark for the person at the terminal (the next step): on stderr, and not with --json. */
  note (text: string): void {
    if (!this.json) this.notice(text)
  }

  /** What a running command is doing (following a live stream): on stderr, even with --json. */
  notice (text: string): void {
    this.stderr.write((this.colourErr ? styleText('dim', text, { validateStream: false }) : text) + '\n')
  }

  /** The command's answer: the JSON document with --json, else what `human` prints. */
  result (data: unknown, human: () => void): void {
    if (this.json) this.line(JSON.stringify(data))
    else human()
  }

  /** A failure on stderr: `error: …` and what to do next, or one JSON document with --json. */
  error (err: CliError): void {
    if (this.json) {
      const problem = 'problem' in err ? err.problem : undefined
      this.stderr.write(JSON.stringify({ error: err.message, exitCode: err.exitCode, hint: err.hint, problem }) + '\n')
      return
    }
    const label = this.colourErr ? styleText(['red', 'bold'], 'error:', { validateStream: false }) : 'error:'
    this.stderr.write(`${label} ${err.message}\n`)
    if (err.hint !== null) this.stderr.write(`hint: ${err.hint}\n`)
  }
}

/** An unexpected failure (a bug, a disk error) reported like any other, as exit 1. */
export function asCliError (err: unknown): CliError {
  if (err instanceof CliError) return err
  return new CliError(err instanceof Error ? err.message : String(err), EXIT.refused)
}
