import t from 'tap'
import { createServer } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../src/tools/audit-verify.js'
import { signCheckpoint, verifyCheckpoint } from '../../src/gateway/checkpoint.js'
import { openSigningKeys } from '../../src/gateway/signing-keys.js'
import { tempDir } from '../helpers/config.js'
import { chain } from '../helpers/audit-records.js'
import { CompactSign } from 'jose'

async function run (argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => { out += s + '\n' }, err: (s) => { err += s + '\n' } })
  return { code, out, err }
}

t.test('verifies an export, with and without a checkpoint', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const keys = await openSigningKeys(join(dir.path, 'keys.json'))
  const jwksFile = join(dir.path, 'jwks.json')
  writeFileSync(jwksFile, JSON.stringify(keys.jwks))
  const records = chain('contoso', 6)
  const exportFile = join(dir.path, 'export.ndjson')
  writeFileSync(exportFile, records.map((r) => JSON.stringify(r)).join('\n') + '\n')
  const checkpoint = await signCheckpoint(keys, 'contoso', records[4]!, Date.parse('2026-11-24T10:00:00Z'))
  t.same(await verifyCheckpoint(checkpoint, keys.publicKey(keys.kid)!), { tenantId: 'contoso', seq: 5, hash: records[4]!.hash, time: '2026-11-24T10:00:00.000Z' })

  let res = await run([exportFile])
  t.equal(res.code, 0)
  t.match(res.out, /ok {3}contoso: 6 records, seq 1\.\.6 \(from genesis\)/)
  t.match(res.out, /export intact/)

  const checkpointFile = join(dir.path, 'checkpoint.jws')
  writeFileSync(checkpointFile, checkpoint + '\n')
  res = await run([exportFile, '--checkpoint', checkpointFile, '--jwks', jwksFile])
  t.equal(res.code, 0)
  t.match(res.out, /checkpoint contoso@5 reached/)

  const truncated = join(dir.path, 'truncated.ndjson')
  writeFileSync(truncated, records.slice(0, 4).map((r) => JSON.stringify(r)).join('\n'))
  res = await run([truncated])
  t.equal(res.code, 0, 'a truncated export alone still chains…')
  res = await run([truncated, '--checkpoint', checkpoint, '--jwks', jwksFile, '--json'])
  t.equal(res.code, 1, '…but the checkpoint shows its tail was cut')
  const report = JSON.parse(res.out)
  const human = await run([truncated, '--checkpoint', checkpoint, '--jwks', jwksFile])
  t.match(human.out, /FAIL checkpoint contoso@5 not reached/)
  const anchored = join(dir.path, 'anchored.ndjson')
  writeFileSync(anchored, records.slice(2).map((r) => JSON.stringify(r)).join('\n'))
  t.match((await run([anchored])).out, /seq 3\.\.6 \(from a later anchor\)/)
  t.equal(report.valid, false)
  t.same(report.checkpoint, { tenantId: 'contoso', seq: 5, reached: false })

  const server = createServer((_req, reply) => { reply.setHeader('content-type', 'application/json'); reply.end(JSON.stringify(keys.jwks)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const { port } = server.address() as { port: number }
  res = await run([exportFile, '--checkpoint', checkpoint, '--jwks', `http://127.0.0.1:${port}/.well-known/jwks.json`])
  t.equal(res.code, 0, 'the JWKS may come from the gateway itself')

  const tampered = join(dir.path, 'tampered.ndjson')
  writeFileSync(tampered, records.map((r) => JSON.stringify(r.seq === 2 ? { ...r, object: '/mailboxes/bob@contoso.com' } : r)).join('\n'))
  res = await run([tampered])
  t.equal(res.code, 1)
  t.match(res.out, /FAIL contoso/)
  t.match(res.out, /chain broken at seq 2/)
})

t.test('refuses a checkpoint that is not ours', async (t) => {
  const dir = tempDir()
  t.teardown(dir.remove)
  const keys = await openSigningKeys(join(dir.path, 'keys.json'))
  const other = await openSigningKeys(join(dir.path, 'other.json'))
  const jwksFile = join(dir.path, 'jwks.json')
  writeFileSync(jwksFile, JSON.stringify(keys.jwks))
  const exportFile = join(dir.path, 'export.ndjson')
  writeFileSync(exportFile, chain('contoso', 2).map((r) => JSON.stringify(r)).join('\n'))
  const forged = await signCheckpoint(other, 'contoso', { seq: 2, hash: 'x' }, Date.now())
  let res = await run([exportFile, '--checkpoint', forged, '--jwks', jwksFile])
  t.equal(res.code, 1)
  t.match(res.err, /checkpoint refused/)

  const untyped = await new CompactSign(new TextEncoder().encode('{}')).setProtectedHeader({ alg: 'EdDSA', kid: keys.kid }).sign(keys.privateKey)
  res = await run([exportFile, '--checkpoint', untyped, '--jwks', jwksFile])
  t.match(res.err, /not a lockbox checkpoint/)
  const empty = await new CompactSign(new TextEncoder().encode('{"tenantId":"contoso"}')).setProtectedHeader({ alg: 'EdDSA', kid: keys.kid, typ: 'lockbox-checkpoint+jws' }).sign(keys.privateKey)
  res = await run([exportFile, '--checkpoint', empty, '--jwks', jwksFile])
  t.match(res.err, /malformed/)
})

t.test('explains its usage', async (t) => {
  for (const argv of [[], ['a', 'b'], ['--bogus', 'x'], ['x.ndjson', '--checkpoint', 'abc']]) {
    const res = await run(argv)
    t.equal(res.code, 2, argv.join(' '))
  }
  const res = await run(['no-such-file.ndjson'])
  t.equal(res.code, 2)
  t.match(res.err, /cannot read/)
})
