import t from 'tap'
import { optionsFromUrl } from '../../src/stores/redis/connect.js'

t.test('reads address, credentials, database and TLS from a Redis URL', async (t) => {
  t.same(optionsFromUrl('redis://127.0.0.1'), { host: '127.0.0.1', port: 6379 })
  t.same(optionsFromUrl('rediss://gateway:p%40ss%3Aword@cache.internal:6380/2'), {
    host: 'cache.internal', port: 6380, username: 'gateway', password: 'p@ss:word', db: 2, tls: {}
  })
  t.same(optionsFromUrl('redis://:only-a-password@[::1]:7000/'), { host: '::1', port: 7000, password: 'only-a-password' })
})
