import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job, type WorkerOptions } from 'bullmq'
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { toFieldProblems } from '../core/decode.js'
import type { DeliveryKey, DeliveryStore } from '../core/delivery.js'
import { claimDelivery, complete, release, type DeliveryInfo, type StaleVersions } from '../core/exactly-once.js'
import { callHook } from '../core/hooks.js'
import { processWarnings } from '../core/logger.js'
import { assertKnownKeys, assertOptionsObject, DEFAULT_LEASE_MS, optionError, positiveInteger } from '../core/options.js'
import { HandOffJobData } from './job.js'

const FACTORY = 'startHandOffWorker'

/** What the worker's handler learns about the delivery besides the event: the inline `DeliveryInfo`, and the job. */
export interface HandOffDelivery extends DeliveryInfo {
  /** The BullMQ job id (see `handOffJobId`). */
  readonly jobId: string
  /** This run of the handler, from 1; a run cut short by a crash is not counted. */
  readonly attempt: number
  /** When the middleware received the delivery. */
  readonly receivedAt: Date
  /** The body as the partner sent it, when the middleware read it (no body parser before it). */
  readonly rawBody: string | undefined
}

/** Handles one queued event. Resolve to record the delivery as done; throw to have BullMQ retry it with backoff. */
export type HandOffHandler<A> = (event: A, delivery: HandOffDelivery) => void | Promise<void>

/** What a job's run returned (BullMQ keeps it as the job's return value). */
export type HandOffResult = 'processed' | 'duplicate' | 'stale'

/** One run of a job, for logs and metrics. `busy` runs are put back without spending an attempt. */
export interface HandOffOutcome {
  readonly partner: string
  readonly key: string
  readonly jobId: string
  readonly outcome: HandOffResult | 'busy' | 'failed'
  readonly attempt: number
  readonly durationMs: number
  /** The handler's error, the store's, or a completion that could not be recorded. */
  readonly error?: unknown
}

/** Options of {@link startHandOffWorker}. */
export interface HandOffWorkerOptions<A> {
  /** The queue's name, as given to `new Queue(name)` on the producing side. */
  readonly queue: string
  /** BullMQ's connection: an ioredis client created with `maxRetriesPerRequest: null`, or its options. */
  readonly connection: ConnectionOptions
  /** BullMQ's key prefix, if the queue uses another than `bull`. */
  readonly prefix?: string
  /** The partner's codec (e.g. `MusementOrderItem`), which decodes the job's wire form back into the event. */
  readonly codec: t.Decoder<unknown, A>
  readonly handler: HandOffHandler<A>
  /** The same store the middleware uses: the claim, the done record and the version mark are shared. */
  readonly store: DeliveryStore<unknown>
  /** How long a run holds its claim, in ms; must exceed the handler's longest run. Default 120 000 (2 min). */
  readonly leaseMs?: number
  /** An older version after a newer one: `'skip'` (default) or `'deliver'` with `delivery.stale === true`. */
  readonly staleVersions?: StaleVersions
  /** Jobs run at once by this worker. Default 1. */
  readonly concurrency?: number
  /** When another run holds the scope, the job is put back for this long, in ms, without spending an attempt. Default 500. */
  readonly busyRetryMs?: number
  /** BullMQ's job lock, in ms: a crashed worker's job is taken up again after it expires. Default 30 000. */
  readonly lockDuration?: number
  /** How often BullMQ looks for jobs of crashed workers, in ms. Default 30 000. */
  readonly stalledInterval?: number
  /** Crashes a job may survive before it becomes a dead letter. Default 1 (BullMQ's). */
  readonly maxStalledCount?: number
  /** Sees every run of a job. */
  readonly onOutcome?: (outcome: HandOffOutcome) => void | Promise<void>
  /** Sees the worker's own errors (a lost Redis connection). Default: a process warning. */
  readonly onError?: (error: Error) => void
}

const DEFAULT_BUSY_RETRY_MS = 500
const KNOWN = [
  'queue', 'connection', 'prefix', 'codec', 'handler', 'store', 'leaseMs', 'staleVersions', 'concurrency', 'busyRetryMs',
  'lockDuration', 'stalledInterval', 'maxStalledCount', 'onOutcome', 'onError'
]

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)))

const warn = (error: Error): void => {
  process.emitWarning(`a hand-off worker failed: ${error.message}`, { code: 'EXPRESS_PARTNER_WEBHOOKS_WORKER' })
}

const checkOptions = <A>(options: HandOffWorkerOptions<A>): void => {
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, KNOWN)
  if (typeof options.queue !== 'string' || options.queue === '') throw optionError(FACTORY, '`queue` must be the queue name')
  if (typeof options.handler !== 'function') throw optionError(FACTORY, '`handler` must be a function (event, delivery) => ...')
  if (typeof options.codec !== 'object' || options.codec === null || typeof options.codec.decode !== 'function') {
    throw optionError(FACTORY, "`codec` must be the partner's io-ts codec, e.g. MusementOrderItem")
  }
  const store: unknown = options.store
  if (typeof store !== 'object' || store === null || !('claim' in store) || !('complete' in store) || !('release' in store)) {
    throw optionError(FACTORY, '`store` is required: the DeliveryStore the middleware uses, e.g. redisStore({ client })')
  }
  const stale: unknown = options.staleVersions
  if (stale !== undefined && stale !== 'skip' && stale !== 'deliver') throw optionError(FACTORY, "`staleVersions` must be 'skip' or 'deliver'")
}

const bullmqOptions = <A>(options: HandOffWorkerOptions<A>): WorkerOptions => {
  const optional = (name: 'lockDuration' | 'stalledInterval' | 'maxStalledCount'): Partial<WorkerOptions> =>
    options[name] === undefined ? {} : { [name]: positiveInteger(FACTORY, name, options[name], 1) }
  return {
    connection: options.connection,
    concurrency: positiveInteger(FACTORY, 'concurrency', options.concurrency, 1),
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...optional('lockDuration'),
    ...optional('stalledInterval'),
    ...optional('maxStalledCount')
  }
}

/**
 * Starts a BullMQ worker that runs `handler` for the jobs `bullmqHandOff` queued, with the same exactly-once rules as
 * the inline path: each run claims the delivery in `store` first (done: skipped as `duplicate`; an older version
 * after a newer one: `stale`; another run holds the scope: put back without spending an attempt), then runs the
 * handler and records the delivery as done, or releases it and lets BullMQ retry with the job's backoff. After the
 * last attempt the job stays in BullMQ's failed set: a dead letter (see `replayDeadLetters`). A worker killed
 * mid-job loses nothing: BullMQ hands the job to a live worker once its lock expires, and a run whose completion
 * was recorded is not repeated. Close it with `await worker.close()`.
 *
 * @example
 * const worker = startHandOffWorker({
 *   queue: 'musement-webhooks', connection: new Redis(url, { maxRetriesPerRequest: null }), store,
 *   codec: MusementOrderItem, handler: async (event) => { await orders.update(event.order_item_uuid, event.order_item_status) }
 * })
 */
export const startHandOffWorker = <A>(options: HandOffWorkerOptions<A>): Worker<unknown, HandOffResult> => {
  checkOptions(options)
  const { codec, handler, store, onOutcome } = options
  const leaseMs = positiveInteger(FACTORY, 'leaseMs', options.leaseMs, DEFAULT_LEASE_MS)
  const busyRetryMs = positiveInteger(FACTORY, 'busyRetryMs', options.busyRetryMs, DEFAULT_BUSY_RETRY_MS)
  const staleVersions: StaleVersions = options.staleVersions ?? 'skip'

  type Report = (o: Pick<HandOffOutcome, 'outcome' | 'error'>) => void

  const run = async (job: Job<unknown, HandOffResult>, data: HandOffJobData, token: string | undefined, report: Report): Promise<HandOffResult> => {
    const { partner, key, scope, version, receivedAt, rawBody } = data
    const event = codec.decode(data.event)
    if (E.isLeft(event)) {
      const [first] = toFieldProblems(event.left)
      throw new UnrecoverableError(`${FACTORY}: the event no longer decodes${first === undefined ? '' : ` (${first.path}: ${first.message})`}`)
    }
    const d: DeliveryKey = { key, scope, ...(version === undefined ? {} : { version }) }
    const step = await claimDelivery(store, d, leaseMs, staleVersions)
    if (step.kind === 'acknowledge') {
      report({ outcome: step.outcome })
      return step.outcome
    }
    if (step.kind === 'refuse' && step.outcome === 'failed') throw new Error(`${FACTORY}: the delivery store could not be reached`)
    if (step.kind === 'refuse') {
      report({ outcome: 'busy' })
      // A processor always gets its lock's token; without one (never seen) the job is retried with its backoff.
      if (token === undefined) throw new Error(`${FACTORY}: another run is handling ${scope}`)
      await job.moveToDelayed(Date.now() + busyRetryMs, token)
      throw new DelayedError()
    }
    const delivery: HandOffDelivery = { partner, key, stale: step.claim.stale, jobId: job.id ?? '', attempt: job.attemptsMade + 1, receivedAt: new Date(receivedAt), rawBody }
    try {
      await handler(event.right, delivery)
    } catch (err) {
      await release(store, step.claim)
      throw asError(err)
    }
    // Retried within the lease if the store blips; given up on after it, like inline: the work is done, and throwing
    // would make BullMQ run the handler again for sure.
    const error = await complete(store, step.claim)
    report({ outcome: 'processed', ...(error === undefined ? {} : { error }) })
    return 'processed'
  }

  const processor = async (job: Job<unknown, HandOffResult>, token?: string): Promise<HandOffResult> => {
    const started = performance.now()
    const data = HandOffJobData.decode(job.data)
    if (E.isLeft(data)) throw new UnrecoverableError(`${FACTORY}: job ${job.id ?? '?'} is not a hand-off job`)
    const { partner, key } = data.right
    const report: Report = (o) =>
      callHook(onOutcome, { partner, key, jobId: job.id ?? '', attempt: job.attemptsMade + 1, durationMs: performance.now() - started, ...o }, processWarnings, 'onOutcome hook')
    try {
      return await run(job, data.right, token, report)
    } catch (err) {
      if (!(err instanceof DelayedError)) report({ outcome: 'failed', error: err })
      throw err
    }
  }

  const worker = new Worker<unknown, HandOffResult>(options.queue, processor, bullmqOptions(options))
  worker.on('error', options.onError ?? warn)
  return worker
}
