import { busy, storeUnavailable, type Problem } from './problem.js'
import type { Claim, DeliveryKey, DeliveryStore } from './delivery.js'

/** What to do with an older version that arrives after a newer one was handled (Musement re-sends late). */
export type StaleVersions = 'skip' | 'deliver'

/** What the handler (and the route, in `res.locals.webhook`) learns about the delivery it is given. */
export interface DeliveryInfo {
  readonly partner: string
  /** The idempotency key: Musement `order_item_uuid` + `order_item_version`, About You `subscription_id` + `id`. */
  readonly key: string
  /** True when a newer version of the same item was already handled (only with `staleVersions: 'deliver'`). */
  readonly stale: boolean
}

/** Where a claim leaves the request. */
export type ClaimStep =
  /** Answer 200 without calling the handler: already handled, or an older version to skip. */
  | { readonly kind: 'acknowledge'; readonly outcome: 'duplicate' | 'stale' }
  /** Refuse (409 busy, 503 store unreachable); the partner retries. */
  | { readonly kind: 'refuse'; readonly outcome: 'busy' | 'failed'; readonly problem: Problem }
  /** This request holds the lease: run the handler, then settle. */
  | { readonly kind: 'run'; readonly token: string; readonly stale: boolean }

/**
 * Claims `d` in `store`. A store failure fails closed (503, handler not called): the partner retries later and
 * nothing is lost, whereas handling without a claim could run the handler twice.
 */
export const claimDelivery = async (
  store: DeliveryStore,
  d: DeliveryKey,
  leaseMs: number,
  staleVersions: StaleVersions
): Promise<ClaimStep> => {
  let claim: Claim
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
      if (!stale || staleVersions === 'deliver') return { kind: 'run', token: claim.token, stale }
      await settle(store, d, claim.token, false)
      return { kind: 'acknowledge', outcome: 'stale' }
    }
  }
}

/**
 * Completes (`handled`) or releases the claim. Errors are swallowed on purpose: a lease that cannot be released
 * expires by itself, and a completion that cannot be recorded only means a later retry is handled again, which is
 * better than answering 5xx for work that was done. Returns the error, if any, for `onOutcome`.
 */
export const settle = async (store: DeliveryStore, d: DeliveryKey, token: string, handled: boolean): Promise<unknown> => {
  try {
    await (handled ? store.complete(d, token) : store.release(d, token))
    return undefined
  } catch (err) {
    return err
  }
}
