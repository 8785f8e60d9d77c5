import { expect } from 'chai'
import type { Claim, DeliveryKey, DeliveryStore } from '../../lib/core/delivery.js'

/** What a store call failed with, thrown or as a rejection (a store may answer at once); undefined if it did not. */
export const failureOf = async (call: () => unknown): Promise<unknown> => {
  try {
    await call()
    return undefined
  } catch (error) {
    return error
  }
}

/** What the contract needs from one store implementation. */
export interface StoreSubject {
  /** A fresh store, sharing nothing with earlier ones, that remembers done keys and high-water marks for `ttlMs`. */
  readonly create: (ttlMs: number) => DeliveryStore<unknown>
  /** Lets `ms` pass for the stores `create` made: a fake clock just advances, a real one is waited out. */
  readonly elapse: (ms: number) => Promise<void>
}

/** Time scale of the contract. Redis runs it on its real clock, so these stay short but well above timer jitter. */
export interface ContractTiming {
  /** A lease that expires within the test. */
  readonly shortLeaseMs: number
  /** A retention window that runs out within the test. */
  readonly shortTtlMs: number
}

/** What kind of store runs the contract. */
export interface ContractOptions {
  /**
   * The store's claim is a database transaction that holds the handler's writes (Postgres). Its lease can only
   * expire by that transaction ending, which rolls the writes back: so a completion that comes after its lease
   * expired must fail and record nothing (the partner's retry redoes the work), where other stores record it.
   */
  readonly transactional?: boolean
}

type Claimed = Extract<Claim<unknown>, { status: 'claimed' }>

const LONG_LEASE_MS = 60_000
const LONG_TTL_MS = 3_600_000

const musement = (uuid: string, version: number): DeliveryKey => ({ key: `${uuid}:${version}`, scope: uuid, version })
const unversioned = (id: string): DeliveryKey => ({ key: id, scope: id })

const expectClaimed = (c: Claim<unknown>): Claimed => {
  if (c.status !== 'claimed') expect.fail(`expected 'claimed', got ${JSON.stringify(c)}`)
  expect(c.token).to.be.a('string').that.is.not.empty
  return c
}

/**
 * The rules every `DeliveryStore` must keep (lib/core/delivery.ts), run once per implementation, in the spirit of
 * stripe-node's `createWebhooksTestSuite`. `subject` is called before each test.
 */
export const storeContract = (subject: () => StoreSubject, timing: ContractTiming, options: ContractOptions = {}): void => {
  const { shortLeaseMs, shortTtlMs } = timing
  let store: DeliveryStore<unknown>
  let elapse: (ms: number) => Promise<void>
  let create: (ttlMs: number) => DeliveryStore<unknown>

  describe('DeliveryStore contract', () => {
    beforeEach(() => {
      ;({ create, elapse } = subject())
      store = create(LONG_TTL_MS)
    })

    it('claims a new delivery, with no high-water mark yet', async () => {
      const c = expectClaimed(await store.claim(musement('a', 1), LONG_LEASE_MS))
      expect(c.highWater).to.equal(undefined)
    })

    it('answers busy with a positive retryAfterMs while the scope is leased, for the same and for other keys', async () => {
      expectClaimed(await store.claim(musement('a', 1), LONG_LEASE_MS))
      for (const again of [musement('a', 1), musement('a', 2)]) {
        const c = await store.claim(again, LONG_LEASE_MS)
        if (c.status !== 'busy') return expect.fail(`expected busy, got ${JSON.stringify(c)}`)
        expect(c.retryAfterMs).to.be.greaterThan(0).and.at.most(LONG_LEASE_MS)
      }
    })

    it('answers done for a completed key, and frees the scope for the next key', async () => {
      const first = expectClaimed(await store.claim(musement('a', 1), LONG_LEASE_MS))
      await store.complete(musement('a', 1), first.token)
      expect(await store.claim(musement('a', 1), LONG_LEASE_MS)).to.deep.equal({ status: 'done' })
      expectClaimed(await store.claim(musement('a', 2), LONG_LEASE_MS))
    })

    it('claims again after a release, with a new token, and marks nothing done', async () => {
      const first = expectClaimed(await store.claim(unversioned('m1'), LONG_LEASE_MS))
      await store.release(unversioned('m1'), first.token)
      const second = expectClaimed(await store.claim(unversioned('m1'), LONG_LEASE_MS))
      expect(second.token).to.not.equal(first.token)
    })

    it('claims again once the lease has expired (the holder died mid-handler)', async () => {
      expectClaimed(await store.claim(unversioned('m1'), shortLeaseMs))
      await elapse(shortLeaseMs * 2)
      expectClaimed(await store.claim(unversioned('m1'), LONG_LEASE_MS))
    })

    it('returns the highest completed version on claim, never lowered by completing an older one', async () => {
      for (const version of [3, 5, 2]) {
        const c = expectClaimed(await store.claim(musement('a', version), LONG_LEASE_MS))
        await store.complete(musement('a', version), c.token)
      }
      expect(expectClaimed(await store.claim(musement('a', 6), LONG_LEASE_MS)).highWater).to.equal(5)
    })

    it('leaves the high-water mark alone for unversioned deliveries', async () => {
      const c = expectClaimed(await store.claim(unversioned('m1'), LONG_LEASE_MS))
      await store.complete(unversioned('m1'), c.token)
      const other = expectClaimed(await store.claim({ key: 'm2', scope: 'm1' }, LONG_LEASE_MS))
      expect(other.highWater).to.equal(undefined)
    })

    it('ignores a stale token: release and complete do not drop the lease of the next holder', async () => {
      const stale = expectClaimed(await store.claim(musement('a', 1), shortLeaseMs))
      await elapse(shortLeaseMs * 2)
      const holder = expectClaimed(await store.claim(musement('a', 2), LONG_LEASE_MS))
      await store.release(musement('a', 1), stale.token)
      expect((await store.claim(musement('a', 3), LONG_LEASE_MS)).status).to.equal('busy')
      const late: unknown = await failureOf(() => store.complete(musement('a', 1), stale.token))
      expect((await store.claim(musement('a', 3), LONG_LEASE_MS)).status).to.equal('busy')
      if (options.transactional === true) {
        // The expired claim's transaction was rolled back with its writes: nothing is recorded, the key is claimable.
        expect(late).to.be.instanceOf(Error)
        await store.release(musement('a', 2), holder.token)
        expect(expectClaimed(await store.claim(musement('a', 1), LONG_LEASE_MS)).highWater).to.equal(undefined)
        return
      }
      expect(late).to.equal(undefined)
      // The late completion still counts: the work was done, so its key is a duplicate from now on.
      expect((await store.claim(musement('a', 1), LONG_LEASE_MS)).status).to.equal('done')
      await store.release(musement('a', 2), holder.token)
      expect(expectClaimed(await store.claim(musement('a', 3), LONG_LEASE_MS)).highWater).to.equal(1)
    })

    it('forgets done keys and high-water marks after the retention window, not before', async () => {
      const short = create(shortTtlMs)
      const c = expectClaimed(await short.claim(musement('a', 7), LONG_LEASE_MS))
      await short.complete(musement('a', 7), c.token)
      await elapse(shortTtlMs / 4)
      expect((await short.claim(musement('a', 7), LONG_LEASE_MS)).status).to.equal('done')
      await elapse(shortTtlMs)
      const again = expectClaimed(await short.claim(musement('a', 7), LONG_LEASE_MS))
      expect(again.highWater).to.equal(undefined)
    })

    it('restarts the high-water retention on every completion in the scope, even an older version', async () => {
      const short = create(shortTtlMs)
      const first = expectClaimed(await short.claim(musement('a', 4), LONG_LEASE_MS))
      await short.complete(musement('a', 4), first.token)
      await elapse(shortTtlMs * 0.6)
      const older = expectClaimed(await short.claim(musement('a', 2), LONG_LEASE_MS))
      await short.complete(musement('a', 2), older.token)
      await elapse(shortTtlMs * 0.6)
      expect(expectClaimed(await short.claim(musement('a', 5), LONG_LEASE_MS)).highWater).to.equal(4)
    })

    it('keeps scopes independent: leases, done keys and high-water marks', async () => {
      const a = expectClaimed(await store.claim(musement('a', 9), LONG_LEASE_MS))
      const b = expectClaimed(await store.claim(musement('b', 1), LONG_LEASE_MS))
      await store.complete(musement('a', 9), a.token)
      expect((await store.claim(musement('b', 9), LONG_LEASE_MS)).status).to.equal('busy')
      await store.release(musement('b', 1), b.token)
      expect(expectClaimed(await store.claim(musement('b', 9), LONG_LEASE_MS)).highWater).to.equal(undefined)
    })

    it('gives the lease to exactly one of 50 concurrent claims of one scope', async () => {
      const claims = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.claim(musement('a', i % 5), LONG_LEASE_MS))
      )
      expect(claims.filter((c) => c.status === 'claimed')).to.have.length(1)
      expect(claims.filter((c) => c.status === 'busy')).to.have.length(49)
    })

    it('rejects a claim with a lease that is not a positive number of ms', async () => {
      for (const leaseMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        const error: unknown = await failureOf(() => store.claim(unversioned('m1'), leaseMs))
        expect(error).to.be.instanceOf(TypeError)
      }
      expectClaimed(await store.claim(unversioned('m1'), LONG_LEASE_MS))
    })

    it('rejects a completion with a version that is not finite, changing nothing', async () => {
      const c = expectClaimed(await store.claim(musement('a', 1), LONG_LEASE_MS))
      const error: unknown = await failureOf(() => store.complete({ key: 'a:x', scope: 'a', version: Number.NaN }, c.token))
      expect(error).to.be.instanceOf(TypeError)
      expect((await store.claim(musement('a', 2), LONG_LEASE_MS)).status).to.equal('busy')
      await store.complete(musement('a', 1), c.token)
      expect(expectClaimed(await store.claim(musement('a', 2), LONG_LEASE_MS)).highWater).to.equal(1)
    })
  })
}
