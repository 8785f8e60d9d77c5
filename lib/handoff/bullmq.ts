import type { BackoffOptions, JobsOptions } from 'bullmq'
import type { HandOff, HandOffJob } from '../core/hand-off.js'
import { assertKnownKeys, assertOptionsObject, optionError, positiveInteger } from '../core/options.js'
import { handOffJobId, type HandOffJobData } from './job.js'

const FACTORY = 'bullmqHandOff'

/** What `bullmqHandOff` needs of a BullMQ `Queue`; `new Queue(name, { connection })` satisfies it as is. */
export interface HandOffQueue {
  readonly name: string
  /** Adds a job; with `opts.jobId` of a job that still exists, adds nothing. */
  add(name: string, data: HandOffJobData, opts: JobsOptions): Promise<unknown>
}

/** Options of {@link bullmqHandOff}. They travel with each job, so they hold whichever worker runs it. */
export interface BullmqHandOffOptions {
  /** Runs of the handler before the job is kept as a dead letter (BullMQ's failed set). Default 10. */
  readonly attempts?: number
  /** Wait between failed runs. Default `{ type: 'exponential', delay: 2000 }`: 2 s, 4 s, ... about 17 min in all. */
  readonly backoff?: number | BackoffOptions
  /** How long a completed job is kept (for the dashboard and as a first dedupe), in seconds. Default 3600. */
  readonly keepCompletedSeconds?: number
  /** An enqueue Redis has not acknowledged within this many ms fails, and the partner gets 503. Default 2000. */
  readonly timeoutMs?: number
}

/** Ten runs: with {@link DEFAULT_BACKOFF}, a downstream outage of a quarter of an hour is ridden out before a job becomes a dead letter. */
export const DEFAULT_ATTEMPTS = 10
/** 2 s, doubling after each failed run (2 s, 4 s, ... 512 s: about 17 min over ten runs). */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ type: 'exponential', delay: 2000 })
/**
 * Completed jobs are only a convenience: the store's done record (72 h by default) is what keeps a delivery from
 * being handled twice, so a copy that arrives after its job was removed finds the key done. An hour keeps recent
 * work visible in a dashboard; the count bounds Redis memory under load.
 */
export const DEFAULT_KEEP_COMPLETED_SECONDS = 3600
const KEEP_COMPLETED_COUNT = 10_000
/** As for `redisStore`: a healthy Redis answers in a millisecond, and the partner still gets its 503 in time. */
export const DEFAULT_ENQUEUE_TIMEOUT_MS = 2000

const resolveBackoff = (backoff: unknown): number | BackoffOptions => {
  if (backoff === undefined) return DEFAULT_BACKOFF
  if (typeof backoff === 'number' && Number.isSafeInteger(backoff) && backoff >= 0) return backoff
  if (typeof backoff === 'object' && backoff !== null && 'type' in backoff && typeof backoff.type === 'string') {
    const delay = 'delay' in backoff ? backoff.delay : undefined
    if (delay === undefined || (typeof delay === 'number' && Number.isSafeInteger(delay) && delay >= 0)) {
      return Object.freeze({ type: backoff.type, ...(delay === undefined ? {} : { delay }) })
    }
  }
  throw optionError(FACTORY, "`backoff` must be a delay in ms or { type: 'fixed' | 'exponential', delay }")
}

const isQueue = (u: unknown): u is HandOffQueue =>
  typeof u === 'object' && u !== null && 'add' in u && typeof u.add === 'function' && 'name' in u && typeof u.name === 'string'

const withTimeout = <T>(ms: number, work: Promise<T>): Promise<T> =>
  new Promise<T>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${FACTORY}: the queue did not acknowledge the job within ${ms} ms`)), ms)
    work.then(ok, fail).finally(() => clearTimeout(timer))
  })

/**
 * A `HandOff` onto a BullMQ queue, for a partner factory's `handOff` option. Each delivery becomes one job named
 * after the partner, whose id derives from the delivery key ({@link handOffJobId}): a copy of a delivery whose job
 * still exists (waiting, active, delayed, kept as completed, or a dead letter) adds nothing. The middleware answers
 * 200 once Redis has run the add; for that to survive a Redis restart, Redis must persist (`appendonly yes`).
 *
 * @example
 * const queue = new Queue('musement-webhooks', { connection: redis })
 * app.post('/webhooks/musement', musementOrderItem({ credentials, store, handOff: bullmqHandOff(queue) }))
 */
export const bullmqHandOff = (queue: HandOffQueue, options: BullmqHandOffOptions = {}): HandOff => {
  if (!isQueue(queue)) throw optionError(FACTORY, 'expected a BullMQ Queue first, e.g. bullmqHandOff(new Queue(name, { connection }))')
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, ['attempts', 'backoff', 'keepCompletedSeconds', 'timeoutMs'])
  const timeoutMs = positiveInteger(FACTORY, 'timeoutMs', options.timeoutMs, DEFAULT_ENQUEUE_TIMEOUT_MS)
  const jobOptions: JobsOptions = Object.freeze({
    attempts: positiveInteger(FACTORY, 'attempts', options.attempts, DEFAULT_ATTEMPTS),
    backoff: resolveBackoff(options.backoff),
    removeOnComplete: { age: positiveInteger(FACTORY, 'keepCompletedSeconds', options.keepCompletedSeconds, DEFAULT_KEEP_COMPLETED_SECONDS), count: KEEP_COMPLETED_COUNT },
    // Failed after the last attempt is a dead letter: kept until replayed or removed by an operator.
    removeOnFail: false
  })
  const enqueue = async (job: HandOffJob): Promise<void> => {
    await withTimeout(timeoutMs, queue.add(job.partner, job, { ...jobOptions, jobId: handOffJobId(job.partner, job.key) }))
  }
  return Object.freeze({ enqueue })
}
