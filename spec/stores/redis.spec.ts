import { expect } from 'chai'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis, type Cluster } from 'ioredis'
import { redisStore, type RedisScriptClient } from '../../lib/stores/redis.js'
import { startRedis, type TestRedis } from '../helpers/redis-server.js'
import { storeContract } from './store-contract.js'

// The settings the store's TSDoc asks apps to use: fail at once while disconnected instead of queueing.
const connect = async (url: string): Promise<Redis> => {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false })
  await once(client, 'ready')
  return client
}

// What Redis Cluster hashes (cluster spec, "Hash tags"): the text between the first '{' and the next '}', if non-empty.
// CLUSTER KEYSLOT would need a cluster-mode server, so the rule is applied here instead.
const hashTag = (key: string): string => {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => expect.fail('expected a rejection'), (e: unknown) => e)

describe('redisStore', () => {
  let server: TestRedis
  let client: Redis
  let prefixes = 0
  const nextPrefix = () => `epw-test-${process.pid}-${++prefixes}:`

  before(async () => {
    server = await startRedis()
    client = await connect(server.url)
  })

  after(async () => {
    await client?.quit()
    await server?.stop()
  })

  // Each store gets its own prefix, so tests share the server but never a key.
  storeContract(
    () => ({ create: (ttlMs) => redisStore({ client, prefix: nextPrefix(), ttlMs }), elapse: (ms) => sleep(ms) }),
    { shortLeaseMs: 60, shortTtlMs: 200 }
  )

  describe('keys', () => {
    it('carries the prefix and an expiry on every key, and puts one scope in one cluster slot', async () => {
      const prefix = nextPrefix()
      const store = redisStore({ client, prefix, ttlMs: 60_000 })
      const delivery = { key: 'uuid-1:3', scope: 'uuid-1', version: 3 }
      const c = await store.claim(delivery, 5000)
      if (c.status !== 'claimed') return expect.fail(`expected claimed, got ${c.status}`)
      await store.claim({ key: 'uuid-2:1', scope: 'uuid-2', version: 1 }, 5000)
      const leased = await client.keys(`${prefix}*`)
      await store.complete(delivery, c.token)
      const keys = await client.keys(`${prefix}*`)

      expect(leased.sort()).to.deep.equal([`${prefix}{uuid-1}:lease`, `${prefix}{uuid-2}:lease`])
      expect(keys.sort()).to.deep.equal([`${prefix}{uuid-1}:done:uuid-1:3`, `${prefix}{uuid-1}:hw`, `${prefix}{uuid-2}:lease`])
      for (const key of keys) {
        const ttl = await client.pttl(key)
        expect(ttl, key).to.be.greaterThan(0).and.at.most(key.endsWith(':lease') ? 5000 : 60_000)
      }
      expect(keys.filter((k) => k.includes('uuid-1')).map(hashTag)).to.deep.equal(['uuid-1', 'uuid-1'])
    })

    it('uses the default prefix epw:', async () => {
      const c = await redisStore({ client }).claim({ key: 'default-prefix', scope: 'default-prefix' }, 5000)
      expect(c.status).to.equal('claimed')
      expect(await client.keys('epw:*')).to.deep.equal(['epw:{default-prefix}:lease'])
      await client.del('epw:{default-prefix}:lease')
    })

    it('reloads its scripts after SCRIPT FLUSH (a restarted Redis)', async () => {
      const store = redisStore({ client, prefix: nextPrefix() })
      expect((await store.claim({ key: 'k', scope: 'k' }, 5000)).status).to.equal('claimed')
      await client.script('FLUSH')
      expect((await store.claim({ key: 'k', scope: 'k' }, 5000)).status).to.equal('busy')
    })
  })

  describe('an unreachable store', () => {
    let spare: TestRedis
    let spareClient: Redis

    beforeEach(async () => {
      spare = await startRedis()
      spareClient = await connect(spare.url)
      // ioredis reports each failed reconnect as an 'error' event; here that is the expected state, not a crash.
      spareClient.on('error', () => undefined)
    })

    afterEach(async () => {
      spare.resume()
      spareClient.disconnect()
      await spare.stop()
    })

    it('rejects within timeoutMs when Redis hangs (connected, never answering)', async () => {
      const store = redisStore({ client: spareClient, prefix: nextPrefix(), timeoutMs: 150 })
      spare.pause()
      const started = Date.now()
      const error = await rejection(store.claim({ key: 'k', scope: 'k' }, 5000))
      expect(error).to.be.instanceOf(Error).with.property('message').that.matches(/no answer from Redis within 150 ms/)
      expect(Date.now() - started).to.be.within(140, 600)
    })

    it('gives back the lease of a claim that timed out but ran once Redis answered late', async () => {
      const store = redisStore({ client: spareClient, prefix: nextPrefix(), timeoutMs: 100 })
      spare.pause()
      const late = rejection(store.claim({ key: 'k', scope: 'k' }, 60_000))
      await new Promise((r) => setTimeout(r, 150))
      spare.resume()
      expect(await late).to.be.instanceOf(Error)
      await new Promise((r) => setTimeout(r, 100))
      // Without the give-back, the timed-out claim's 60 s lease would answer every retry 'busy'.
      expect((await store.claim({ key: 'k', scope: 'k' }, 1000)).status).to.equal('claimed')
    })

    it('rejects every operation at once when the server is gone', async () => {
      const store = redisStore({ client: spareClient, prefix: nextPrefix(), timeoutMs: 500 })
      const c = await store.claim({ key: 'k', scope: 'k' }, 5000)
      if (c.status !== 'claimed') return expect.fail(`expected claimed, got ${c.status}`)
      await spare.stop()
      const started = Date.now()
      for (const op of [store.claim({ key: 'k2', scope: 'k2' }, 5000), store.complete({ key: 'k', scope: 'k' }, c.token), store.release({ key: 'k', scope: 'k' }, c.token)]) {
        expect(await rejection(op)).to.be.instanceOf(Error)
      }
      expect(Date.now() - started).to.be.below(500 + 100)
    })
  })

  describe('options', () => {
    const fails = (options: unknown, message: RegExp) => {
      // @ts-expect-error -- plain-JS callers can pass anything; the factory must say what is wrong
      expect(() => redisStore(options)).to.throw(TypeError, message)
    }

    it('refuses a missing or wrong client', () => {
      fails({}, /^redisStore: `client` must be an ioredis client/)
      fails({ client: { eval: () => undefined } }, /`client` must be an ioredis client/)
      fails(undefined, /^redisStore: expected an options object/)
    })

    it('refuses a prefix with hash-tag braces, bad numbers and unknown options', () => {
      fails({ client, prefix: 'app{1}:' }, /`prefix` must be a string without `\{` or `\}`/)
      fails({ client, timeoutMs: 0 }, /`timeoutMs` must be a positive whole number/)
      fails({ client, ttlMs: -1 }, /`ttlMs` must be a positive whole number/)
      fails({ client, timeout: 100 }, /unknown option `timeout`\. Did you mean `timeoutMs`\?/)
    })

    it('accepts an ioredis Redis or Cluster as the client without a cast (checked by tsc)', () => {
      const fromCluster = (c: Cluster): RedisScriptClient => c
      const fromRedis = (c: Redis): RedisScriptClient => c
      expect(fromRedis(client)).to.equal(client)
      expect(fromCluster).to.be.a('function')
    })
  })
})
