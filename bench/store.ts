import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import pg from 'pg'
import * as E from 'fp-ts/lib/Either.js'
import { aboutYouEventCodec, MusementOrderItem } from '../lib/index.js'
import type { DeliveryKey, DeliveryStore } from '../lib/core/delivery.js'
import { musementDeliveryKey } from '../lib/partners/musement/middleware.js'
import { memoryStore } from '../lib/stores/memory.js'
import { postgresStore } from '../lib/stores/postgres.js'
import { redisStore } from '../lib/stores/redis.js'
import { aboutYouBody, musementBody, PARTNERS, type Partner } from './bodies.js'
import type { MemoryMessage, PostgresCycle, PostgresMessage, RedisMessage } from './results.js'

// Child process, three modes:
//   memory <entries> <partner>     (needs --expose-gc)  heap + ArrayBuffer bytes per remembered delivery in memoryStore
//   redis <seconds>                (needs REDIS_URL)    claim + complete cycles per second through redisStore
//   postgres <seconds> <on|off>    (needs DATABASE_URL) cycles per second through postgresStore, with the session's
//                                                       synchronous_commit on (COMMIT waits for the WAL flush) or off

const shipped = aboutYouEventCodec(['order_items.shipped'])

// The About You middleware's key (lib/partners/aboutyou/middleware.ts, not exported): event, subscription, message id.
const aboutYouKey = (event: { event: string; subscription_id?: number | null; id: number }): DeliveryKey => {
  const key = `${event.event}:${event.subscription_id ?? 'none'}:${event.id}`
  return { key, scope: key }
}

/** Delivery `n`'s key as the middleware computes it: from the decoded body, so the strings are built like in traffic. */
const deliveryKey = (partner: Partner, n: number): DeliveryKey => {
  if (partner === 'musement') {
    const event = MusementOrderItem.decode(JSON.parse(musementBody(n)))
    if (E.isLeft(event)) throw new Error('the Musement bench body does not decode')
    return musementDeliveryKey(event.right)
  }
  const event = shipped.decode(JSON.parse(aboutYouBody(n)))
  if (E.isLeft(event)) throw new Error('the About You bench body does not decode')
  return aboutYouKey(event.right)
}

const deliver = async (store: DeliveryStore, d: DeliveryKey): Promise<void> => {
  const claim = await store.claim(d, 120_000)
  if (claim.status !== 'claimed') throw new Error(`delivery ${d.key} was not claimed: ${claim.status}`)
  await store.complete(d, claim.token)
}

// The heap plus ArrayBuffer backing stores: V8 keeps a typed array's contents outside the heap (memoryStore's
// tables are typed arrays), so heapUsed alone would not count them.
const memoryAfterGc = (): number => {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  for (let i = 0; i < 3; i++) gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

const memory = async (entries: number, partner: Partner): Promise<MemoryMessage> => {
  // Warm the code paths on a throwaway store first, so compiled code is not counted as store memory.
  const warm = memoryStore({ max: 1000 })
  for (let i = 0; i < 5000; i++) await deliver(warm, deliveryKey(partner, 1e12 + i))

  let before = memoryAfterGc()
  const bare = new Map<string, number>()
  let keyChars = 0
  for (let i = 0; i < entries; i++) {
    const d = deliveryKey(partner, i)
    keyChars += d.key.length
    bare.set(d.key, Date.now() + 72 * 3_600_000)
  }
  const bareMapBytes = (memoryAfterGc() - before) / entries
  bare.clear()

  before = memoryAfterGc()
  const store = memoryStore({ max: entries })
  const started = performance.now()
  for (let i = 0; i < entries; i++) await deliver(store, deliveryKey(partner, i))
  const fillSeconds = (performance.now() - started) / 1000
  const storeBytes = (memoryAfterGc() - before) / entries
  // Keep the store reachable until after the measurement.
  await store.release(deliveryKey(partner, 0), 'none')
  return { type: 'memory', partner, entries, storeBytes, bareMapBytes, keyLength: keyChars / entries, fillSeconds }
}

const percentile = (sorted: Float64Array, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

/** Runs `cycle` from `concurrency` workers for `seconds`; returns cycles per second and latency percentiles (ms). */
const drive = async (concurrency: number, seconds: number, cycle: (n: number) => Promise<void>) => {
  const latencies: number[] = []
  let n = 0
  const end = performance.now() + seconds * 1000
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now()
      await cycle(n++)
      latencies.push(performance.now() - t0)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = (performance.now() - started) / 1000
  const sorted = Float64Array.from(latencies).sort()
  return { perSecond: latencies.length / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }
}

const redis = async (seconds: number): Promise<RedisMessage> => {
  const url = process.env.REDIS_URL
  if (url === undefined) throw new Error('REDIS_URL is not set')
  const client = new Redis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 1, lazyConnect: true })
  await client.connect()
  try {
    const store = redisStore({ client, prefix: 'bench:' })
    const concurrency = 16
    // Keys built up front, so both runs measure Redis round trips and not our body decoding.
    const keys = Array.from({ length: 200_000 }, (_, i) => deliveryKey('musement', 5e11 + i))
    // A fast run wraps around the prepared keys: each lap gets its own suffix, so no key is ever claimed twice.
    const keyAt = (n: number): DeliveryKey => {
      const d = keys[n % keys.length] ?? { key: `k${n}`, scope: `k${n}` }
      const lap = Math.floor(n / keys.length)
      return lap === 0 ? d : { ...d, key: `${d.key}:lap${lap}`, scope: `${d.scope}:lap${lap}` }
    }
    let round = 0
    // Warm up both paths (script load, connection), then measure them back to back.
    await drive(concurrency, 0.5, (n) => deliver(store, { ...keyAt(n), key: `${keyAt(n).key}:w${round}` }))
    round++
    const ttl = 72 * 3_600_000
    const baseline = await drive(concurrency, seconds, async (n) => {
      const d = keyAt(n)
      await client.set(`bench-baseline:{${d.scope}}:lease:${round}`, 'token', 'PX', 120_000, 'NX')
      await client.set(`bench-baseline:{${d.scope}}:done:${d.key}:${round}`, '1', 'PX', ttl)
    })
    round++
    const ours = await drive(concurrency, seconds, (n) => {
      const d = keyAt(n)
      return deliver(store, { ...d, scope: `${d.scope}:${round}`, key: `${d.key}:${round}` })
    })
    return {
      type: 'redis',
      concurrency,
      seconds,
      storeCycles: ours.perSecond,
      baselineCycles: baseline.perSecond,
      storeP50Ms: ours.p50,
      storeP99Ms: ours.p99,
      baselineP50Ms: baseline.p50,
      baselineP99Ms: baseline.p99
    }
  } finally {
    client.disconnect()
  }
}

// Each cycle is a new delivery (its own scope and key), like the HTTP bench: nothing is ever busy or done.
const POSTGRES_CONCURRENCY = 16

const postgres = async (seconds: number, synchronousCommit: string): Promise<PostgresMessage> => {
  const url = process.env.DATABASE_URL
  if (url === undefined) throw new Error('DATABASE_URL is not set')
  const pool = new pg.Pool({ connectionString: url, max: POSTGRES_CONCURRENCY, options: `-c synchronous_commit=${synchronousCommit}` })
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_effects (key text NOT NULL)')
    await pool.query('CREATE TABLE IF NOT EXISTS bench_done (key text PRIMARY KEY, expires_at timestamptz NOT NULL)')
    const table = `bench_${synchronousCommit}`
    const store = postgresStore({ pool, table, autoPrune: false })
    await store.migrate()
    let round = 0
    const keyAt = (n: number): DeliveryKey => {
      const key = `bench:${synchronousCommit}:${round}:${n}`
      return { key, scope: key }
    }
    const effect = 'INSERT INTO bench_effects (key) VALUES ($1)'
    const cycle = (handler: boolean) => async (n: number): Promise<void> => {
      const d = keyAt(n)
      const claim = await store.claim(d, 120_000)
      if (claim.status !== 'claimed') throw new Error(`delivery ${d.key} was not claimed: ${claim.status}`)
      if (handler) await claim.transaction.query(effect, [d.key])
      await store.complete(d, claim.token)
    }
    // What an app that writes its own dedupe row in its own transaction pays at the least: no lock, no checks.
    const plain = async (n: number): Promise<void> => {
      const d = keyAt(n)
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await client.query(effect, [d.key])
        await client.query("INSERT INTO bench_done (key, expires_at) VALUES ($1, now() + interval '72 hours')", [d.key])
        await client.query('COMMIT')
      } finally {
        client.release()
      }
    }
    const runs: ReadonlyArray<readonly [string, (n: number) => Promise<void>]> = [
      ['BEGIN; INSERT effect; INSERT done key; COMMIT (plain pg, baseline)', plain],
      ['postgresStore claim + complete', cycle(false)],
      ['postgresStore claim + handler INSERT in the transaction + complete', cycle(true)]
    ]
    await drive(POSTGRES_CONCURRENCY, 0.5, cycle(true))
    const rows: PostgresCycle[] = []
    for (const [label, run] of runs) {
      round++
      const r = await drive(POSTGRES_CONCURRENCY, seconds, run)
      rows.push({ label, cycles: r.perSecond, p50Ms: r.p50, p99Ms: r.p99 })
    }
    return { type: 'postgres', concurrency: POSTGRES_CONCURRENCY, seconds, synchronousCommit, rows }
  } finally {
    await pool.end()
  }
}

const [mode, arg, partnerArg] = process.argv.slice(2)
const send = (message: MemoryMessage | RedisMessage | PostgresMessage): void => {
  if (process.send !== undefined) process.send(message)
  else console.log(JSON.stringify(message, null, 2))
}
if (mode === 'memory') {
  const partner = PARTNERS.find((p) => p === partnerArg)
  if (partner === undefined) throw new Error('usage: store.ts memory <entries> <musement|aboutyou>')
  send(await memory(Number(arg), partner))
} else if (mode === 'redis') {
  send(await redis(Number(arg ?? '3')))
} else if (mode === 'postgres') {
  send(await postgres(Number(arg ?? '3'), partnerArg === 'off' ? 'off' : 'on'))
} else {
  throw new Error('usage: store.ts memory <entries> <partner> | store.ts redis <seconds> | store.ts postgres <seconds> <on|off>')
}
// An IPC channel keeps the child alive; the work is done.
process.disconnect?.()
