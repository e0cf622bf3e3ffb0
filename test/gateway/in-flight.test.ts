import t from 'tap'
import { InFlight, type Flight } from '../../src/gateway/in-flight.js'
import { eventually } from '../helpers/content.js'

function flight (windowEndsAt: number, cuts: string[]): Flight {
  return { windowEndsAt, cut: (reason) => { cuts.push(reason) } }
}

t.test('cuts every flight of a grant, and only those', async (t) => {
  const registry = new InFlight(() => 0)
  const cuts: string[] = []
  const other: string[] = []
  registry.add('r1', flight(1000, cuts))
  registry.add('r1', flight(1000, cuts))
  const untrack = registry.add('r2', flight(1000, other))
  t.equal(registry.size, 3)
  t.equal(registry.cut('r1', 'Revoked'), 2)
  t.same(cuts, ['Revoked', 'Revoked'])
  t.same(other, [])
  t.equal(registry.size, 1)
  t.equal(registry.cut('r1', 'Revoked'), 0, 'nothing left to cut')
  t.equal(registry.cut('unknown', 'Revoked'), 0)
  untrack()
  t.equal(registry.size, 0)
})

t.test('forgets a flight that ends by itself', async (t) => {
  const registry = new InFlight(() => 0)
  const cuts: string[] = []
  const first = registry.add('r1', flight(1000, cuts))
  registry.add('r1', flight(1000, cuts))
  first()
  first()
  t.equal(registry.size, 1)
  t.equal(registry.cut('r1', 'Canceled'), 1)
  first()
  t.equal(registry.size, 0)
  t.same(cuts, ['Canceled'])
})

t.test('cuts flights whose window has ended, on its own clock', async (t) => {
  let now = 0
  const registry = new InFlight(() => now, 5)
  const early: string[] = []
  const late: string[] = []
  registry.add('r1', flight(1000, early))
  registry.add('r2', flight(5000, late))
  now = 1000
  await eventually('the early window is cut', async () => early, (cuts) => cuts.length > 0)
  t.same(early, ['AccessWindowEnded'])
  t.same(late, [])
  t.equal(registry.size, 1)
  now = 5000
  await eventually('the late window is cut', async () => late, (cuts) => cuts.length > 0)
  t.equal(registry.size, 0)
  t.same(early, ['AccessWindowEnded'], 'each flight is cut once')
})

t.test('cuts everything at shutdown', async (t) => {
  const registry = new InFlight(() => 0)
  const cuts: string[] = []
  registry.add('r1', flight(1000, cuts))
  registry.add('r2', flight(1000, cuts))
  registry.cutAll('Shutdown')
  t.same(cuts, ['Shutdown', 'Shutdown'])
  t.equal(registry.size, 0)
  registry.cutAll('Shutdown')
})
