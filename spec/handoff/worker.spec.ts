import { expect } from 'chai'
import { Queue, UnrecoverableError, type Worker } from 'bullmq'
import type { DeliveryStore } from '../../lib/core/delivery.js'
import { bullmqHandOff } from '../../lib/handoff/bullmq.js'
import { handOffJobId, type HandOffJobData } from '../../lib/handoff/job.js'
import { startHandOffWorker, type HandOffDelivery, type HandOffOutcome, type HandOffWorkerOptions } from '../../lib/handoff/worker.js'
import { MusementOrderItem, type MusementOrderItemEvent } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { redisStore } from '../../lib/stores/redis.js'
import { jsonOf, postDelivery } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'
import {
  AUTH,
  CREDENTIALS,
  deferred,
  drained,
  finished,
  freshQueueName,
  handOffQueue,
  ITEM,
  musement,
  PATH,
  redisPerSuite,
  waitFor,
  workerConnection
} from '../helpers/handoff.js'
import { forkWorker, readLedger, type WorkerChild } from '../helpers/handoff-children.js'
import { mulberry32 } from '../helpers/simulated-partner.js'

// The worker side against a real Redis and BullMQ; the crash cases SIGKILL a worker running in its own process.

const KEY = (version: number, item = ITEM) => `musement:${item}:${version}`
const JOB = (version: number, item = ITEM) => handOffJobId('musement', KEY(version, item))

interface Call {
  readonly version: number
  readonly delivery: HandOffDelivery
}

describe('handoff/worker (startHandOffWorker)', function () {
  this.timeout(30_000)
  const suite = redisPerSuite()
  const { cleanups } = suite

  interface Setup {
    readonly queue: Queue<HandOffJobData>
    readonly store: DeliveryStore
    /** POSTs a Musement body through a hand-off middleware on this queue and store. */
    readonly send: (version: number, item?: string) => Promise<unknown>
    readonly calls: Call[]
    readonly outcomes: HandOffOutcome[]
    readonly start: (options?: Partial<HandOffWorkerOptions<MusementOrderItemEvent>>) => Worker
  }

  const setup = (handOff: Parameters<typeof bullmqHandOff>[1] = { attempts: 3, backoff: 20 }, staleVersions: 'skip' | 'deliver' = 'skip'): Setup => {
    const { redis, client } = suite.current()
    const url = redis.url
    const queue = handOffQueue(freshQueueName('worker'), client)
    cleanups.push(() => queue.obliterate({ force: true }).then(() => queue.close()))
    const store = redisStore({ client, prefix: `${queue.name}:` })
    const app = express()
    app.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store, staleVersions, handOff: bullmqHandOff(queue, handOff) }))
    const calls: Call[] = []
    const outcomes: HandOffOutcome[] = []
    const start = (options: Partial<HandOffWorkerOptions<MusementOrderItemEvent>> = {}) => {
      const worker = startHandOffWorker({
        queue: queue.name,
        connection: workerConnection(url),
        codec: MusementOrderItem,
        store,
        staleVersions,
        handler: (event, delivery) => void calls.push({ version: event.order_item_version, delivery }),
        onOutcome: (o) => void outcomes.push(o),
        ...options
      })
      cleanups.push(() => worker.close())
      return worker
    }
    const send = async (version: number, item?: string) => jsonOf(await postDelivery(app, PATH, musement(version, item), AUTH))
    return { queue, store, send, calls, outcomes, start }
  }

  it('runs the typed handler once with the decoded event and the job, then records the delivery as done', async () => {
    const { queue, send, calls, outcomes, start } = setup()
    const sentAt = Date.now()
    expect(await send(22)).to.deep.equal({ status: 'queued' })
    start()
    const job = await finished(queue, JOB(22))
    expect(job.returnvalue).to.equal('processed')
    expect(calls.map((c) => c.version)).to.deep.equal([22])
    const delivery = calls[0]?.delivery
    expect(delivery).to.include({ partner: 'musement', key: KEY(22), stale: false, jobId: JOB(22), attempt: 1 })
    expect(delivery?.rawBody).to.equal(JSON.stringify(musement(22)))
    expect(delivery?.receivedAt.getTime()).to.be.at.least(sentAt - 1)
    expect(outcomes.map((o) => [o.outcome, o.key, o.attempt])).to.deep.equal([['processed', KEY(22), 1]])
    // The store now holds the delivery as done: the partner's next copy is a duplicate, and nothing is queued.
    await job.remove()
    expect(await send(22)).to.deep.equal({ status: 'duplicate' })
    expect(await queue.getJob(JOB(22))).to.equal(undefined)
  })

  it('retries a failing handler with backoff and completes on a later attempt', async () => {
    const { queue, send, start } = setup({ attempts: 3, backoff: 20 })
    const attempts: number[] = []
    await send(22)
    start({
      handler: (_event, delivery) => {
        attempts.push(delivery.attempt)
        if (delivery.attempt < 3) throw new Error(`attempt ${delivery.attempt} fails`)
      }
    })
    const job = await finished(queue, JOB(22))
    expect([await job.isCompleted(), job.returnvalue]).to.deep.equal([true, 'processed'])
    expect(attempts).to.deep.equal([1, 2, 3])
  })

  it('keeps a job that failed its last attempt as a dead letter, the delivery not done', async () => {
    const { queue, store, send, outcomes, start } = setup({ attempts: 3, backoff: 20 })
    await send(22)
    start({ handler: () => Promise.reject(new Error('the downstream system is down')) })
    const job = await finished(queue, JOB(22))
    expect(await job.isFailed()).to.equal(true)
    expect([job.attemptsMade, job.failedReason]).to.deep.equal([3, 'the downstream system is down'])
    expect(outcomes.map((o) => [o.outcome, o.attempt])).to.deep.equal([['failed', 1], ['failed', 2], ['failed', 3]])
    const claim = await store.claim({ key: KEY(22), scope: `musement:${ITEM}`, version: 22 }, 1000)
    expect(claim.status, 'released after every failure, never recorded as done').to.equal('claimed')
  })

  it("makes a dead letter at once when the handler throws BullMQ's UnrecoverableError", async () => {
    const { queue, send, start } = setup({ attempts: 5, backoff: 20 })
    let runs = 0
    await send(22)
    start({
      handler: () => {
        runs++
        throw new UnrecoverableError('order 22 was deleted upstream')
      }
    })
    const job = await finished(queue, JOB(22))
    expect([await job.isFailed(), job.attemptsMade, job.failedReason, runs]).to.deep.equal([true, 1, 'order 22 was deleted upstream', 1])
  })

  it('skips a job whose delivery was handled meanwhile (duplicate), without calling the handler', async () => {
    const { queue, store, send, calls, start } = setup()
    await send(22)
    const inline = express()
    const handled: number[] = []
    inline.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store, handler: (e) => void handled.push(e.order_item_version) }))
    expect(jsonOf(await postDelivery(inline, PATH, musement(22), AUTH))).to.deep.equal({ status: 'processed' })
    start()
    const job = await finished(queue, JOB(22))
    expect([job.returnvalue, calls.length, handled]).to.deep.equal(['duplicate', 0, [22]])
  })

  it("skips an older version queued behind a newer one ('skip'): returns stale, no handler", async () => {
    const { queue, send, calls, start } = setup()
    // Both queued before any worker ran (so the middleware could not know), the newer first: one worker takes them in order.
    expect([await send(23), await send(22)]).to.deep.equal([{ status: 'queued' }, { status: 'queued' }])
    start()
    const job = await finished(queue, JOB(22))
    expect([job.returnvalue, (await finished(queue, JOB(23))).returnvalue]).to.deep.equal(['stale', 'processed'])
    expect(calls.map((c) => c.version)).to.deep.equal([23])
  })

  it("delivers an older version queued behind a newer one flagged, with staleVersions 'deliver'", async () => {
    const { queue, send, calls, start } = setup({ attempts: 3, backoff: 20 }, 'deliver')
    await send(23)
    await send(22)
    start()
    const job = await finished(queue, JOB(22))
    expect(job.returnvalue).to.equal('processed')
    expect(calls.map((c) => [c.version, c.delivery.stale])).to.deep.equal([[23, false], [22, true]])
  })

  it('puts a job back without spending an attempt while another run holds the scope', async () => {
    const { queue, store, send, calls, outcomes, start } = setup({ attempts: 1, backoff: 20 })
    const holder = await store.claim({ key: KEY(21), scope: `musement:${ITEM}`, version: 21 }, 60_000)
    if (holder.status !== 'claimed') return expect.fail('the scope should have been free')
    await send(22)
    start({ busyRetryMs: 50 })
    await waitFor('the worker to find the scope busy twice', async () => (outcomes.filter((o) => o.outcome === 'busy').length >= 2 ? true : undefined))
    expect(calls).to.deep.equal([])
    await store.release({ key: KEY(21), scope: `musement:${ITEM}` }, holder.token)
    const job = await finished(queue, JOB(22))
    // With a single attempt, a busy run that spent it would have made the job a dead letter.
    expect([await job.isCompleted(), job.returnvalue, calls.map((c) => c.version)]).to.deep.equal([true, 'processed', [22]])
  })

  it('handles the versions of one item in increasing order, whatever order they were queued in', async () => {
    const { queue, send, calls, start } = setup()
    const rng = mulberry32(7)
    const versions = [1, 2, 3, 4, 5, 6, 7, 8].sort(() => rng() - 0.5)
    for (const v of versions) await send(v)
    const releases = deferred()
    start({ concurrency: 4, busyRetryMs: 20, handler: async (e, d) => {
      await releases.promise
      calls.push({ version: e.order_item_version, delivery: d })
    } })
    releases.resolve()
    await drained(queue)
    const handled = calls.map((c) => c.version)
    expect(handled, `queued ${versions.join()}, handled ${handled.join()}`).to.deep.equal([...handled].sort((a, b) => a - b))
    expect(handled.at(-1)).to.equal(8)
    const results = await Promise.all(versions.map(async (v) => (await queue.getJob(JOB(v)))?.returnvalue))
    expect(results.filter((r) => r === 'processed').length).to.equal(handled.length)
    expect(results.every((r) => r === 'processed' || r === 'stale')).to.equal(true)
  })

  it('makes a job that does not decode a dead letter at once, without calling the handler', async () => {
    const { client } = suite.current()
    const { queue, send, calls, start } = setup({ attempts: 5, backoff: 20 })
    await send(22)
    const good = await queue.getJob(JOB(22))
    if (good === undefined) return expect.fail('the delivery was not queued')
    await good.remove()
    // What another producer (or an older release) might have left on the queue: an event the codec refuses, and a
    // job that is not a hand-off job at all.
    await queue.add('musement', { ...good.data, event: { order_item_uuid: 'not a uuid' } }, { jobId: 'bad-event', attempts: 5 })
    const foreignQueue = new Queue<unknown>(queue.name, { connection: client })
    await foreignQueue.add('musement', { hello: 'world' }, { jobId: 'not-hand-off', attempts: 5 })
    await foreignQueue.close()
    start()
    const bad = await finished(queue, 'bad-event')
    const foreign = await finished(queue, 'not-hand-off')
    expect([await bad.isFailed(), bad.attemptsMade]).to.deep.equal([true, 1])
    expect(bad.failedReason).to.match(/^startHandOffWorker: the event no longer decodes \(\/\w+: /)
    expect([await foreign.isFailed(), foreign.failedReason]).to.deep.equal([true, 'startHandOffWorker: job not-hand-off is not a hand-off job'])
    expect(calls).to.deep.equal([])
  })

  describe('a worker process killed with SIGKILL', function () {
    this.timeout(60_000)
    const children: WorkerChild[] = []
    afterEach(async () => {
      await Promise.all(children.splice(0).map((c) => c.kill()))
    })

    const fork = async (queue: Queue<HandOffJobData>, mode: 'hang' | 'die-after-complete', ledger: string) => {
      const { redis } = suite.current()
      const child = await forkWorker({
        redisUrl: redis.url,
        storePrefix: `${queue.name}:`,
        ledger,
        queues: { musement: queue.name, aboutyou: null },
        mode,
        seed: 1,
        leaseMs: 1500,
        concurrency: 1,
        lockDuration: 1000,
        stalledInterval: 500
      })
      children.push(child)
      return child
    }

    it('mid-handler: the job is taken up by another worker once the lock expires, and handled once', async () => {
      const { client } = suite.current()
      const redisClient = client
      const { queue, send, calls, start } = setup()
      const ledger = `${queue.name}:ledger`
      const child = await fork(queue, 'hang', ledger)
      await send(22)
      await waitFor('the child to start the handler', async () => ((await readLedger(redisClient, ledger)).length > 0 ? true : undefined))
      await child.kill()
      start({ stalledInterval: 500, lockDuration: 1000, busyRetryMs: 100 })
      const job = await finished(queue, JOB(22))
      expect([await job.isCompleted(), job.returnvalue]).to.deep.equal([true, 'processed'])
      expect(calls.map((c) => c.version)).to.deep.equal([22])
      expect((await readLedger(redisClient, ledger)).map((e) => [e.kind, e.pid])).to.deep.equal([['start', child.pid]])
    })

    it('after its completion was recorded: the job is taken up again but not handled twice', async () => {
      const { client } = suite.current()
      const redisClient = client
      const { queue, send, calls, outcomes, start } = setup()
      const ledger = `${queue.name}:ledger`
      const child = await fork(queue, 'die-after-complete', ledger)
      await send(22)
      await new Promise((resolve) => child.child.once('exit', resolve))
      expect(child.child.signalCode).to.equal('SIGKILL')
      expect(await (await queue.getJob(JOB(22)))?.isActive(), 'the dead worker left the job active').to.equal(true)
      start({ stalledInterval: 500, lockDuration: 1000 })
      const job = await finished(queue, JOB(22))
      expect([await job.isCompleted(), job.returnvalue]).to.deep.equal([true, 'duplicate'])
      expect(calls, 'the live worker did not run the handler').to.deep.equal([])
      expect(outcomes.map((o) => o.outcome)).to.deep.equal(['duplicate'])
      expect((await readLedger(redisClient, ledger)).map((e) => e.kind)).to.deep.equal(['start', 'handled', 'completed'])
    })
  })
})
