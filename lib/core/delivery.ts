import type { Later } from './later.js'

/**
 * Identifies one delivery for the exactly-once bookkeeping.
 *
 * `key` is the idempotency key, unique across every partner sharing a store (each partner's definition builds it).
 * `scope` is what must be handled one at a time: two deliveries with the same scope never run concurrently, which
 * is what makes the version high-water mark race-free. For unversioned partners `scope` equals `key`.
 */
export interface DeliveryKey {
  readonly key: string
  readonly scope: string
  /** Position within `scope` (an item's version); absent for unversioned partners. */
  readonly version?: number
}

/**
 * The answer of {@link DeliveryStore.claim}. `Tx` is what a transactional store hands the handler along with the
 * claim (the open database transaction); stores without one use `undefined`.
 */
export type Claim<Tx = undefined> =
  /** The caller holds the scope's lease until it completes or releases it, or the lease expires. */
  | { readonly status: 'claimed'; readonly token: string; readonly highWater: number | undefined; readonly transaction: Tx }
  /** `key` was completed before, within the retention window: a duplicate. */
  | { readonly status: 'done' }
  /** Another delivery of the same scope holds an unexpired lease. */
  | { readonly status: 'busy'; readonly retryAfterMs: number }

/**
 * Where the pipeline records which deliveries are in flight and which are done. Every method must be atomic on
 * its own (for Redis: one command or one Lua script), because several processes may share one store.
 * A rejected promise (or a throw) means the store is unreachable; the pipeline then answers 503 and calls no handler.
 * A store that can answer at once (in memory) returns its answer rather than a promise of it, so a request runs
 * without a promise hop; `await` works on both.
 */
export interface DeliveryStore<Tx = undefined> {
  /**
   * Atomically: if `d.key` is done, `done`; else if `d.scope` has an unexpired lease, `busy`; else take the lease
   * for `leaseMs` and return `claimed` with the scope's high-water version (if any is remembered).
   */
  claim(d: DeliveryKey, leaseMs: number): Later<Claim<Tx>>
  /**
   * Atomically: remember `d.key` as done for the store's retention window, raise the scope's high-water mark to
   * `d.version` (never lower it), and drop the lease if `token` still holds it.
   */
  complete(d: DeliveryKey, token: string): Later<void>
  /** Drops the lease if `token` still holds it, so the partner's retry can claim again. Nothing is marked done. */
  release(d: DeliveryKey, token: string): Later<void>
  /** True only for a {@link TransactionalStore}. */
  readonly transactional?: boolean
}

/** A store that answers every call with a promise (Redis, Postgres, anything over a network). */
export interface AsyncDeliveryStore<Tx = undefined> extends DeliveryStore<Tx> {
  claim(d: DeliveryKey, leaseMs: number): Promise<Claim<Tx>>
  complete(d: DeliveryKey, token: string): Promise<void>
  release(d: DeliveryKey, token: string): Promise<void>
}

/**
 * A store whose claim is a database transaction (Postgres), which the handler reaches through the store and which
 * `complete` commits with the delivery record, so the handler's writes last only if `complete` succeeds. The
 * middleware then answers 200 only after `complete`, never retries a failed one (the partner's retry redoes the
 * work), and refuses `next()`-style routes, which answer before it could run.
 */
export interface TransactionalStore<Tx> extends AsyncDeliveryStore<Tx> {
  readonly transactional: true
}

// A transactional store (Postgres) opens a transaction in `claim` and hands it over as `Claim.transaction`; `complete`
// records the delivery in it and commits, `release` rolls it back. Its lease is the transaction's lock, so it ends
// with the connection: a killed process frees the scope at once.
