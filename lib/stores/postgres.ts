import { randomUUID } from 'node:crypto'
import type { Claim, DeliveryKey, TransactionalStore } from '../core/delivery.js'
import { assertKnownKeys, assertOptionsObject, optionError, positiveInteger } from '../core/options.js'
import { DEFAULT_RETENTION_MS, leaseLength, markVersion } from './options.js'
import { asError, resultsOf, type PostgresClient, type PostgresPool, type PostgresResult } from './postgres/client.js'
import { migrate, prune, type PruneResult } from './postgres/maintenance.js'
import { DEFAULT_POSTGRES_TABLE, parseTable, statements } from './postgres/sql.js'

export type { PostgresClient, PostgresPool, PostgresResult } from './postgres/client.js'
export type { PruneResult } from './postgres/maintenance.js'
export { DEFAULT_POSTGRES_TABLE } from './postgres/sql.js'

const FACTORY = 'postgresStore'

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions<C extends PostgresClient> {
  /** The app's `pg` Pool. Size it for the deliveries handled at once: each holds a connection while it runs. */
  readonly pool: PostgresPool<C>
  /** Name of the done-keys table; the high-water marks go to `<table>_versions`. Default `'webhook_deliveries'`. */
  readonly table?: string
  /** How long a done key and a scope's high-water mark are remembered, in ms. Default 72 h. */
  readonly ttlMs?: number
  /** Delete expired rows in small batches, at most every 5 minutes, after a completion. Default true. */
  readonly autoPrune?: boolean
}

/** A `DeliveryStore` whose claims are open Postgres transactions; the handler reaches its own with `transaction(delivery)`. */
export interface PostgresStore<C extends PostgresClient> extends TransactionalStore<C> {
  /**
   * The open transaction of the delivery a handler is running for (the pool's client, inside `BEGIN`): its writes
   * commit with the delivery record once the handler resolves, and roll back if it throws. Throws when called
   * outside a handler of a middleware using this store.
   */
  transaction(delivery: { readonly key: string }): C
  /** Creates the two tables and their indexes if they do not exist (the SQL of {@link postgresStoreSchema}). */
  migrate(): Promise<void>
  /** Deletes every expired row, in batches of 1,000 (one short statement each). Resolves with the counts. */
  prune(): Promise<PruneResult>
}

const PRUNE_INTERVAL_MS = 5 * 60 * 1000
// An automatic pass stops after this many full batches and leaves the rest to the next one, so it never holds a
// connection for long; 50,000 rows per 5 minutes is far above any partner's delivery rate.
const PRUNE_PASS_BATCHES = 50
// The holder's end is unknown (its transaction ends when its handler does) and a killed holder frees the scope at
// once, so the hint is short rather than the whole lease.
const BUSY_RETRY_AFTER_MS = 1000

/** The SQL that {@link PostgresStore.migrate} runs, for teams that apply migrations with their own tools. */
export const postgresStoreSchema = (table: string = DEFAULT_POSTGRES_TABLE): string => statements(parseTable('postgresStoreSchema', table)).schema

const resolveOptions = <C extends PostgresClient>(options: PostgresStoreOptions<C>) => {
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, ['pool', 'table', 'ttlMs', 'autoPrune'])
  const pool: unknown = options.pool
  if (typeof pool !== 'object' || pool === null || !('connect' in pool) || typeof pool.connect !== 'function') {
    throw optionError(FACTORY, '`pool` must be a pg Pool, e.g. new pg.Pool({ connectionString })')
  }
  const autoPrune: unknown = options.autoPrune ?? true
  if (typeof autoPrune !== 'boolean') throw optionError(FACTORY, '`autoPrune` must be true or false')
  const table = parseTable(FACTORY, options.table ?? DEFAULT_POSTGRES_TABLE)
  return { pool: options.pool, table, ttlMs: positiveInteger(FACTORY, 'ttlMs', options.ttlMs, DEFAULT_RETENTION_MS), autoPrune }
}

const firstRow = (result: PostgresResult | undefined): object => {
  const row: unknown = result?.rows[0]
  if (typeof row !== 'object' || row === null) throw new Error(`${FACTORY}: expected a row from Postgres, got none`)
  return row
}

const toVersion = (u: unknown): number | undefined => {
  if (u === null) return undefined
  const n = typeof u === 'string' || typeof u === 'bigint' ? Number(u) : u
  if (typeof n === 'number' && Number.isFinite(n)) return n
  throw new Error(`${FACTORY}: unexpected high-water mark from Postgres: ${String(u)}`)
}

/** One claim's connection, from `claim` until `complete` or `release` gives it back. */
interface Held<C> {
  readonly client: C
  readonly key: string
  readonly onError: (err: Error) => void
}

/**
 * A `DeliveryStore` in Postgres that records each delivery in the same transaction as the handler's writes. `claim`
 * checks a connection out of `pool`, opens a transaction and takes the scope's lease as a transaction-level advisory
 * lock; the handler gets that connection from `transaction(delivery)`; `complete` inserts the done key, raises the
 * version high-water mark and commits; `release` (a throwing handler) rolls everything back. A process killed
 * mid-handler leaves nothing half-done: Postgres rolls the transaction back and drops the lock as soon as it sees
 * the connection close, so the partner's retry is handled at once, and exactly once.
 *
 * The lease is the transaction: `leaseMs` becomes the session's `idle_in_transaction_session_timeout`, so a holder
 * that sits idle that long (a hung handler) is ended by Postgres, its writes rolled back. Create the tables once with
 * `await store.migrate()` (or the SQL of {@link postgresStoreSchema}).
 *
 * @example
 * import pg from 'pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000 })
 * const store = postgresStore({ pool })
 * await store.migrate()
 * app.post('/webhooks/musement', musementOrderItem({ credentials, store, handler: async (event, req, res, delivery) => {
 *   await store.transaction(delivery).query('UPDATE orders SET status = $1 WHERE item = $2', [event.order_item_status, event.order_item_uuid])
 * } }))
 */
export const postgresStore = <C extends PostgresClient>(options: PostgresStoreOptions<C>): PostgresStore<C> => {
  const { pool, table, ttlMs, autoPrune } = resolveOptions(options)
  const sql = statements(table)
  const held = new Map<string, Held<C>>()
  // Delivery key -> token of its open claim. A key is claimed by one request at a time (its scope's lock).
  const openByKey = new Map<string, string>()
  let nextPruneAt = 0

  // Gives a claim's connection back exactly once. With an error (a failed query, a session Postgres ended) the
  // pool closes it rather than reusing a connection in an unknown state; the server then rolls back what was open.
  const giveBack = (token: string, err?: Error): void => {
    const h = held.get(token)
    if (h === undefined) return
    held.delete(token)
    if (openByKey.get(h.key) === token) openByKey.delete(h.key)
    h.client.removeListener('error', h.onError)
    h.client.release(err ?? false)
  }

  // A checked-out pg client that loses its session (the idle timeout ended it, the server restarted) emits 'error';
  // unheard, that would crash the process. Its transaction is gone, so the claim is over: the connection goes back.
  const hold = (client: C, token: string, key: string): void => {
    const onError = (err: Error) => giveBack(token, err)
    client.on('error', onError)
    held.set(token, { client, key, onError })
  }

  const claim = async (d: DeliveryKey, leaseMs: number): Promise<Claim<C>> => {
    const length = leaseLength(FACTORY, leaseMs)
    const token = randomUUID()
    const client = await pool.connect()
    hold(client, token, d.key)
    try {
      const [, locking, reading] = resultsOf(await client.query(sql.claim(d.scope, d.key, length)))
      const lock = firstRow(locking)
      if (!('locked' in lock) || lock.locked !== true) {
        await rollback(token)
        return { status: 'busy', retryAfterMs: Math.min(length, BUSY_RETRY_AFTER_MS) }
      }
      const state = firstRow(reading)
      if ('done' in state && state.done === true) {
        await rollback(token)
        return { status: 'done' }
      }
      openByKey.set(d.key, token)
      return { status: 'claimed', token, highWater: toVersion('high_water' in state ? state.high_water : null), transaction: client }
    } catch (err) {
      giveBack(token, asError(err))
      throw err
    }
  }

  // ROLLBACK, then the connection goes back; if that fails, it is closed (which rolls back too) and rethrown.
  const rollback = async (token: string): Promise<void> => {
    const client = held.get(token)?.client
    if (client === undefined) return
    try {
      await client.query('ROLLBACK')
      giveBack(token)
    } catch (err) {
      giveBack(token, asError(err))
      throw err
    }
  }

  const complete = async (d: DeliveryKey, token: string): Promise<void> => {
    const version = markVersion(FACTORY, d.version)
    const client = held.get(token)?.client
    // No late completion here, unlike the other stores: a claim without its transaction has had its writes
    // rolled back (lease expired, connection lost), so recording it done would lose the event. The partner retries.
    if (client === undefined) throw new Error(`${FACTORY}: this claim's transaction has ended (lease expired or connection lost); nothing was recorded`)
    try {
      const last = resultsOf(await client.query(sql.complete(d.scope, d.key, version, ttlMs))).at(-1)
      // COMMIT of a transaction that failed earlier (a handler that caught a query error) rolls back instead.
      if (last?.command !== 'COMMIT') throw new Error(`COMMIT ended as ${last?.command ?? 'nothing'}`)
      giveBack(token)
    } catch (err) {
      giveBack(token, asError(err))
      throw new Error(`${FACTORY}: the delivery was not recorded and its transaction was rolled back`, { cause: err })
    }
    if (autoPrune && Date.now() >= nextPruneAt) {
      nextPruneAt = Date.now() + PRUNE_INTERVAL_MS
      // In the background, on its own connection: clean-up never delays an answer. A failed pass waits for the next.
      prune(pool, sql, PRUNE_PASS_BATCHES).catch(() => undefined)
    }
  }

  // A release that fails still ends the claim: the connection is closed, and Postgres rolls back and unlocks.
  const release = async (_d: DeliveryKey, token: string): Promise<void> => rollback(token).catch(() => undefined)

  const transaction = (delivery: { readonly key: string }): C => {
    const client = held.get(openByKey.get(delivery.key) ?? '')?.client
    if (client === undefined) throw new Error(`${FACTORY}: no open transaction for ${delivery.key}: call transaction(delivery) from the handler, while it runs`)
    return client
  }

  return Object.freeze({
    claim,
    complete,
    release,
    transaction,
    migrate: () => migrate(pool, sql, `${table.schema ?? ''}.${table.name}:migrate`),
    prune: () => prune(pool, sql, Number.POSITIVE_INFINITY),
    transactional: true
  })
}
