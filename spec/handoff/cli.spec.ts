import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { bullmqHandOff } from '../../lib/handoff/bullmq.js'
import { handOffJobId, type HandOffJobData } from '../../lib/handoff/job.js'
import { startHandOffWorker } from '../../lib/handoff/worker.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { redisStore } from '../../lib/stores/redis.js'
import { postDelivery } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'
import { AUTH, CREDENTIALS, connectClient, drained, freshQueueName, handOffQueue, ITEM, musement, PATH, workerConnection } from '../helpers/handoff.js'
import { startRedis, type TestRedis } from '../helpers/redis-server.js'

// `npx express-partner-webhooks replay ...`, run as users run it: a separate process against a real Redis.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = 'lib/handoff/cli.ts'
const JOB = (version: number) => handOffJobId('musement', `musement:${ITEM}:${version}`)

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the command; a run that did not exit by itself (time bound, signal) rejects, saying so. */
const cli = (args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) return resolve({ code: 0, stdout, stderr })
      if (typeof error.code === 'number') return resolve({ code: error.code, stdout, stderr })
      reject(new Error(`${args.join(' ')}: did not exit by itself (${error.signal ?? String(error.code)}): ${stderr}`))
    })
  })

describe('handoff/cli (express-partner-webhooks replay)', function () {
  this.timeout(60_000)
  let redis: TestRedis | undefined
  let client: Redis | undefined
  let queue: Queue<HandOffJobData> | undefined
  const state = { failing: true }
  const handled: number[] = []
  const cleanups: Array<() => Promise<unknown>> = []

  // Dead letters for versions 21 and 22 of one item; the worker keeps running and succeeds once `failing` is false.
  before(async () => {
    redis = await startRedis()
    client = await connectClient(redis.url)
    const q = handOffQueue(freshQueueName('cli'), client)
    queue = q
    cleanups.push(() => q.close())
    const store = redisStore({ client, prefix: `${q.name}:` })
    const worker = startHandOffWorker({
      queue: q.name,
      connection: workerConnection(redis.url),
      codec: MusementOrderItem,
      store,
      handler: (event) => {
        if (state.failing) throw new Error('the downstream system is down')
        handled.push(event.order_item_version)
      }
    })
    cleanups.push(() => worker.close())
    const app = express()
    app.post(PATH, musementOrderItem({ credentials: CREDENTIALS, store, handOff: bullmqHandOff(q, { attempts: 1 }) }))
    for (const v of [21, 22]) await postDelivery(app, PATH, musement(v, ITEM), AUTH)
    await drained(q)
  })

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    client?.disconnect()
    await redis?.stop()
  })

  const base = () => ['replay', '--redis', redis?.url ?? '', '--queue', queue?.name ?? '']

  it('--list prints each dead letter with its key, attempts and reason', async () => {
    const run = await cli([...base(), '--list'])
    expect(run.code, run.stderr).to.equal(0)
    const lines = run.stdout.trim().split('\n')
    expect(lines.at(-1)).to.equal(`2 dead letter(s) in ${queue?.name}`)
    const rows = lines.slice(0, -1).map((l) => l.split('\t'))
    expect(rows.map((r) => [r[0], r[1], r[2], r[4]]).sort()).to.deep.equal([
      [JOB(21), `musement:${ITEM}:21`, 'attempts=1', 'the downstream system is down'],
      [JOB(22), `musement:${ITEM}:22`, 'attempts=1', 'the downstream system is down']
    ])
  })

  it('refuses a wrong call with the usage and exit code 2, and says why when Redis cannot be reached (exit 1)', async () => {
    // Independent runs, started together: each is a node start-up.
    const wrongCalls = [[...base(), '--list', '--all'], ['replay', '--nonsense']]
    const [help, unreachable, ...wrong] = await Promise.all([
      cli(['--help']),
      cli(['replay', '--redis', 'redis://127.0.0.1:1', '--queue', 'q', '--list']),
      ...wrongCalls.map(cli)
    ])
    for (const [i, run] of wrong.entries()) {
      expect([run.code, run.stderr.includes('usage: express-partner-webhooks replay')], wrongCalls[i]?.join(' ')).to.deep.equal([2, true])
    }
    expect([help?.code, help?.stdout.startsWith('usage: express-partner-webhooks replay')]).to.deep.equal([0, true])
    expect(unreachable?.code).to.equal(1)
    expect(unreachable?.stderr).to.match(/^express-partner-webhooks replay: .*ECONNREFUSED/)
  })

  it('--id puts that one back (exit 1 when an id is not a dead letter), then --all the rest; each is handled once', async () => {
    state.failing = false
    const one = await cli([...base(), '--id', JOB(21), '--id', 'no-such-job'])
    expect([one.code, one.stdout]).to.deep.equal([1, `replayed\t${JOB(21)}\nnot a dead letter\tno-such-job\n1 replayed, 1 not dead letters\n`])
    if (queue === undefined) return expect.fail('no queue')
    await drained(queue)
    expect(handled).to.deep.equal([21])
    const all = await cli([...base(), '--all'])
    expect([all.code, all.stdout]).to.deep.equal([0, `replayed\t${JOB(22)}\n1 replayed, 0 not dead letters\n`])
    await drained(queue)
    expect(handled).to.deep.equal([21, 22])
    expect(await queue.getFailedCount()).to.equal(0)
  })
})
