import t from 'tap'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createFileOnce } from '../../src/files/create-once.js'
import { tempDir } from '../helpers/config.js'

t.test('creates a secret file once; a second writer keeps the first one\'s content', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const file = join(dir.path, 'nested', 'key.json')
  t.equal(await createFileOnce(file, 'first'), true)
  t.equal(await createFileOnce(file, 'second'), false)
  t.equal(readFileSync(file, 'utf8'), 'first')
  t.equal(statSync(file).mode & 0o777, 0o600)
})
