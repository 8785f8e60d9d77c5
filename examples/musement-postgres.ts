// The app's own Postgres (DATABASE_URL) also records the deliveries: the handler updates `orders` in the very
// transaction that marks the delivery done, so the two commit together or not at all. A crash mid-handler leaves
// neither, and Musement's retry is handled at once, exactly once, by whichever instance it reaches.
import express from 'express'
import pg from 'pg'
import { musementOrderItem, postgresStore } from '../lib/index.js'
import { isMain, serve } from './serve.js'

/** The example's own table. Its rows are written only inside a delivery's transaction. */
export const ORDERS_SQL = `CREATE TABLE IF NOT EXISTS orders (
  item_uuid uuid PRIMARY KEY,
  status text NOT NULL,
  version bigint NOT NULL
)`

/** Creates `orders` and the store's tables; run once at start-up (or in your migrations). */
export const migrate = async (pool: pg.Pool): Promise<void> => {
  await pool.query(ORDERS_SQL)
  await postgresStore({ pool }).migrate()
}

export const createApp = (pool: pg.Pool) => {
  const store = postgresStore({ pool })
  const app = express()
  app.post(
    '/webhooks/musement',
    musementOrderItem({
      credentials: { username: 'musement', password: process.env.MUSEMENT_PASSWORD ?? 'change-me' },
      store,
      // No version check needed here: an older version arriving after a newer one is answered "stale" and never
      // reaches the handler (the store reads and raises the high-water mark in this same transaction).
      handler: async (event, _req, _res, delivery) => {
        await store.transaction(delivery).query(
          `INSERT INTO orders (item_uuid, status, version) VALUES ($1, $2, $3)
           ON CONFLICT (item_uuid) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version`,
          [event.order_item_uuid, event.order_item_status, event.order_item_version]
        )
      }
    })
  )
  return app
}

if (isMain(import.meta.url)) {
  // connectionTimeoutMillis: with every connection busy, a delivery waits this long for one, then gets a 503.
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://localhost/app', connectionTimeoutMillis: 2000 })
  // An idle pooled connection that Postgres closes reports here; unheard, it would crash the process.
  pool.on('error', (err) => console.error(`postgres: ${err.message}`))
  await migrate(pool)
  serve(createApp(pool), (port) => `musement-postgres example on http://localhost:${port}/webhooks/musement, store: Postgres`)
}
