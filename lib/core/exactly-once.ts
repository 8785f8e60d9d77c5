import { andThen, isThenable, type Later } from './later.js'
import { busy, storeUnavailable, type Problem } from './problem.js'
import type { Claim, DeliveryKey, DeliveryStore } from './delivery.js'

/** What to do with an older version that arrives after a newer one was handled (partners re-send late). */
export type StaleVersions = 'skip' | 'deliver'

/** What the handler (and the route, in `res.locals.webhook`) learns about the delivery it is given. */
export interface DeliveryInfo {
  readonly partner: string
  /** The idempotency key, as the partner's definition builds it. */
  readonly key: string
  /** True when a newer version of the same item was already handled (only with `staleVersions: 'deliver'`). */
  readonly stale: boolean
}

/** Where a claim leaves the request. */
export type ClaimStep =
  /** Answer 200 without calling the handler: already handled, or an older version to skip. */
  | { readonly kind: 'acknowledge'; readonly outcome: 'duplicate' | 'stale' }
  /** Refuse (409 busy, 503 store unreachable, with the store's error); the partner retries. */
  | { readonly kind: 'refuse'; readonly outcome: 'busy' | 'failed'; readonly problem: Problem; readonly error?: unknown }
  /** This request holds the lease until `leaseEnds` (a `performance.now()` time, or later): run the handler, then settle. */
  | { readonly kind: 'run'; readonly claim: HeldClaim }

/** A claim this request holds, to be completed or released. */
export interface HeldClaim {
  readonly delivery: DeliveryKey
  readonly token: string
  readonly stale: boolean
  readonly leaseEnds: number
}

/**
 * The longest Retry-After a 409 gives. The lease only bounds how long a crashed holder blocks the scope; a live holder
 * usually finishes within seconds, so a partner that honours Retry-After comes back then, not after the whole lease.
 * A retry that finds the delivery still busy just gets another 409.
 */
export const BUSY_RETRY_AFTER_MAX_MS = 5000

/** The step for a store's answer to a claim asked at `leaseEnds - leaseMs`. */
const stepFor = (store: DeliveryStore<unknown>, d: DeliveryKey, claim: Claim<unknown>, leaseEnds: number, staleVersions: StaleVersions): Later<ClaimStep> => {
  switch (claim.status) {
    case 'done':
      return DUPLICATE
    case 'busy':
      return { kind: 'refuse', outcome: 'busy', problem: busy(Math.min(claim.retryAfterMs, BUSY_RETRY_AFTER_MAX_MS)) }
    case 'claimed': {
      const stale = d.version !== undefined && claim.highWater !== undefined && d.version < claim.highWater
      const held = { delivery: d, token: claim.token, stale, leaseEnds }
      if (!stale || staleVersions === 'deliver') return { kind: 'run', claim: held }
      return andThen(release(store, held), () => STALE)
    }
  }
}

const DUPLICATE: ClaimStep = { kind: 'acknowledge', outcome: 'duplicate' }
const STALE: ClaimStep = { kind: 'acknowledge', outcome: 'stale' }
const unreachable = (error: unknown): ClaimStep => ({ kind: 'refuse', outcome: 'failed', problem: storeUnavailable(), error })

/**
 * Claims `d` in `store`: at once if the store answers at once. A store failure fails closed (503, handler not
 * called): the partner retries later and nothing is lost, whereas handling without a claim could run the handler twice.
 */
export const claimDelivery = (store: DeliveryStore<unknown>, d: DeliveryKey, leaseMs: number, staleVersions: StaleVersions): Later<ClaimStep> => {
  // Read before asking, so the lease is known to last at least until leaseEnds whenever the store starts it.
  const leaseEnds = performance.now() + leaseMs
  let claim: Later<Claim<unknown>>
  try {
    claim = store.claim(d, leaseMs)
  } catch (error) {
    return unreachable(error)
  }
  if (!isThenable(claim)) return stepFor(store, d, claim, leaseEnds, staleVersions)
  return Promise.resolve(claim).then((answer) => stepFor(store, d, answer, leaseEnds, staleVersions), unreachable)
}

const COMPLETE_RETRY_FIRST_MS = 25
const COMPLETE_RETRY_MAX_MS = 1000

/** Runs a store call that may throw, answer at once or answer later; resolves to its error, or undefined. */
const attempt = (call: () => Later<void>): Later<unknown> => {
  let answer: Later<void>
  try {
    answer = call()
  } catch (err) {
    return failure(err)
  }
  return isThenable(answer) ? Promise.resolve(answer).then(() => undefined, failure) : undefined
}

// Undefined stands for success here, so a store that fails with `undefined` (or null) still fails.
const failure = (err: unknown): unknown => err ?? new Error(`the store failed with ${String(err)}`)

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Records the delivery as done. Never throws: a completion that fails is retried until the lease ends. The handler's
 * work is done, and while our lease lives every other delivery of the scope is refused 409, so a completion recorded
 * late still prevents a second handling (and a stale version after this one). Past the lease the error is given up
 * on (a later retry may be handled again), which is still better than answering 5xx for work that was done: a 5xx
 * makes the retry run it again for sure. Returns the last error, if any, for `onOutcome`.
 */
export const complete = (store: DeliveryStore<unknown>, held: HeldClaim, wait = COMPLETE_RETRY_FIRST_MS): Later<unknown> =>
  andThen(attempt(() => store.complete(held.delivery, held.token)), (err) => {
    // A transactional store's failed completion is final: its transaction is gone, the handler's writes with it.
    if (err === undefined || store.transactional === true || performance.now() + wait >= held.leaseEnds) return err
    return sleep(wait).then(() => complete(store, held, Math.min(2 * wait, COMPLETE_RETRY_MAX_MS)))
  })

/** Gives the claim back, so the partner's retry can claim again. Never throws: a lease not released expires by itself. */
export const release = (store: DeliveryStore<unknown>, held: Pick<HeldClaim, 'delivery' | 'token'>): Later<unknown> =>
  attempt(() => store.release(held.delivery, held.token))
