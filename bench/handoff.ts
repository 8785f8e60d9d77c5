import { Queue } from 'bullmq'
import express from 'express'
import * as t from 'io-ts'
import { Redis } from 'ioredis'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { realpathSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { bullmqHandOff, startHandOffWorker, type HandOffJobData } from '../lib/handoff/index.js'
import { MusementOrderItem, musementOrderItem, redisStore } from '../lib/index.js'
import { startRedis } from '../spec/helpers/redis-server.js'
import { MUSEMENT_CREDENTIALS, MUSEMENT_PATH } from './bodies.js'
import { forkBench, nextMessage, stop } from './children.js'
import { load, type HttpSettings } from './http.js'
import { fixed, grouped, ratio, table } from './report.js'
import { listen } from './servers/common.js'

// Issue 14: what hand-off buys the partner. Two servers, each in its own process, share one local redis-server
// and the redisStore: the Musement route in hand-off mode (no worker runs while it is measured, so the queue only
// grows), and the same route inline with a handler that takes 2 s. autocannon sends each the same new deliveries.
// Then a worker process with a no-op handler empties the queue the hand-off route filled: jobs per second.
//
// `npm run bench -- --only=handoff`. This file is also the child processes: `handoff.ts serve handoff|inline` and
// `handoff.ts work`.

const QUEUE = 'bench-handoff'
const SLOW_HANDLER_MS = 2000
const WORKER_CONCURRENCY = 50

const Listening = t.type({ type: t.literal('listening'), port: t.number })
const Cpu = t.type({ type: t.literal('cpu'), user: t.number, system: t.number })
const Worked = t.type({ type: t.literal('worked'), jobs: t.number, seconds: t.number, processed: t.number })

const connect = async (url: string): Promise<Redis> => {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  await once(client, 'ready')
  return client
}

const serve = async (mode: string, url: string): Promise<void> => {
  const client = await connect(url)
  const store = redisStore({ client, prefix: 'bench:' })
  const app = express()
  const common = { credentials: MUSEMENT_CREDENTIALS, store }
  if (mode === 'handoff') {
    app.post(MUSEMENT_PATH, musementOrderItem({ ...common, handOff: bullmqHandOff(new Queue<HandOffJobData>(QUEUE, { connection: client })) }))
  } else {
    app.post(MUSEMENT_PATH, musementOrderItem({ ...common, handler: () => sleep(SLOW_HANDLER_MS) }))
  }
  await listen(app)
}

/** Empties the queue with a no-op handler and reports how long that took. */
const work = async (url: string): Promise<void> => {
  const client = await connect(url)
  const queue = new Queue<HandOffJobData>(QUEUE, { connection: client })
  const jobs = await queue.getWaitingCount()
  let processed = 0
  const started = performance.now()
  const worker = startHandOffWorker({
    queue: QUEUE,
    connection: { url, maxRetriesPerRequest: null },
    codec: MusementOrderItem,
    store: redisStore({ client, prefix: 'bench:' }),
    concurrency: WORKER_CONCURRENCY,
    handler: () => undefined,
    onOutcome: (o) => void (o.outcome === 'processed' ? processed++ : undefined)
  })
  for (;;) {
    const left = await queue.getJobCountByTypes('waiting', 'active', 'delayed')
    if (left === 0) break
    await sleep(20)
  }
  const seconds = (performance.now() - started) / 1000
  await worker.close()
  await queue.close()
  client.disconnect()
  process.send?.({ type: 'worked', jobs, seconds, processed })
  process.disconnect()
}

interface Row {
  readonly label: string
  readonly acks: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
  /** The server process's user + system CPU per acknowledged delivery, in microseconds. */
  readonly cpuUs: number
}

const cpuOf = async (child: ChildProcess): Promise<number> => {
  const answer = nextMessage(child, Cpu, 'bench server')
  child.send({ type: 'cpu' })
  const { user, system } = await answer
  return user + system
}

const percentile = (sorted: ReadonlyArray<number>, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

/** The section `npm run bench` prints: acknowledgement latency and rate, then worker throughput. */
export const handoffSection = async (quick: boolean, out: (line?: string) => void, progress: (line: string) => void): Promise<void> => {
  const seconds = quick ? 3 : 10
  const settings: HttpSettings = { connections: 10, pipelining: 1, warmupSeconds: 0, seconds, rounds: 1 }
  const redis = await startRedis()
  const children: ChildProcess[] = []
  try {
    const rows: Row[] = []
    for (const mode of ['handoff', 'inline'] as const) {
      const child = forkBench('handoff.ts', ['serve', mode], [], { REDIS_URL: redis.url, PORT: '0', NODE_ENV: 'production' })
      children.push(child)
      const { port } = await nextMessage(child, Listening, `${mode} server`)
      progress(`  hand-off: ${mode} route, ${seconds} s`)
      const cpuBefore = await cpuOf(child)
      const { result, latencies } = await load(port, 'musement', seconds, settings)
      const cpu = (await cpuOf(child)) - cpuBefore
      const sorted = [...latencies].sort((a, b) => a - b)
      const label = mode === 'handoff' ? 'hand-off (bullmqHandOff, redisStore)' : `inline handler taking ${SLOW_HANDLER_MS / 1000} s (redisStore)`
      rows.push({ label, acks: sorted.length, rps: sorted.length / result.duration, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), errors: result.errors + result.timeouts + result.non2xx, cpuUs: cpu / sorted.length })
      await stop(child)
    }
    progress('  hand-off: worker draining the queue')
    const worker = forkBench('handoff.ts', ['work'], [], { REDIS_URL: redis.url })
    children.push(worker)
    const w = await nextMessage(worker, Worked, 'hand-off worker')

    out(`## Hand-off (Musement route, autocannon, 127.0.0.1, ${settings.connections} connections, ${seconds} s per route, one local redis-server)`)
    out()
    out('Every request is a new delivery. The hand-off route answers once BullMQ has the job (no worker runs meanwhile);')
    out(`the inline route answers after its handler (${SLOW_HANDLER_MS / 1000} s). Both claim and record deliveries in redisStore.`)
    out('The inline route\'s rate is its connections divided by the handler time: the partner\'s connections are held.')
    out('Server CPU is the server process\'s user + system time per acknowledgement, steadier than latency on a shared machine.')
    out()
    const inline = rows.find((r) => r.label.startsWith('inline'))
    out(table(
      ['route', 'acks/s', 'x inline', 'ack p50 ms', 'ack p99 ms', 'server CPU us/ack', 'acknowledged', 'non-2xx + errors'],
      rows.map((r) => [r.label, fixed(r.rps, 1), ratio(r.rps, inline?.rps ?? NaN), fixed(r.p50, 2), fixed(r.p99, 2), fixed(r.cpuUs, 0), grouped(r.acks), String(r.errors)])
    ))
    out()
    out(`Worker: one process, startHandOffWorker with a no-op handler, concurrency ${WORKER_CONCURRENCY}, emptying the ${grouped(w.jobs)} jobs`)
    out('the hand-off route queued (claim, handler, complete in redisStore; BullMQ moves each job to completed).')
    out()
    out(table(['jobs', 'processed', 'seconds', 'jobs/s'], [[grouped(w.jobs), grouped(w.processed), fixed(w.seconds, 2), fixed(w.jobs / w.seconds, 0)]]))
    out()
  } finally {
    await Promise.all(children.map(stop))
    await redis.stop()
  }
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
if (isMain) {
  const url = process.env.REDIS_URL ?? ''
  process.on('disconnect', () => process.exit(0))
  if (process.argv[2] === 'serve') await serve(process.argv[3] ?? 'handoff', url)
  else if (process.argv[2] === 'work') await work(url)
}
