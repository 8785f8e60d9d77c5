import { expect } from 'chai'
import type { Queue, Worker } from 'bullmq'
import * as E from 'fp-ts/lib/Either.js'
import type { DeliveryStore } from '../../lib/core/delivery.js'
import type { Outcome, WebhookOptions } from '../../lib/core/types.js'
import { bullmqHandOff } from '../../lib/handoff/bullmq.js'
import { handOffJobId, type HandOffJobData } from '../../lib/handoff/job.js'
import { startHandOffWorker } from '../../lib/handoff/worker.js'
import { AboutYouOrderItemsEvent } from '../../lib/partners/aboutyou/codec.js'
import { aboutYouShipment, aboutYouWebhooks } from '../../lib/partners/aboutyou/middleware.js'
import { MusementOrderItem, type MusementOrderItemEvent } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { redisStore } from '../../lib/stores/redis.js'
import { aboutYouOrderItemsFixture, apiKeyHeader } from '../../lib/testing/index.js'
import { jsonOf, postDelivery, problemOf } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'
import {
  AUTH,
  CREDENTIALS,
  connectClient,
  deferred,
  drained,
  freshQueueName,
  handOffQueue,
  ITEM,
  musement,
  PATH,
  redisPerSuite,
  waitFor,
  workerConnection
} from '../helpers/handoff.js'
import { startRedis } from '../helpers/redis-server.js'

// The HTTP side of hand-off mode against a real Redis and BullMQ: what the partner is answered, and which jobs exist.

const jobIdOf = (version: number, item = ITEM) => handOffJobId('musement', `musement:${item}:${version}`)

describe('handoff/bullmq (hand-off mode of the middleware)', function () {
  this.timeout(30_000)
  const suite = redisPerSuite()
  const { cleanups } = suite

  const setup = (options: Partial<WebhookOptions<MusementOrderItemEvent>> = {}) => {
    const { client } = suite.current()
    const queue = handOffQueue(freshQueueName('http'), client)
    cleanups.push(() => queue.obliterate({ force: true }).then(() => queue.close()))
    const store = redisStore({ client, prefix: `${queue.name}:` })
    const outcomes: Outcome[] = []
    const app = express()
    app.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store, handOff: bullmqHandOff(queue), onOutcome: (o) => void outcomes.push(o), ...options }))
    return { app, queue, store, outcomes }
  }

  const jobsIn = async (queue: Queue<HandOffJobData>) => (await queue.getJobs()).map((j) => j.id)

  const startWorker = (queue: Queue<HandOffJobData>, store: DeliveryStore, handler: (e: MusementOrderItemEvent) => Promise<void> | void): Worker => {
    const { redis } = suite.current()
    const worker = startHandOffWorker({ queue: queue.name, connection: workerConnection(redis.url), codec: MusementOrderItem, store, handler })
    cleanups.push(() => worker.close())
    return worker
  }

  it('answers 200 queued once the job exists; the job carries the wire form, the raw body and the time received', async () => {
    const { app, queue, outcomes } = setup()
    const body = JSON.stringify({ ...musement(22), extra: 'dropped by the codec' })
    const before = Date.now()
    const res = await postDelivery(app, PATH, body, AUTH)
    const after = Date.now()
    expect(res.status).to.equal(200)
    expect(jsonOf(res)).to.deep.equal({ status: 'queued' })
    expect(await jobsIn(queue)).to.deep.equal([jobIdOf(22)])
    const job = await queue.getJob(jobIdOf(22))
    expect(job?.name).to.equal('musement')
    expect(job?.data).to.include({ partner: 'musement', key: `musement:${ITEM}:22`, scope: `musement:${ITEM}`, version: 22, rawBody: body })
    expect(job?.data.receivedAt).to.be.within(before, after)
    // The wire form decodes with the partner's codec to the event the middleware decoded from the body.
    const fromJob = MusementOrderItem.decode(job?.data.event)
    const fromBody = MusementOrderItem.decode(JSON.parse(body))
    expect(E.isRight(fromJob) && E.isRight(fromBody) && fromJob.right).to.deep.equal(E.isRight(fromBody) && fromBody.right)
    expect(job?.data.event).not.to.have.property('extra')
    expect(job?.opts).to.include({ attempts: 10, removeOnFail: false })
    expect(outcomes.map((o) => [o.outcome, o.status, o.key])).to.deep.equal([['queued', 200, `musement:${ITEM}:22`]])
  })

  it('queues a copy sent again before any worker ran as the same single job', async () => {
    const { app, queue } = setup()
    const answers = await Promise.all([1, 2, 3].map(() => postDelivery(app, PATH, musement(22), AUTH)))
    expect(answers.map((a) => [a.status, jsonOf(a)])).to.deep.equal(Array(3).fill([200, { status: 'queued' }]))
    expect(await jobsIn(queue)).to.deep.equal([jobIdOf(22)])
    expect(await queue.getJobCounts('waiting')).to.deep.equal({ waiting: 1 })
  })

  it('answers a delivery the worker completed 200 duplicate without a job, even once the completed job is gone', async () => {
    const { app, queue, store, outcomes } = setup()
    const handled: number[] = []
    startWorker(queue, store, (e) => void handled.push(e.order_item_version))
    await postDelivery(app, PATH, musement(22), AUTH)
    await drained(queue)
    await queue.clean(0, 100, 'completed')
    expect(await jobsIn(queue)).to.deep.equal([])
    const copy = await postDelivery(app, PATH, musement(22), AUTH)
    expect([copy.status, jsonOf(copy)]).to.deep.equal([200, { status: 'duplicate' }])
    expect(await jobsIn(queue)).to.deep.equal([])
    expect(handled).to.deep.equal([22])
    expect(outcomes.map((o) => o.outcome)).to.deep.equal(['queued', 'duplicate'])
  })

  it("answers an older version after a newer one was handled 200 stale without a job ('skip')", async () => {
    const { app, queue, store } = setup()
    startWorker(queue, store, () => undefined)
    await postDelivery(app, PATH, musement(23), AUTH)
    await drained(queue)
    const older = await postDelivery(app, PATH, musement(22), AUTH)
    expect([older.status, jsonOf(older)]).to.deep.equal([200, { status: 'stale' }])
    expect(await queue.getJob(jobIdOf(22))).to.equal(undefined)
  })

  it("queues an older version with staleVersions 'deliver', for the worker to deliver flagged", async () => {
    const { app, queue, store } = setup({ staleVersions: 'deliver' })
    startWorker(queue, store, () => undefined)
    await postDelivery(app, PATH, musement(23), AUTH)
    await drained(queue)
    const older = await postDelivery(app, PATH, musement(22), AUTH)
    expect([older.status, jsonOf(older)]).to.deep.equal([200, { status: 'queued' }])
    expect(await queue.getJob(jobIdOf(22))).not.to.equal(undefined)
  })

  it('queues (never 409) while a worker handles the same item; the same version stays one job', async () => {
    const { app, queue, store } = setup()
    const release = deferred()
    const started = deferred()
    startWorker(queue, store, async () => {
      started.resolve()
      await release.promise
    })
    await postDelivery(app, PATH, musement(22), AUTH)
    await started.promise
    const same = await postDelivery(app, PATH, musement(22), AUTH)
    const newer = await postDelivery(app, PATH, musement(23), AUTH)
    release.resolve()
    expect([same.status, jsonOf(same), newer.status, jsonOf(newer)]).to.deep.equal([200, { status: 'queued' }, 200, { status: 'queued' }])
    expect((await jobsIn(queue)).sort()).to.deep.equal([jobIdOf(22), jobIdOf(23)])
  })

  it('answers 503 webhook.queue.unavailable while the queue cannot take the job, and queues the retry once it can', async () => {
    suite.current()
    const queueRedis = await startRedis()
    cleanups.push(() => queueRedis.stop())
    const queueClient = await connectClient(queueRedis.url)
    cleanups.push(async () => queueClient.disconnect())
    const queue = handOffQueue(freshQueueName('down'), queueClient)
    const store = memoryStore()
    const app = express()
    app.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store, handOff: bullmqHandOff(queue) }))
    await queueRedis.down()
    const refused = await postDelivery(app, PATH, musement(22), AUTH)
    expect(refused.status).to.equal(503)
    expect(refused.headers['retry-after']).to.equal('5')
    expect(problemOf(refused).type).to.equal('webhook.queue.unavailable')
    await queueRedis.up()
    await waitFor('the queue client to reconnect', async () => (queueClient.status === 'ready' ? true : undefined))
    const retried = await postDelivery(app, PATH, musement(22), AUTH)
    expect([retried.status, jsonOf(retried)]).to.deep.equal([200, { status: 'queued' }])
    expect(await jobsIn(queue)).to.deep.equal([jobIdOf(22)])
    await queue.close()
  })

  it('answers 503 when the queue does not acknowledge within timeoutMs (a hung Redis)', async () => {
    const queueRedis = await startRedis()
    cleanups.push(() => queueRedis.stop())
    const queueClient = await connectClient(queueRedis.url)
    cleanups.push(async () => queueClient.disconnect())
    const queue = handOffQueue(freshQueueName('hung'), queueClient)
    const app = express()
    app.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store: memoryStore(), handOff: bullmqHandOff(queue, { timeoutMs: 200 }) }))
    queueRedis.pause()
    try {
      const refused = await postDelivery(app, PATH, musement(22), AUTH)
      expect([refused.status, problemOf(refused).type]).to.deep.equal([503, 'webhook.queue.unavailable'])
    } finally {
      queueRedis.resume()
    }
  })

  it('answers 503 webhook.store.unavailable without a job while the store cannot be reached', async () => {
    suite.current()
    const storeRedis = await startRedis()
    cleanups.push(() => storeRedis.stop())
    const storeClient = await connectClient(storeRedis.url)
    cleanups.push(async () => storeClient.disconnect())
    const { app, queue } = setup({ store: redisStore({ client: storeClient }) })
    await storeRedis.down()
    const refused = await postDelivery(app, PATH, musement(22), AUTH)
    expect([refused.status, problemOf(refused).type]).to.deep.equal([503, 'webhook.store.unavailable'])
    expect(await jobsIn(queue)).to.deep.equal([])
  })

  it('keeps the raw body out of the job when a body parser left only an object, and queues it all the same', async () => {
    const { client } = suite.current()
    const queue = handOffQueue(freshQueueName('parsed'), client)
    cleanups.push(() => queue.obliterate({ force: true }).then(() => queue.close()))
    const app = express()
    app.post(PATH, express.json(), musementOrderItem({ credentials: CREDENTIALS, store: memoryStore(), handOff: bullmqHandOff(queue) }))
    expect((await postDelivery(app, PATH, musement(22), AUTH)).status).to.equal(200)
    const job = await queue.getJob(jobIdOf(22))
    expect(job?.data).to.include({ key: `musement:${ITEM}:22` }).and.not.to.have.property('rawBody')
  })

  it("queues About You events from aboutYouShipment([...events], { handOff }) in their own wire form", async () => {
    const { client } = suite.current()
    const queue = handOffQueue(freshQueueName('aboutyou'), client)
    cleanups.push(() => queue.obliterate({ force: true }).then(() => queue.close()))
    const app = express()
    const events = ['order_items.shipped', 'order_items.returned'] as const
    app.post(PATH, aboutYouShipment(events, { apiKeys: 'k', store: memoryStore(), handOff: bullmqHandOff(queue) }))
    const body = aboutYouOrderItemsFixture('order_items.returned', { id: 7, subscription_id: 3 })
    expect(jsonOf(await postDelivery(app, PATH, body, apiKeyHeader('k')))).to.deep.equal({ status: 'queued' })
    const job = await queue.getJob(handOffJobId('aboutyou', 'order_items.returned:3:7'))
    expect(job?.data).to.include({ partner: 'aboutyou', key: 'order_items.returned:3:7', scope: 'order_items.returned:3:7' })
    expect(job?.data).not.to.have.property('version')
    const decoded = AboutYouOrderItemsEvent.decode(job?.data.event)
    expect(E.isRight(decoded) && decoded.right.event).to.equal('order_items.returned')
  })

  describe('options', () => {
    const handOff = bullmqHandOff({ name: 'q', add: () => Promise.resolve() })

    it('refuses `handler` together with `handOff` at factory time, naming the fix', () => {
      expect(() => musementOrderItem({ credentials: CREDENTIALS, handOff, handler: () => undefined })).to.throw(
        TypeError,
        'musementOrderItem: pass `handler` or `handOff`, not both'
      )
    })

    it('refuses a handOff without enqueue, and aboutYouWebhooks with a handOff (its handlers would never run)', () => {
      // @ts-expect-error -- not a HandOff: no enqueue method
      expect(() => musementOrderItem({ credentials: CREDENTIALS, handOff: { add: () => undefined } })).to.throw(TypeError, 'enqueue(job)')
      const onEvent = () => undefined
      // @ts-expect-error -- aboutYouWebhooks has no handOff option
      expect(() => aboutYouWebhooks({ 'order_items.shipped': onEvent }, { apiKeys: 'k', handOff })).to.throw(TypeError, 'aboutYouShipment([')
    })

    it('refuses bad bullmqHandOff options, and leaves frozen options alone', () => {
      const queue = { name: 'q', add: () => Promise.resolve() }
      expect(() => bullmqHandOff(queue, { attempts: 0 })).to.throw(TypeError, '`attempts` must be a positive whole number')
      // @ts-expect-error -- a typo
      expect(() => bullmqHandOff(queue, { attempt: 3 })).to.throw(TypeError, 'Did you mean `attempts`?')
      // @ts-expect-error -- not a backoff
      expect(() => bullmqHandOff(queue, { backoff: 'soon' })).to.throw(TypeError, '`backoff`')
      // @ts-expect-error -- not a queue
      expect(() => bullmqHandOff({})).to.throw(TypeError, 'expected a BullMQ Queue')
      const frozen = Object.freeze({ attempts: 3, backoff: Object.freeze({ type: 'fixed', delay: 10 }) })
      expect(() => bullmqHandOff(queue, frozen)).not.to.throw()
    })
  })
})
