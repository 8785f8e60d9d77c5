// Child process of spec/integration/crash.spec.ts: one app instance with both partners mounted on one store, which
// the spec kills with SIGKILL at random moments. Each handler inserts one row per event into `effects` and then takes
// 0-50 ms (seeded per attempt), the window in which a kill lands mid-handler.
//   CRASH_STORE=postgres  the row is written in the delivery's transaction (postgresStore)
//   CRASH_STORE=redis     the row is written in its own autocommit statement, the delivery recorded in Redis
// Environment: CRASH_STORE, DATABASE_URL, REDIS_URL (redis), SEED, LEASE_MS.
// IPC: the process says `ready` once started and listens when told `listen` (the port of the instance it starts as or
// replaces); then it reports `listening`, `enter` when a handler starts and `leave` once that request has ended.
import type { ErrorRequestHandler, Express } from 'express'
import type { IncomingHttpHeaders } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { DeliveryStore } from '../../lib/core/delivery.js'
import type { Outcome } from '../../lib/core/types.js'
import { aboutYouWebhooks } from '../../lib/partners/aboutyou/middleware.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { postgresStore } from '../../lib/stores/postgres.js'
import { redisStore } from '../../lib/stores/redis.js'
import * as E from 'fp-ts/lib/Either.js'
import { ListenCommand, type CrashMessage } from './crash-messages.js'
import { express } from './express.js'
import { ABOUT_YOU_API_KEY, ABOUT_YOU_PATH, ATTEMPT_HEADER, chance, MUSEMENT_CREDENTIALS, MUSEMENT_PATH } from './simulated-partner.js'

const setting = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`crash-app: ${name} is not set`)
  return value
}

const seed = Number(setting('SEED'))
let instance = -1
const leaseMs = Number(setting('LEASE_MS'))
const pool = new pg.Pool({ connectionString: setting('DATABASE_URL'), max: 40 })
// An idle pooled connection that Postgres closes reports here; unheard, it would crash the instance.
pool.on('error', () => undefined)

const send = (message: CrashMessage): void => void process.send?.(message)

interface Queryable {
  query(text: string, values: ReadonlyArray<unknown>): Promise<unknown>
}

interface Item {
  readonly uuid: string
  readonly version: number
}

/** The handler's work: one effect row, then a pause of 0-50 ms. `db` decides where the row is written. */
const work = async (db: Queryable, key: string, headers: IncomingHttpHeaders, item?: Item): Promise<void> => {
  send({ type: 'enter', key })
  await db.query('INSERT INTO effects (key, item, version, instance) VALUES ($1, $2, $3, $4)', [key, item?.uuid ?? null, item?.version ?? null, instance])
  await sleep(chance(seed, `delay:${String(headers[ATTEMPT_HEADER])}`) * 50)
}

const itemOf = (event: { order_item_uuid: string; order_item_version: number }): Item => ({
  uuid: event.order_item_uuid.toLowerCase(),
  version: event.order_item_version
})

const common = { leaseMs, onOutcome: (o: Outcome) => void (o.key === undefined ? undefined : send({ type: 'leave', key: o.key })) }

const withPostgres = (app: Express): void => {
  const store = postgresStore({ pool })
  app.post(MUSEMENT_PATH, musementOrderItem({
    credentials: MUSEMENT_CREDENTIALS,
    store,
    ...common,
    handler: (event, req, _res, delivery) => work(store.transaction(delivery), delivery.key, req.headers, itemOf(event))
  }))
  const aboutYou = (_event: unknown, req: { readonly headers: IncomingHttpHeaders }, _res: unknown, delivery: { key: string }) =>
    work(store.transaction(delivery), delivery.key, req.headers)
  app.post(ABOUT_YOU_PATH, aboutYouWebhooks(
    { 'order_items.shipped': aboutYou, 'order_items.cancelled': aboutYou, 'order_items.returned': aboutYou },
    { apiKeys: ABOUT_YOU_API_KEY, store, ...common }
  ))
}

const withRedis = async (app: Express): Promise<void> => {
  const client = new Redis(setting('REDIS_URL'), { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true })
  client.on('error', () => undefined)
  await client.connect()
  const store: DeliveryStore = redisStore({ client, prefix: 'crash:' })
  app.post(MUSEMENT_PATH, musementOrderItem({
    credentials: MUSEMENT_CREDENTIALS,
    store,
    ...common,
    handler: (event, req, _res, delivery) => work(pool, delivery.key, req.headers, itemOf(event))
  }))
  const aboutYou = (_event: unknown, req: { readonly headers: IncomingHttpHeaders }, _res: unknown, delivery: { key: string }) =>
    work(pool, delivery.key, req.headers)
  app.post(ABOUT_YOU_PATH, aboutYouWebhooks(
    { 'order_items.shipped': aboutYou, 'order_items.cancelled': aboutYou, 'order_items.returned': aboutYou },
    { apiKeys: ABOUT_YOU_API_KEY, store, ...common }
  ))
}

const main = async (): Promise<void> => {
  const app = express()
  if (setting('CRASH_STORE') === 'postgres') withPostgres(app)
  else await withRedis(app)
  const onError: ErrorRequestHandler = (_err, _req, res, _next) => void res.status(500).json({ error: 'handler failed' })
  app.use(onError)
  process.on('message', (raw: unknown) => {
    const command = ListenCommand.decode(raw)
    if (E.isLeft(command)) return
    instance = command.right.instance
    const server = app.listen(command.right.port, '127.0.0.1', () => send({ type: 'listening' }))
    // Longer than a run, so the partner never reuses a socket the server is just closing.
    server.keepAliveTimeout = 60_000
  })
  send({ type: 'ready' })
}

// No top-level await: the spec bundles this file as CommonJS, which starts faster.
main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
