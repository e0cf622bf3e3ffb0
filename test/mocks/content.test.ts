import t from 'tap'
import { LARGE_FILE_SIZE } from '../../src/mocks/bytes.js'
import { SAMPLE_CONTENT, type SampleFile } from '../../src/mocks/content.js'

const tenants = Object.entries(SAMPLE_CONTENT)

t.test('holds contoso and fabrikam only', async (t) => {
  t.same(Object.keys(SAMPLE_CONTENT).sort(), ['contoso', 'fabrikam'])
})

t.test('gives each tenant two or more users with several messages, some with attachments', async (t) => {
  for (const [tenantId, { mailboxes }] of tenants) {
    t.ok(mailboxes.length >= 2, tenantId)
    for (const { upn, messages } of mailboxes) {
      t.ok(upn.endsWith(`@${tenantId}.com`), upn)
      t.ok(messages.length >= 2, `${upn} has several messages`)
      t.ok(messages.some(({ attachments }) => attachments.length > 0), `${upn} has attachments`)
      t.equal(new Set(messages.map(({ id }) => id)).size, messages.length, `${upn} message ids are unique`)
      for (const { receivedAt, attachments } of messages) {
        t.equal(new Date(receivedAt).toISOString(), receivedAt)
        t.equal(new Set(attachments.map(({ id }) => id)).size, attachments.length)
      }
    }
  }
})

t.test('gives each tenant sites with files and drives with items', async (t) => {
  for (const [tenantId, { sites, drives }] of tenants) {
    t.ok(sites.length > 0 && sites.every(({ files }) => files.length > 0), tenantId)
    t.ok(drives.length > 0 && drives.every(({ items }) => items.length > 0), tenantId)
    t.ok(sites.some(({ files }) => files.some(({ path }) => path.includes('/'))), `${tenantId} has sub-folders`)
  }
})

t.test('holds exactly one large streamed file in SharePoint and one in OneDrive', async (t) => {
  const large = (files: SampleFile[]) => files.filter(({ body }) => body.kind === 'pattern')
  const sharepoint = tenants.flatMap(([, { sites }]) => sites.flatMap(({ files }) => large(files)))
  const onedrive = tenants.flatMap(([, { drives }]) => drives.flatMap(({ items }) => large(items)))
  t.equal(sharepoint.length, 1)
  t.equal(onedrive.length, 1)
  for (const file of [...sharepoint, ...onedrive]) t.same(file.body, { kind: 'pattern', size: LARGE_FILE_SIZE })
})
