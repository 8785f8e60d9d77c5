import { expect } from 'chai'
import type { Queue } from 'bullmq'
import { bullmqHandOff } from '../../lib/handoff/bullmq.js'
import { handOffJobId, type HandOffJobData } from '../../lib/handoff/job.js'
import { listDeadLetters, replayDeadLetters } from '../../lib/handoff/replay.js'
import { startHandOffWorker } from '../../lib/handoff/worker.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { redisStore } from '../../lib/stores/redis.js'
import { jsonOf, postDelivery } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'
import { AUTH, CREDENTIALS, drained, freshQueueName, handOffQueue, ITEM, musement, PATH, redisPerSuite, waitFor, workerConnection } from '../helpers/handoff.js'

const OTHER = '22222222-2222-4222-8222-222222222222'
const KEY = (version: number, item = ITEM) => `musement:${item}:${version}`
const JOB = (version: number, item = ITEM) => handOffJobId('musement', KEY(version, item))

describe('handoff/replay (dead letters)', function () {
  this.timeout(30_000)
  const suite = redisPerSuite()
  const { cleanups } = suite

  /**
   * A queue with the dead letters of `versions` of ITEM (version 30 of OTHER succeeds), a worker whose handler fails
   * for as long as `failing` is true, and a record of its successful calls.
   */
  const withDeadLetters = async (versions: ReadonlyArray<number>) => {
    const { redis, client } = suite.current()
    const queue: Queue<HandOffJobData> = handOffQueue(freshQueueName('replay'), client)
    cleanups.push(() => queue.obliterate({ force: true }).then(() => queue.close()))
    const store = redisStore({ client, prefix: `${queue.name}:` })
    const app = express()
    app.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store, handOff: bullmqHandOff(queue, { attempts: 2, backoff: 10 }) }))
    const state = { failing: true }
    const handled: string[] = []
    const worker = startHandOffWorker({
      queue: queue.name,
      connection: workerConnection(redis.url),
      codec: MusementOrderItem,
      store,
      handler: (event, delivery) => {
        if (state.failing && event.order_item_uuid === ITEM) throw new Error(`still failing: version ${event.order_item_version}`)
        handled.push(delivery.key)
      }
    })
    cleanups.push(() => worker.close())
    for (const v of versions) expect(jsonOf(await postDelivery(app, PATH, musement(v), AUTH))).to.deep.equal({ status: 'queued' })
    await postDelivery(app, PATH, musement(30, OTHER), AUTH)
    await drained(queue)
    return { queue, store, app, state, handled }
  }

  it('lists the jobs that failed their last attempt, with key, attempts and reason', async () => {
    const { queue, handled } = await withDeadLetters([21, 22])
    const letters = await listDeadLetters(queue)
    expect(letters.map((d) => d.jobId).sort()).to.deep.equal([JOB(21), JOB(22)])
    const d = letters.find((l) => l.jobId === JOB(22))
    expect(d).to.include({ partner: 'musement', key: KEY(22), attemptsMade: 2, failedReason: 'still failing: version 22' })
    expect(d?.failedAt).to.be.instanceOf(Date)
    expect(d?.receivedAt).to.be.instanceOf(Date)
    expect(handled).to.deep.equal([KEY(30, OTHER)])
    expect(await listDeadLetters(queue, 1)).to.have.length(1)
  })

  it('puts one back by id, with a full set of attempts: handled once; other ids are reported, not replayed', async () => {
    const { queue, state, handled } = await withDeadLetters([21, 22])
    state.failing = false
    const replay = await replayDeadLetters(queue, [JOB(21), 'no-such-job', JOB(30, OTHER)])
    expect(replay).to.deep.equal({ replayed: [JOB(21)], notDeadLetters: ['no-such-job', JOB(30, OTHER)] })
    await drained(queue)
    const job = await queue.getJob(JOB(21))
    expect([await job?.isCompleted(), job?.returnvalue]).to.deep.equal([true, 'processed'])
    expect(handled).to.deep.equal([KEY(30, OTHER), KEY(21)])
    expect((await listDeadLetters(queue)).map((d) => d.jobId)).to.deep.equal([JOB(22)])
  })

  it("puts every dead letter back ('all'); a replayed job that fails again uses its attempts again", async () => {
    const { queue, state, handled } = await withDeadLetters([21, 22, 23])
    const again = await replayDeadLetters(queue, 'all')
    expect([...again.replayed].sort()).to.deep.equal([JOB(21), JOB(22), JOB(23)])
    await waitFor('the replays to fail again', async () => ((await listDeadLetters(queue)).length === 3 ? true : undefined))
    expect((await listDeadLetters(queue)).map((d) => d.attemptsMade)).to.deep.equal([2, 2, 2])
    state.failing = false
    await replayDeadLetters(queue, 'all')
    await drained(queue)
    expect(await listDeadLetters(queue)).to.deep.equal([])
    // Versions of one item, all replayed at once: handled in increasing order, older ones skipped as stale.
    const versions = handled.filter((k) => k.startsWith(`musement:${ITEM}`)).map((k) => Number(k.split(':')[2]))
    expect(versions).to.deep.equal([...versions].sort((a, b) => a - b))
    expect(versions.at(-1)).to.equal(23)
    const results = await Promise.all([21, 22, 23].map(async (v) => (await queue.getJob(JOB(v)))?.returnvalue))
    expect(results.filter((r) => r === 'processed')).to.have.length(versions.length)
    expect(results.every((r) => r === 'processed' || r === 'stale')).to.equal(true)
  })

  it('does not handle again a replayed delivery that was handled since (duplicate)', async () => {
    const { queue, store, state, handled } = await withDeadLetters([22])
    // Handled meanwhile on an inline route sharing the store (say, the partner's copy reached an older deployment).
    const inline = express()
    const inlineHandled: number[] = []
    inline.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store, handler: (e) => void inlineHandled.push(e.order_item_version) }))
    expect(jsonOf(await postDelivery(inline, PATH, musement(22), AUTH))).to.deep.equal({ status: 'processed' })
    state.failing = false
    expect((await replayDeadLetters(queue, [JOB(22)])).replayed).to.deep.equal([JOB(22)])
    await drained(queue)
    expect((await queue.getJob(JOB(22)))?.returnvalue).to.equal('duplicate')
    expect([handled, inlineHandled]).to.deep.equal([[KEY(30, OTHER)], [22]])
  })
})
