// A real SMTP server in-process (smtp-server), keeping every message it accepts, parsed (mailparser).
import { SMTPServer } from 'smtp-server'
import { simpleParser, type ParsedMail } from 'mailparser'

export interface TestSmtp {
  url: string
  port: number
  messages: ParsedMail[]
  /** While true, every message is refused with a temporary error (a mail server in trouble). */
  failing: boolean
  waitFor: (count: number, timeoutMs?: number) => Promise<ParsedMail[]>
  close: () => Promise<void>
}

export async function startSmtp (port = 0): Promise<TestSmtp> {
  const messages: ParsedMail[] = []
  const state = { failing: false }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData (stream, _session, callback) {
      if (state.failing) {
        stream.resume()
        stream.on('end', () => { callback(Object.assign(new Error('try again later'), { responseCode: 451 })) })
        return
      }
      simpleParser(stream).then((mail) => { messages.push(mail); callback() }, callback)
    }
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const actual = (server.server.address() as { port: number }).port
  const smtp: TestSmtp = {
    url: `smtp://127.0.0.1:${actual}`,
    port: actual,
    messages,
    get failing () { return state.failing },
    set failing (value) { state.failing = value },
    async waitFor (count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${messages.length} of ${count} messages arrived`)
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      return messages.slice(0, count)
    },
    close: async () => { await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
  return smtp
}
