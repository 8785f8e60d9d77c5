import { Queue, type ConnectionOptions, type Job } from 'bullmq'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { HandOffJobData } from '../../lib/handoff/job.js'
import { startRedis, type TestRedis } from './redis-server.js'
import { basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'

// Shared by the hand-off specs: connections set up as the README asks, Musement bodies by item and version, and a
// bounded wait for what a worker does in the background.

export const CREDENTIALS = { username: 'u', password: 'p' } as const
export const AUTH = { Authorization: basicAuthHeader('u', 'p') } as const
export const PATH = '/hook'

export const ITEM = '11045e18-e3ca-42e1-acb4-0d5be75036fd'

/** A Musement body for `item` at `version`. */
export const musement = (version: number, item = ITEM) =>
  musementOrderItemFixture({ order_item_uuid: item, order_item_version: String(version) })

/** A client for the store and the queue: fail fast while Redis is unreachable (the middleware then answers 503). */
export const connectClient = async (url: string): Promise<Redis> => {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  client.on('error', () => undefined)
  await once(client, 'ready')
  return client
}

/** What a BullMQ worker needs: its own connections, retried forever (`maxRetriesPerRequest: null`). */
export const workerConnection = (url: string): ConnectionOptions => ({ url, maxRetriesPerRequest: null })

/** A queue of hand-off jobs on `client`. */
export const handOffQueue = (name: string, client: Redis): Queue<HandOffJobData> => {
  const queue = new Queue<HandOffJobData>(name, { connection: client })
  queue.on('error', () => undefined)
  return queue
}

let queues = 0
/** A queue name no other spec uses, so specs sharing one redis-server never see each other's jobs. */
export const freshQueueName = (label: string): string => `${label}-${process.pid}-${++queues}`

/**
 * Polls `check` until it returns a value other than `undefined`, for at most `timeoutMs` (a generous bound, not a
 * timing claim: the wait ends as soon as the condition holds). Throws naming `what` otherwise.
 */
export const waitFor = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await sleep(20)
  }
}

/**
 * Waits until job `id` has completed or failed, and returns it as it is then. It is read again after its state was
 * seen final: a `Job` fetched before holds the return value and failure reason of that earlier moment.
 */
export const finished = (queue: Queue<HandOffJobData>, id: string, timeoutMs?: number): Promise<Job<HandOffJobData>> =>
  waitFor(
    `job ${id} to finish`,
    async () => {
      const state = await queue.getJobState(id)
      return state === 'completed' || state === 'failed' ? queue.getJob(id) : undefined
    },
    timeoutMs
  )

/** Waits until the queue has no waiting, active, delayed or prioritized job left. */
export const drained = (queue: Queue<HandOffJobData>, timeoutMs?: number): Promise<true> =>
  waitFor(
    `queue ${queue.name} to drain`,
    async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')
      return Object.values(c).every((n) => n === 0) ? true : undefined
    },
    timeoutMs
  )

/** A promise and its resolve function. */
export const deferred = () => {
  let resolve: () => void = () => undefined
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** A describe block's own redis-server and client, and its cleanups, run after each test, the newest first. */
export interface RedisSuite {
  /** The server and client; fails the test if they did not start. */
  readonly current: () => { readonly redis: TestRedis; readonly client: Redis }
  readonly cleanups: Array<() => Promise<unknown>>
}

/** Registers the mocha hooks of a {@link RedisSuite}: call it at the top of a describe block. */
export const redisPerSuite = (): RedisSuite => {
  let started: { readonly redis: TestRedis; readonly client: Redis } | undefined
  const cleanups: Array<() => Promise<unknown>> = []
  before(async () => {
    const redis = await startRedis()
    started = { redis, client: await connectClient(redis.url) }
  })
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  after(async () => {
    started?.client.disconnect()
    await started?.redis.stop()
  })
  return {
    current: () => {
      if (started === undefined) throw new Error('redis did not start')
      return started
    },
    cleanups
  }
}
