import t from 'tap'
import { once } from 'node:events'
import { connectRedis, optionsFromUrl } from '../../src/stores/redis/connect.js'
import { freshNamespace, redisForTests } from '../helpers/redis.js'

t.test('reads address, credentials, database and TLS from a Redis URL', async (t) => {
  t.same(optionsFromUrl('redis://127.0.0.1'), { host: '127.0.0.1', port: 6379 })
  t.same(optionsFromUrl('rediss://gateway:p%40ss%3Aword@cache.internal:6380/2'), {
    host: 'cache.internal', port: 6380, username: 'gateway', password: 'p@ss:word', db: 2, tls: {}
  })
  t.same(optionsFromUrl('redis://:only-a-password@[::1]:7000/'), { host: '::1', port: 7000, password: 'only-a-password' })
})

t.test('sends commit scripts at once, while other commands wait to be pipelined together', async (t) => {
  const url = await redisForTests(t)
  const client = connectRedis({ url }, 'commands')
  t.teardown(() => { client.disconnect() })
  await once(client, 'ready')
  const script = client.eval('return 1', 0)
  t.equal(client.autoPipelineQueueSize, 0, 'a commit is on its way in the turn it was sent')
  const read = client.exists(`${freshNamespace()}:nothing`)
  t.equal(client.autoPipelineQueueSize, 1, 'a read waits for the next check phase')
  t.same(await Promise.all([script, read]), [1, 0])
})
