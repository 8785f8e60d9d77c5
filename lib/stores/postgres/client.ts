/** What a query resolves to; a `pg` `QueryResult` has these fields. */
export interface PostgresResult {
  readonly rows: ReadonlyArray<unknown>
  readonly rowCount: number | null
  readonly command: string
}

/**
 * A connection checked out of the pool; a `pg` `PoolClient` satisfies it as is. The store holds it from `claim` to
 * `complete` or `release`, inside `BEGIN`, and hands it to the handler as `delivery.transaction`.
 */
export interface PostgresClient {
  query(text: string, values?: ReadonlyArray<unknown>): Promise<PostgresResult>
  /** Gives the connection back to the pool; with an error, the pool closes it instead. */
  release(err?: Error | boolean): void
  on(event: 'error', listener: (err: Error) => void): unknown
  removeListener(event: 'error', listener: (err: Error) => void): unknown
}

/** The app's connection pool: a `pg` `Pool`. The store checks connections out of it and never ends it. */
export interface PostgresPool<C extends PostgresClient> {
  connect(): Promise<C>
  // pg's Pool declares a callback form of connect() after the promise form, and TypeScript reads a type argument off
  // the last overload; this line pairs them up, so the handler's transaction is typed as the app's own PoolClient.
  connect(callback: never): void
}

/** An Error for `release(err)`, whatever was thrown. */
export const asError = (u: unknown): Error => (u instanceof Error ? u : new Error(String(u)))
