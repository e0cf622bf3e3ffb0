// The `lockbox` executable: runs the command line on this process's streams and sets the exit code.
import { EXIT } from './errors.js'
import { run } from './program.js'

// A reader that went away (`lockbox audit export | head`) is not a failure of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  /* c8 ignore next -- stdout failing other than by a closed pipe (a full disk behind a redirect) cannot be arranged in a test */
  if (err.code !== 'EPIPE') throw err
  process.exit(EXIT.ok)
})

process.exitCode = await run(process.argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env })
