// The embedded stores a SIEM test delivers from: in a data dir of their own, closed and removed
// when the test ends.
import type { Stores } from '../../src/stores/types.js'
import { openEmbeddedStores } from '../../src/stores/embedded/index.js'
import { tempDir } from '../helpers/config.js'
import type { Test } from '../stores/contract-fixtures.js'

export async function embedded (t: Test, now?: () => number): Promise<Stores> {
  const dir = tempDir('lockbox-siem-')
  const stores = await openEmbeddedStores({ dataDir: dir.path, now })
  t.teardown(async () => {
    await stores.close()
    dir.remove()
  })
  return stores
}
