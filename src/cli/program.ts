// The `lockbox` command line: commander wiring of the command groups, and the one place where a
// failure becomes an exit code (0 ok, 1 refused, 2 usage, 3 unreachable). It runs on the streams and
// environment it is given, so tests can run it in-process as well as the way users do (main.ts).
import { Command, CommanderError, Option } from 'commander'
import pkg from '../../package.json' with { type: 'json' }
import { registerApprovals } from './commands/approval.js'
import { registerAudit } from './commands/audit.js'
import { registerDelegations } from './commands/delegate.js'
import { registerAuth, renewIdentity } from './commands/auth.js'
import { registerFetch } from './commands/fetch.js'
import { registerRequests } from './commands/request.js'
import { registerServiceRequests } from './commands/sr.js'
import { registerToken } from './commands/token.js'
import { bindIo, contextOf, DEFAULT_URL, outputOf, type Io } from './context.js'
import { EXIT } from './errors.js'
import { positiveNumber } from './options.js'
import { asCliError } from './output.js'

const EXAMPLES = `
Sign in with your identity provider (a code to enter in the browser; --browser opens it here):
  lockbox login

The workflow, one profile per person (dev issuer):
  lockbox -p customer login --dev contoso-user
  lockbox -p customer sr open --title "Mail to partners bounces"
  lockbox login --dev eng-ada
  lockbox request create --tenant contoso --sr <number> --workload exchange --duration 2h \\
      --scope /mailboxes/alice@contoso.com --reason "Mailbox rule loop"
  lockbox -p manager review approve <id>       # as mgr-carol
  lockbox -p approver decide approve <id>      # as contoso-approver
  lockbox token <id>
  lockbox fetch exchange contoso /mailboxes/alice@contoso.com/messages

Exit codes: 0 ok, 1 refused (by the gateway, or nothing to send), 2 usage, 3 gateway unreachable.
Profiles live in $LOCKBOX_CONFIG_DIR, else $XDG_CONFIG_HOME/lockbox, else ~/.config/lockbox.`

export function buildProgram (io: Io): Command {
  const program = new Command('lockbox')
    .description('Lockbox Gateway from the command line: ask for, approve and use time-limited access to customer content, and read the audit log')
    .version(pkg.version)
    .option('--url <url>', `gateway base URL (default: $LOCKBOX_URL, else the profile's, else ${DEFAULT_URL})`)
    .option('-p, --profile <name>', 'profile: who you are logged in as (default: $LOCKBOX_PROFILE, else "default")')
    .option('--json', 'print one JSON document (NDJSON for export and tail) for scripts')
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the gateway to answer').default(30).argParser(positiveNumber))
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(add --help for usage)')
    // Commander's own failures are usage errors: they come back here as exceptions, not exits.
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
  bindIo(program, io)
  // Every command but login and logout starts with an identity token that is good for a while yet.
  program.hook('preAction', async (_program, action) => {
    if (action.name() !== 'login' && action.name() !== 'logout') await renewIdentity(contextOf(action))
  })
  registerAuth(program)
  registerServiceRequests(program)
  registerRequests(program)
  registerApprovals(program)
  registerDelegations(program)
  registerToken(program)
  registerFetch(program)
  registerAudit(program)
  return program
}

/** Runs one command line (`argv` as in process.argv) and answers its exit code. */
export async function run (argv: string[], io: Io): Promise<number> {
  const program = buildProgram(io)
  try {
    await program.parseAsync(argv)
    return EXIT.ok
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage
    const failure = asCliError(err)
    outputOf(program.opts(), io).error(failure)
    return failure.exitCode
  }
}
