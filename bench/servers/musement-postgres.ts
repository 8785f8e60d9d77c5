import express from 'express'
import pg from 'pg'
import { musementOrderItem, postgresStore } from '../../lib/index.js'
import { MUSEMENT_CREDENTIALS, MUSEMENT_PATH } from '../bodies.js'
import { listen } from './common.js'

// The Musement middleware on postgresStore (DATABASE_URL), its handler writing one row in the delivery's transaction,
// as examples/musement-postgres.ts does. The pool is sized for the load generator's connections.
const url = process.env.DATABASE_URL
if (url === undefined) throw new Error('DATABASE_URL is not set')
const pool = new pg.Pool({ connectionString: url, max: 20 })
pool.on('error', (err) => process.stderr.write(`postgres: ${err.message}\n`))
await pool.query('CREATE TABLE IF NOT EXISTS bench_http_orders (item uuid NOT NULL, status text NOT NULL, version bigint NOT NULL)')
const store = postgresStore({ pool, table: 'bench_http' })
await store.migrate()
const app = express()
app.post(
  MUSEMENT_PATH,
  musementOrderItem({
    credentials: MUSEMENT_CREDENTIALS,
    store,
    handler: async (event, _req, _res, delivery) => {
      await store.transaction(delivery).query('INSERT INTO bench_http_orders (item, status, version) VALUES ($1, $2, $3)', [
        event.order_item_uuid,
        event.order_item_status,
        event.order_item_version
      ])
    }
  })
)
await listen(app)
