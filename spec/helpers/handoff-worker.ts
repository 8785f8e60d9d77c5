// A hand-off worker in its own process, for the specs that SIGKILL one (spec/handoff/worker.spec.ts,
// spec/integration/handoff-chaos.spec.ts). Started with fork(): it runs one startHandOffWorker per partner queue
// named in WORKER_CONFIG, writes what its handlers do to a Redis list (which outlives the process, unlike anything
// it could send to its parent), says `ready` over IPC, and exits when its parent goes away.
import type { Worker } from 'bullmq'
import * as E from 'fp-ts/lib/Either.js'
import { setTimeout as sleep } from 'node:timers/promises'
import type { HandOffDelivery, HandOffOutcome } from '../../lib/handoff/worker.js'
import { startHandOffWorker } from '../../lib/handoff/worker.js'
import { AboutYouOrderItemsEvent } from '../../lib/partners/aboutyou/codec.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import { redisStore } from '../../lib/stores/redis.js'
import { connectClient, workerConnection } from './handoff.js'
import { WorkerConfig, type LedgerEntry } from './handoff-children.js'
import { chance } from './simulated-partner.js'

const main = async (): Promise<void> => {
  const config = WorkerConfig.decode(JSON.parse(process.env.WORKER_CONFIG ?? 'null'))
  if (E.isLeft(config)) throw new Error('WORKER_CONFIG is missing or invalid')
  const c = config.right
  const client = await connectClient(c.redisUrl)
  const store = redisStore({ client, prefix: c.storePrefix })
  const write = (entry: LedgerEntry) => client.rpush(c.ledger, JSON.stringify(entry))

  const handle = async (delivery: HandOffDelivery, item?: { uuid: string; version: number }): Promise<void> => {
    const call = await client.incr(`${c.ledger}:calls:${delivery.key}`)
    const base = { key: delivery.key, pid: process.pid, call, jobId: delivery.jobId, attempt: delivery.attempt }
    const about = item === undefined ? {} : { item: item.uuid, version: item.version }
    await write({ kind: 'start', ...base })
    if (c.mode === 'hang') return new Promise<void>(() => undefined)
    await sleep(chance(c.seed, `delay:${delivery.key}:${call}`) * (c.maxDelayMs ?? 2000))
    const doomed = (c.doomed ?? []).includes(delivery.key) && (await client.exists(`${c.ledger}:replaying`)) === 0
    // Only a key's first `failingCalls` calls may fail: a replay of a dead letter (later calls) then succeeds.
    if (doomed || (call <= (c.failingCalls ?? Infinity) && chance(c.seed, `fail:${delivery.key}:${call}`) < (c.failureRate ?? 0))) {
      await write({ kind: 'failed', ...base, ...about })
      throw new Error(`injected failure (${delivery.key}, call ${call})`)
    }
    await write({ kind: 'handled', ...base, ...about, stale: delivery.stale })
  }

  const onOutcome = (o: HandOffOutcome): void => {
    if (o.outcome !== 'processed') return
    void write({ kind: 'completed', key: o.key, pid: process.pid, call: 0, jobId: o.jobId, attempt: o.attempt })
    // The completion is recorded in the store; dying now, before BullMQ marks the job completed, leaves the job to
    // be taken up again by another worker.
    if (c.mode === 'die-after-complete') process.kill(process.pid, 'SIGKILL')
  }

  const common = {
    connection: workerConnection(c.redisUrl),
    store,
    leaseMs: c.leaseMs,
    concurrency: c.concurrency,
    busyRetryMs: 100,
    onOutcome,
    onError: () => undefined,
    ...(c.lockDuration === undefined ? {} : { lockDuration: c.lockDuration }),
    ...(c.stalledInterval === undefined ? {} : { stalledInterval: c.stalledInterval }),
    ...(c.maxStalledCount === undefined ? {} : { maxStalledCount: c.maxStalledCount })
  }
  const workers: Worker[] = [
    startHandOffWorker({
      ...common,
      queue: c.queues.musement,
      codec: MusementOrderItem,
      handler: (event, delivery) => handle(delivery, { uuid: event.order_item_uuid.toLowerCase(), version: event.order_item_version })
    })
  ]
  if (c.queues.aboutyou !== null) {
    workers.push(startHandOffWorker({ ...common, queue: c.queues.aboutyou, codec: AboutYouOrderItemsEvent, handler: (_event, delivery) => handle(delivery) }))
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()))
  process.send?.({ type: 'ready', pid: process.pid })
  process.on('disconnect', () => void Promise.all(workers.map((w) => w.close())).finally(() => process.exit(0)))
}

main().catch((err: unknown) => {
  process.stderr.write(`handoff-worker: ${String(err)}\n`)
  process.exit(1)
})
