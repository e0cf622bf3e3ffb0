#!/usr/bin/env node
// The `lockbox` command: runs the compiled CLI, or says how to build it.
import { existsSync } from 'node:fs'

const main = new URL('../dist/src/cli/main.js', import.meta.url)
/* c8 ignore start -- which branch runs depends on whether this checkout was built (tests run src/cli directly) */
if (!existsSync(main)) {
  process.stderr.write('lockbox: the CLI is not built yet: run `npm run build` in the lockbox-gateway checkout\n')
  process.exit(3)
}
await import(main.href)
/* c8 ignore stop */
