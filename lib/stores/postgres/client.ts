/** What a query resolves to; a `pg` `QueryResult` has these fields. */
export interface PostgresResult {
  readonly rows: ReadonlyArray<unknown>
  readonly rowCount: number | null
  readonly command: string
}

/**
 * A connection checked out of the pool; a `pg` `PoolClient` satisfies it as is. The store holds it from `claim` to
 * `complete` or `release`, inside `BEGIN`, and hands it to the handler through `store.transaction(delivery)`.
 */
export interface PostgresClient {
  /** Runs one statement with `$1`-style parameters or, without `values`, a script (one result per statement). */
  query(text: string, values?: ReadonlyArray<unknown>): Promise<PostgresResult | ReadonlyArray<PostgresResult>>
  /** Gives the connection back to the pool; with an error, the pool closes it instead. */
  release(err?: Error | boolean): void
  /** A checked-out client whose session ends emits 'error'; the store listens while it holds the client. */
  on(event: 'error', listener: (err: Error) => void): unknown
  /** Stops listening, before the client goes back to the pool. */
  removeListener(event: 'error', listener: (err: Error) => void): unknown
}

/** The app's connection pool: a `pg` `Pool`. The store checks connections out of it and never ends it. */
export interface PostgresPool<C extends PostgresClient> {
  /** Checks a client out of the pool. */
  connect(): Promise<C>
  /**
   * pg's callback form, never called. pg declares it after the promise form, and TypeScript reads a type argument
   * off the last overload: this pairs the two up, so `store.transaction(delivery)` is typed as the app's own PoolClient.
   */
  connect(callback: never): void
}

/** The results of a query, one per statement. */
export const resultsOf = (r: PostgresResult | ReadonlyArray<PostgresResult>): ReadonlyArray<PostgresResult> => (isList(r) ? r : [r])

const isList = (r: PostgresResult | ReadonlyArray<PostgresResult>): r is ReadonlyArray<PostgresResult> => Array.isArray(r)

/** An Error for `release(err)`, whatever was thrown. */
export const asError = (u: unknown): Error => (u instanceof Error ? u : new Error(String(u)))
