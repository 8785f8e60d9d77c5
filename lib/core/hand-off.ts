import type { Claim, DeliveryKey, DeliveryStore } from './delivery.js'
import { release, type StaleVersions } from './exactly-once.js'
import { queueUnavailable, storeUnavailable, type Problem } from './problem.js'

/**
 * One delivery as the middleware puts it on a queue in hand-off mode. It is plain JSON, so any queue can carry it.
 */
export interface HandOffJob {
  /** The partner's short name, e.g. `musement`. */
  readonly partner: string
  /** The idempotency key, as `DeliveryKey.key`. */
  readonly key: string
  /** What is handled one at a time, as `DeliveryKey.scope`. */
  readonly scope: string
  /** Position within `scope` (an item's version); absent for unversioned partners. */
  readonly version?: number
  /** The event's wire form (the body as parsed), so a worker decodes it with the same codec. */
  readonly event: unknown
  /** The body as received; absent when a body parser before the middleware left only an object. */
  readonly rawBody?: string
  /** When the middleware received the delivery, in ms since the epoch. */
  readonly receivedAt: number
}

/**
 * Where the middleware puts a delivery in hand-off mode (option `handOff`). `enqueue` resolves once the queue has
 * stored the job durably; putting the same `key` twice must leave one job. A rejection answers 503 (the partner
 * retries). `express-partner-webhooks/handoff` has one for BullMQ: `bullmqHandOff(queue)`.
 */
export interface HandOff {
  /** Puts `job` on the queue; resolves once the queue has stored it, rejects if it could not. */
  enqueue(job: HandOffJob): Promise<void>
}

// The middleware's claim only asks the store "done? stale?" and is released as soon as the queue answered, so its
// lease only has to outlast one enqueue; if the process dies in between, workers wait this long for the scope.
export const HAND_OFF_LEASE_MS = 5000

/** How a hand-off request ends: always 200 unless the store or the queue cannot be reached. */
export type HandOffStep =
  | { readonly kind: 'acknowledge'; readonly outcome: 'queued' | 'duplicate' | 'stale' }
  | { readonly kind: 'refuse'; readonly outcome: 'failed'; readonly problem: Problem; readonly error?: unknown }

const enqueue = async (handOff: HandOff, job: HandOffJob): Promise<HandOffStep> => {
  try {
    await handOff.enqueue(job)
    return { kind: 'acknowledge', outcome: 'queued' }
  } catch (error) {
    return { kind: 'refuse', outcome: 'failed', problem: queueUnavailable(), error }
  }
}

const STALE: HandOffStep = { kind: 'acknowledge', outcome: 'stale' }

/**
 * The hand-off request: a done key is a duplicate and a skipped stale version is acknowledged without a job; any
 * other delivery is put on the queue, and 200 waits for the queue's acknowledgement. A scope that is busy (a worker
 * handles it right now) is queued too, never 409: the job waits for the worker, and the partner gets its answer
 * within its timeout. The store unreachable answers 503 (fail closed, as inline); so does a queue that refuses.
 */
export const handOffDelivery = async (
  store: DeliveryStore<unknown>,
  handOff: HandOff,
  staleVersions: StaleVersions,
  d: DeliveryKey,
  job: HandOffJob
): Promise<HandOffStep> => {
  let claim: Claim<unknown>
  try {
    claim = await store.claim(d, HAND_OFF_LEASE_MS)
  } catch (error) {
    return { kind: 'refuse', outcome: 'failed', problem: storeUnavailable(), error }
  }
  if (claim.status === 'done') return { kind: 'acknowledge', outcome: 'duplicate' }
  if (claim.status === 'busy') return enqueue(handOff, job)
  // The claim was only a question: done keys stay done and the high-water mark only rises, so the answer holds after
  // the release. Released before the job exists, so a worker that takes the job at once does not find the scope busy.
  // A release that fails is harmless: the short lease expires by itself.
  const released = release(store, { delivery: d, token: claim.token })
  const stale = d.version !== undefined && claim.highWater !== undefined && d.version < claim.highWater
  const step = stale && staleVersions === 'skip' ? STALE : await enqueue(handOff, job)
  await released
  return step
}
