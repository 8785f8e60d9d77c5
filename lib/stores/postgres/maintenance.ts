import { asError, resultsOf, type PostgresClient, type PostgresPool } from './client.js'
import type { Statements } from './sql.js'

/** Rows {@link PostgresStore.prune} deleted. */
export interface PruneResult {
  readonly deliveries: number
  readonly versions: number
}

const PRUNE_BATCH = 1000

/** Runs `work` on a connection of its own and gives it back (closed, if the work failed). */
const withClient = async <C extends PostgresClient, A>(pool: PostgresPool<C>, work: (client: C) => Promise<A>): Promise<A> => {
  const client = await pool.connect()
  // An 'error' event on a checked-out client with no listener would crash the process; the query rejects anyway.
  const ignore = () => undefined
  client.on('error', ignore)
  try {
    const result = await work(client)
    client.removeListener('error', ignore)
    client.release()
    return result
  } catch (err) {
    client.removeListener('error', ignore)
    client.release(asError(err))
    throw err
  }
}

// Small batches, each its own short autocommit statement: rows are locked briefly, and a busy table never waits on
// one long delete.
const deleteBatches = async (client: PostgresClient, statement: string, maxBatches: number): Promise<number> => {
  let deleted = 0
  for (let batch = 0; batch < maxBatches; batch++) {
    const n = resultsOf(await client.query(statement, [PRUNE_BATCH]))[0]?.rowCount ?? 0
    deleted += n
    if (n < PRUNE_BATCH) break
  }
  return deleted
}

/** Deletes expired rows of both tables, at most `maxBatches` batches of 1,000 each. */
export const prune = <C extends PostgresClient>(pool: PostgresPool<C>, sql: Statements, maxBatches: number): Promise<PruneResult> =>
  withClient(pool, async (client) => ({
    deliveries: await deleteBatches(client, sql.pruneDone, maxBatches),
    versions: await deleteBatches(client, sql.pruneVersions, maxBatches)
  }))

/** Creates the tables and indexes if missing. `lockName` serializes instances that start together. */
export const migrate = <C extends PostgresClient>(pool: PostgresPool<C>, sql: Statements, lockName: string): Promise<void> =>
  withClient(pool, async (client) => {
    await client.query('BEGIN')
    // Concurrent CREATE ... IF NOT EXISTS can still collide on the catalog; the lock makes the instances take turns.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockName])
    await client.query(sql.schema)
    await client.query('COMMIT')
  })
