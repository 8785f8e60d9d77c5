import { expect } from 'chai'
import type { Claim, DeliveryStore } from '../../lib/core/delivery.js'
import { memoryStore, type MemoryStoreOptions } from '../../lib/stores/memory.js'
import { failureOf, storeContract } from './store-contract.js'

const fakeClock = () => {
  let t = 1_700_000_000_000
  return { now: () => t, elapse: async (ms: number) => void (t += ms) }
}

const statusOf = async (store: DeliveryStore, key: string): Promise<Claim['status']> =>
  (await store.claim({ key, scope: key }, 1000)).status

const completeNow = async (store: DeliveryStore, key: string, scope = key, version?: number): Promise<void> => {
  const c = await store.claim(version === undefined ? { key, scope } : { key, scope, version }, 1000)
  if (c.status !== 'claimed') return expect.fail(`expected to claim ${key}, got ${c.status}`)
  await store.complete(version === undefined ? { key, scope } : { key, scope, version }, c.token)
}

describe('memoryStore', () => {
  storeContract(
    () => {
      const clock = fakeClock()
      return { create: (ttlMs) => memoryStore({ ttlMs, now: clock.now }), elapse: clock.elapse }
    },
    { shortLeaseMs: 1000, shortTtlMs: 60_000 }
  )

  describe('bounded memory', () => {
    it('forgets the oldest done keys once `max` are remembered', async () => {
      const store = memoryStore({ max: 3 })
      for (const key of ['k1', 'k2', 'k3', 'k4']) await completeNow(store, key)
      expect(await statusOf(store, 'k1')).to.equal('claimed')
      for (const key of ['k2', 'k3', 'k4']) expect(await statusOf(store, key)).to.equal('done')
    })

    it('counts a re-completed key as new, so it is evicted last', async () => {
      const store = memoryStore({ max: 2 })
      await completeNow(store, 'k1')
      await completeNow(store, 'k2')
      await store.complete({ key: 'k1', scope: 'k1' }, 'no-lease')
      await completeNow(store, 'k3')
      expect(await statusOf(store, 'k2')).to.equal('claimed')
      expect(await statusOf(store, 'k1')).to.equal('done')
    })

    it('forgets the oldest high-water marks once `max` scopes are remembered', async () => {
      const store = memoryStore({ max: 2 })
      await completeNow(store, 'a:1', 'a', 1)
      await completeNow(store, 'b:1', 'b', 1)
      await completeNow(store, 'c:1', 'c', 1)
      const a = await store.claim({ key: 'a:2', scope: 'a', version: 2 }, 1000)
      const c = await store.claim({ key: 'c:2', scope: 'c', version: 2 }, 1000)
      expect(a).to.include({ status: 'claimed', highWater: undefined })
      expect(c).to.include({ status: 'claimed', highWater: 1 })
    })

    it('remembers exactly the newest `max` of many deliveries, with their scopes\' marks', async () => {
      const store = memoryStore({ max: 3000 })
      const item = (i: number) => ({ key: `musement:item-${i}:${i % 7}`, scope: `musement:item-${i}`, version: i % 7 })
      for (let i = 0; i < 5000; i++) await completeNow(store, item(i).key, item(i).scope, item(i).version)
      for (let i = 0; i < 5000; i++) {
        const c = await store.claim(item(i), 1000)
        expect(c.status, `delivery ${i}`).to.equal(i < 2000 ? 'claimed' : 'done')
        if (c.status !== 'claimed') continue
        await store.release(item(i), c.token)
        const next = await store.claim({ ...item(i), key: `musement:item-${i}:next`, version: 7 }, 1000)
        expect(next).to.include({ status: 'claimed', highWater: undefined })
      }
      const marked = await store.claim({ key: 'musement:item-4999:next', scope: 'musement:item-4999', version: 7 }, 1000)
      expect(marked).to.include({ status: 'claimed', highWater: 4999 % 7 })
    })

    it('never evicts a live lease to make room', async () => {
      const store = memoryStore({ max: 1 })
      for (const key of ['k1', 'k2', 'k3']) expect(await statusOf(store, key)).to.equal('claimed')
      for (const key of ['k1', 'k2', 'k3']) expect(await statusOf(store, key)).to.equal('busy')
    })
  })

  describe('keys', () => {
    it('tells apart keys that differ only in lone surrogates (which UTF-8 would turn into the same U+FFFD)', async () => {
      const store = memoryStore()
      await completeNow(store, 'k\ud800')
      expect(await statusOf(store, 'k\ud800')).to.equal('done')
      for (const other of ['k\udc00', 'k\ufffd', 'k']) expect(await statusOf(store, other)).to.equal('claimed')
    })
  })

  describe('lease tokens', () => {
    it('never gives two leases the same token, even in different stores', async () => {
      const stores = [memoryStore(), memoryStore()]
      const tokens = new Set<string>()
      for (let i = 0; i < 1000; i++) {
        const store = stores[i % 2] ?? expect.fail('two stores')
        const d = { key: `k${i}`, scope: 's' }
        const c = await store.claim(d, 1000)
        if (c.status !== 'claimed') return expect.fail(`expected to claim ${d.key}, got ${c.status}`)
        tokens.add(c.token)
        await store.release(d, c.token)
      }
      expect(tokens.size).to.equal(1000)
    })

    it('ignores a token from another store\'s lease of the same scope', async () => {
      const [a, b] = [memoryStore(), memoryStore()]
      const fromA = await a.claim({ key: 'k1', scope: 's' }, 1000)
      const fromB = await b.claim({ key: 'k1', scope: 's' }, 1000)
      if (fromA.status !== 'claimed' || fromB.status !== 'claimed') return expect.fail('expected both to claim')
      await b.release({ key: 'k1', scope: 's' }, fromA.token)
      await b.complete({ key: 'k0', scope: 's' }, fromA.token)
      expect((await b.claim({ key: 'k2', scope: 's' }, 1000)).status).to.equal('busy')
    })
  })

  describe('options', () => {
    const fails = (options: unknown, message: RegExp) => () => {
      // @ts-expect-error -- plain-JS callers can pass anything; the factory must say what is wrong
      expect(() => memoryStore(options)).to.throw(TypeError, message)
    }

    it('accepts no options and frozen options', () => {
      const options: MemoryStoreOptions = Object.freeze({ max: 10, ttlMs: 1000, now: () => 0 })
      expect(memoryStore()).to.have.all.keys('claim', 'complete', 'release')
      expect(memoryStore(options)).to.have.all.keys('claim', 'complete', 'release')
    })

    it('refuses a `max` that is not a positive whole number', () => {
      for (const max of [0, -1, 1.5, Number.NaN, '10', null]) fails({ max }, /^memoryStore: `max` must be a positive whole number/)()
    })

    it('refuses a `ttlMs` that is not a positive whole number', () => {
      for (const ttlMs of [0, -5, Number.POSITIVE_INFINITY, '72h']) fails({ ttlMs }, /^memoryStore: `ttlMs` must be/)()
    })

    it('refuses a `now` that is not a function', fails({ now: 5 }, /^memoryStore: `now` must be a function/))

    it('refuses unknown options and suggests the right name', fails({ ttl: 1000 }, /unknown option `ttl`\. Did you mean `ttlMs`\?/))

    it('refuses a non-object', fails('1mb', /^memoryStore: expected an options object/))

    it('fails the call with the injected clock\'s error when the clock throws', async () => {
      const store = memoryStore({
        now: () => {
          throw new Error('clock broke')
        }
      })
      const error: unknown = await failureOf(() => store.complete({ key: 'k', scope: 'k' }, 't'))
      expect(error).to.be.instanceOf(Error).with.property('message', 'clock broke')
    })
  })
})
