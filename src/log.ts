// The one logger type below the plugins: pino's (app.log, request.log) as these modules call it,
// fields first and then the message. Anything that logs takes a Log; a test hands in a recorder.
export type LogMethod = (fields: object, message: string) => void

export interface Log {
  debug: LogMethod
  info: LogMethod
  warn: LogMethod
  error: LogMethod
}

const ignore: LogMethod = () => {}

/** Logs nothing: for callers that did not ask to hear. */
export const quietLog: Log = { debug: ignore, info: ignore, warn: ignore, error: ignore }
