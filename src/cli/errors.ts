// The CLI's failures and the exit code each one means: 1 refused, 2 usage, 3 unreachable.
// Every failure carries a hint that says what to do next.

export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const

/** A gateway answer in problem+json (API.md §7), or what we could make of a non-problem error body. */
export interface Problem {
  status: number
  code: string
  detail: string
  [key: string]: unknown
}

export class CliError extends Error {
  override readonly name: string = 'CliError'
  constructor (message: string, readonly exitCode: number, readonly hint: string | null = null) {
    super(message)
  }
}

/** The gateway (or a content service behind it) answered with an error status. */
export class ProblemError extends CliError {
  override readonly name = 'ProblemError'
  constructor (readonly problem: Problem, hint: string | null) {
    super(`${problem.detail} (${problem.code})`, EXIT.refused, hint)
  }
}

/** No answer at all: connection refused, unknown host, timeout. */
export class UnreachableError extends CliError {
  override readonly name = 'UnreachableError'
  constructor (message: string, url: string) {
    super(message, EXIT.unreachable, `is the gateway running at ${url}? Start it with \`npm start\`, or point the CLI at it with --url or LOCKBOX_URL`)
  }
}

export class UsageError extends CliError {
  override readonly name = 'UsageError'
  constructor (message: string, hint: string | null = null) {
    super(message, EXIT.usage, hint)
  }
}

/** Refused before any call: nothing to send (no login, no stored access token). */
export class LocalRefusal extends CliError {
  override readonly name = 'LocalRefusal'
  constructor (message: string, hint: string) {
    super(message, EXIT.refused, hint)
  }
}

/** Where a call went: the hint for the same code differs between the API and the content routes. */
export type Plane = 'api' | 'content' | 'dev'

const API_HINTS: Record<string, string> = {
  UNAUTHENTICATED: 'your identity token is missing or has expired: run `lockbox login` (e.g. `lockbox login --dev eng-ada`)',
  FORBIDDEN: 'your roles or tenant do not allow this: check who you are with `lockbox whoami`, or use another --profile',
  SEPARATION_OF_DUTIES: 'another person must do this step: log in as a different support manager (`lockbox --profile <name> login`)',
  NOT_FOUND: 'check the id: `lockbox request list` or `lockbox sr list` show what you can see',
  INVALID_STATE: 'the request is not in a state that allows this: see its status and history with `lockbox request show <id>`',
  SERVICE_REQUEST_INVALID: 'the service request must exist, be Open and belong to the tenant: see `lockbox sr list --tenant <tenant>` or open one with `lockbox sr open`',
  VALIDATION_FAILED: 'check the values you passed: `lockbox <command> --help` lists them',
  // The CLI has no platform authenticator to sign with (issue 19): the admin center's browser does.
  SIGNED_APPROVAL_REQUIRED: 'this tenant requires passkey-signed approvals (of extensions too), and the CLI has no platform authenticator to sign with: approve in the admin center (<gateway>/admin/, the request\'s page, "Approve with passkey" or "Approve extension with passkey")',
  APPROVAL_SIGNATURE_INVALID: 'the passkey signature did not verify: approve in the admin center with a passkey registered to you (Settings, "Approver passkeys")',
  APPROVAL_NOT_PROVEN: 'the tenant requires signed approvals, and this approval (or an extension of its window) carries no valid approver signature, or the window runs past what they signed: ask the tenant\'s approvers to approve with their passkeys in the admin center'
}

const CONTENT_HINTS: Record<string, string> = {
  TOKEN_INVALID: 'the access token is missing, expired or not for this gateway: get a fresh one with `lockbox token <request-id>`',
  OUT_OF_SCOPE: 'the access token does not cover this tenant, workload, path or method: see the approved scope with `lockbox request show <request-id>`',
  GRANT_INACTIVE: 'the request is no longer Approved (revoked, canceled or ended): see `lockbox request show <request-id>`, or ask for access again with `lockbox request create`',
  PATH_REJECTED: 'the path must be canonical: no `.` or `..` segments, no `//`, no encoded `/`, `\\` or `.`',
  NOT_FOUND: 'the content service has no such item: list what is there first (e.g. `/mailboxes` or `/sites`)',
  HTTP_404: 'the content service has no such item: list what is there first (e.g. `/mailboxes` or `/sites`)'
}

const DEV_HINTS: Record<string, string> = {
  NOT_FOUND: 'dev users are listed in config/dev-users.json (e.g. eng-ada, mgr-carol, contoso-approver, sec-erin); a gateway with an OIDC issuer has no dev issuer: sign in with `lockbox login`'
}

/** What to do next after a refusal: by plane and code first, then by status. */
export function hintFor (problem: Problem, plane: Plane): string | null {
  const table = plane === 'content' ? CONTENT_HINTS : plane === 'dev' ? DEV_HINTS : API_HINTS
  const hint = table[problem.code]
  if (hint !== undefined) return hint
  if (problem.status >= 500) return 'the gateway or a content service is unavailable: try again shortly, and tell its operators if it persists'
  return null
}
