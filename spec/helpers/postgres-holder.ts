// Child process of spec/stores/postgres.spec.ts: claims one delivery in a postgresStore and holds it, like a handler
// that never finishes, until the parent kills it. Prints its session's backend pid once the claim is held.
// Usage: node --import tsx spec/helpers/postgres-holder.ts <database url> <table> <scope>
import pg from 'pg'
import { postgresStore } from '../../lib/stores/postgres.js'

const [url, table, scope] = process.argv.slice(2)
if (url === undefined || table === undefined || scope === undefined) throw new Error('usage: postgres-holder.ts <url> <table> <scope>')
const pool = new pg.Pool({ connectionString: url, max: 1 })
const claim = await postgresStore({ pool, table }).claim({ key: scope, scope }, 60_000)
if (claim.status !== 'claimed') throw new Error(`expected to claim ${scope}, got ${claim.status}`)
const { rows } = await claim.transaction.query('SELECT pg_backend_pid() AS pid')
process.stdout.write(`${JSON.stringify(rows[0])}\n`)
// Keeps the event loop alive until the parent's SIGKILL.
setInterval(() => undefined, 60_000)
