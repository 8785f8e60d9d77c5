import { busy, storeUnavailable, type Problem } from './problem.js'
import type { Claim, DeliveryKey, DeliveryStore } from './delivery.js'

/** What to do with an older version that arrives after a newer one was handled (Musement re-sends late). */
export type StaleVersions = 'skip' | 'deliver'

/** What the handler (and the route, in `res.locals.webhook`) learns about the delivery it is given. */
export interface DeliveryInfo<Tx = undefined> {
  readonly partner: string
  /** The idempotency key: Musement `order_item_uuid` + `order_item_version`, About You event name + `subscription_id` + `id`. */
  readonly key: string
  /** True when a newer version of the same item was already handled (only with `staleVersions: 'deliver'`). */
  readonly stale: boolean
  /**
   * The store's open transaction (`postgresStore`: the pooled client inside `BEGIN`), committed with the delivery
   * record once the handler resolves, rolled back if it throws. `undefined` for other stores and in `res.locals`.
   */
  readonly transaction: Tx
}

/** Where a claim leaves the request. */
export type ClaimStep<Tx = undefined> =
  /** Answer 200 without calling the handler: already handled, or an older version to skip. */
  | { readonly kind: 'acknowledge'; readonly outcome: 'duplicate' | 'stale' }
  /** Refuse (409 busy, 503 store unreachable); the partner retries. */
  | { readonly kind: 'refuse'; readonly outcome: 'busy' | 'failed'; readonly problem: Problem }
  /** This request holds the lease until `leaseEnds` (a `performance.now()` time, or later): run the handler, then settle. */
  | { readonly kind: 'run'; readonly token: string; readonly stale: boolean; readonly leaseEnds: number; readonly transaction: Tx }

/**
 * Claims `d` in `store`. A store failure fails closed (503, handler not called): the partner retries later and
 * nothing is lost, whereas handling without a claim could run the handler twice.
 */
export const claimDelivery = async <Tx>(
  store: DeliveryStore<Tx>,
  d: DeliveryKey,
  leaseMs: number,
  staleVersions: StaleVersions
): Promise<ClaimStep<Tx>> => {
  let claim: Claim<Tx>
  // Read before asking, so the lease is known to last at least until leaseEnds whenever the store starts it.
  const leaseEnds = performance.now() + leaseMs
  try {
    claim = await store.claim(d, leaseMs)
  } catch {
    return { kind: 'refuse', outcome: 'failed', problem: storeUnavailable() }
  }
  switch (claim.status) {
    case 'done':
      return { kind: 'acknowledge', outcome: 'duplicate' }
    case 'busy':
      return { kind: 'refuse', outcome: 'busy', problem: busy(claim.retryAfterMs) }
    case 'claimed': {
      const stale = d.version !== undefined && claim.highWater !== undefined && d.version < claim.highWater
      if (!stale || staleVersions === 'deliver') return { kind: 'run', token: claim.token, stale, leaseEnds, transaction: claim.transaction }
      await settle(store, d, claim.token, false)
      return { kind: 'acknowledge', outcome: 'stale' }
    }
  }
}

const COMPLETE_RETRY_FIRST_MS = 25
const COMPLETE_RETRY_MAX_MS = 1000

/**
 * Completes (`handled`) or releases the claim. Errors are not thrown: a lease that cannot be released expires by
 * itself (nothing lost). A completion that fails is retried until `leaseEnds`: the handler's work is done, and while
 * our lease lives every other delivery of the scope is refused 409, so a completion recorded late still prevents a
 * second handling (and a stale version after this one). Giving up at once would leave the key not done, and the
 * partner's next copy would run the handler again once the lease expired. Past the lease the error is given up on
 * (a later retry may be handled again), which is still better than answering 5xx for work that was done: a 5xx
 * makes the retry run it again for sure. Returns the last error, if any, for `onOutcome`. A transactional store's
 * failed completion is final (its transaction is gone, the work rolled back), so it is returned at once.
 */
export const settle = async (store: DeliveryStore<unknown>, d: DeliveryKey, token: string, handled: boolean, leaseEnds = 0): Promise<unknown> => {
  for (let wait = COMPLETE_RETRY_FIRST_MS; ; wait = Math.min(2 * wait, COMPLETE_RETRY_MAX_MS)) {
    try {
      await (handled ? store.complete(d, token) : store.release(d, token))
      return undefined
    } catch (err) {
      if (!handled || store.transactional === true || performance.now() + wait >= leaseEnds) return err
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
