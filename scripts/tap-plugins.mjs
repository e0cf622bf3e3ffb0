// tap runs test files with the plugin set it was last built with. After `npm ci` that is tap's
// default set (TypeScript through ts-node), not the one .taprc names (tsx instead: a third less CPU
// per test process). tap notices the difference only once its runner has started, too late for
// that run, so `npm test` rebuilds tap first whenever the two differ.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(`${root}package.json`)
const { TapConfig } = await import(require.resolve('@tapjs/config'))
const { signature } = await import(require.resolve('@tapjs/test'))
const config = await TapConfig.load()
if (signature !== config.pluginSignature) {
  process.stderr.write('npm test: building tap with the plugins .taprc names\n')
  execFileSync(`${root}node_modules/.bin/tap`, ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
}
