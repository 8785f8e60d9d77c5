import { optionError } from '../../core/options.js'

/** The table a {@link postgresStore} uses when none is named. */
export const DEFAULT_POSTGRES_TABLE = 'webhook_deliveries'

/** The SQL of one store, built once for its table. */
export interface Statements {
  readonly schema: string
  /** BEGIN, take the scope's lock, then read the key's state: three statements, one round trip. */
  readonly claim: (scope: string, key: string, leaseMs: number) => string
  /** Record the key (and raise the mark) and COMMIT: one round trip. */
  readonly complete: (scope: string, key: string, version: number | undefined, ttlMs: number) => string
  readonly pruneDone: string
  readonly pruneVersions: string
}

/**
 * `s` as an SQL string literal, for the scripts above: several statements in one round trip cannot take parameters.
 * The E'' form reads the same whatever `standard_conforming_strings` says. Postgres text cannot hold NUL (and the
 * wire protocol would cut the script at it), so a NUL is refused.
 */
export const literal = (s: string): string => {
  if (s.includes('\0')) throw new TypeError(`postgresStore: a delivery key or scope cannot contain NUL: ${JSON.stringify(s)}`)
  return `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

// Both tables' names are derived from this one (plus `_versions`, `_expires_at`), and Postgres cuts identifiers
// at 63 bytes; so the name is kept short, plain and unquoted (lower case, as Postgres folds unquoted names).
const NAME = /^(?:([a-z_][a-z0-9_]{0,62})\.)?([a-z_][a-z0-9_]{0,39})$/

/** `table` checked, split into its optional schema and its name. Throws a TypeError naming the rule. */
export const parseTable = (factory: string, table: unknown): { readonly schema: string | undefined; readonly name: string } => {
  const m = typeof table === 'string' ? NAME.exec(table) : null
  if (m === null || m[2] === undefined) {
    throw optionError(factory, `\`table\` must be a lower-case SQL name of at most 40 characters, optionally schema-qualified ('webhooks.deliveries'), got ${JSON.stringify(table)}`)
  }
  return { schema: m[1], name: m[2] }
}

/**
 * The SQL of one store. Expired rows are ignored by every read (`expires_at > now()`) and deleted later by prune,
 * so retention never depends on the clean-up having run. `now()` is the transaction's start: within one claim the
 * done check, the high-water read and the completion agree on what has expired.
 */
export const statements = (table: { readonly schema: string | undefined; readonly name: string }): Statements => {
  const at = table.schema === undefined ? '' : `${table.schema}.`
  const done = `${at}${table.name}`
  const versions = `${at}${table.name}_versions`
  const schema = `CREATE TABLE IF NOT EXISTS ${done} (
  key text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${table.name}_expires_at ON ${done} (expires_at);
CREATE TABLE IF NOT EXISTS ${versions} (
  scope text PRIMARY KEY,
  version bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${table.name}_versions_expires_at ON ${versions} (expires_at);
`
  // A batch of the oldest expired rows, through the expires_at index; SKIP LOCKED leaves rows a completion is
  // renewing right now to the next pass, so clean-up never waits on (or blocks) a delivery.
  const prune = (t: string, id: string) =>
    `DELETE FROM ${t} WHERE ${id} IN (SELECT ${id} FROM ${t} WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`
  return {
    schema,
    // The lock key includes the table's oid: stores of different tables never block each other, and instances that
    // name one table differently (with or without its schema) still share its locks. The state is read by its own
    // statement, hence (READ COMMITTED) with a snapshot taken after the lock: a holder that committed just before
    // releasing it is seen as done, never handled twice.
    claim: (scope, key, leaseMs) => `BEGIN;
SELECT set_config('idle_in_transaction_session_timeout', '${Math.ceil(leaseMs)}', true),
  pg_try_advisory_xact_lock(hashtextextended('${done}'::regclass::oid::text || ':' || ${literal(scope)}, 0)) AS locked;
SELECT EXISTS (SELECT 1 FROM ${done} WHERE key = ${literal(key)} AND expires_at > now()) AS done,
  (SELECT version FROM ${versions} WHERE scope = ${literal(scope)} AND expires_at > now()) AS high_water`,
    // An expired mark is replaced rather than max()ed, as if prune had already removed it.
    complete: (scope, key, version, ttlMs) => {
      const expires = `clock_timestamp() + interval '${Math.ceil(ttlMs)} milliseconds'`
      const mark =
        version === undefined
          ? ''
          : `
INSERT INTO ${versions} AS v (scope, version, expires_at) VALUES (${literal(scope)}, ${version}, ${expires})
ON CONFLICT (scope) DO UPDATE SET
  version = CASE WHEN v.expires_at > now() THEN GREATEST(v.version, EXCLUDED.version) ELSE EXCLUDED.version END,
  expires_at = EXCLUDED.expires_at;`
      return `INSERT INTO ${done} (key, expires_at) VALUES (${literal(key)}, ${expires})
ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at;${mark}
COMMIT`
    },
    pruneDone: prune(done, 'key'),
    pruneVersions: prune(versions, 'scope')
  }
}
