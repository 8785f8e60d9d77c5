import * as E from 'fp-ts/lib/Either.js'
import type { StaleVersions } from './exactly-once.js'
import { ipAllowlist, parseRange, type IpAllowlist } from './ip-allowlist.js'
import { isLogger, processWarnings, type Logger } from './logger.js'
import { isTelemetry, type Telemetry } from './telemetry.js'
import type { HandOff } from './hand-off.js'
import { isShutdownTracker, type ShutdownTracker, type WebhookShutdown } from './shutdown.js'
import type { DeliveryOptions, Outcome, Rejection } from './types.js'

/** body-parser's default, which is far above any real order webhook (they are a few hundred bytes to a few kB). */
export const DEFAULT_LIMIT = 100 * 1024

/**
 * Long enough that a live handler never loses its claim (partners time a request out well before that and retry,
 * meeting 409 until it settles), short enough that after a crash the event is handled again within minutes.
 */
export const DEFAULT_LEASE_MS = 2 * 60 * 1000

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 * 1024 }

const editDistance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length] ?? 0
}

/** A TypeError whose message starts with the factory's name, so the stack trace's first line says what to fix. */
export const optionError = (factory: string, message: string): TypeError => new TypeError(`${factory}: ${message}`)

/**
 * Refuses `app.use(factory)` (the factory itself registered as middleware, so Express calls it with a request)
 * and any value that is not a plain options object.
 */
export const assertOptionsObject: (factory: string, options: unknown) => asserts options is object = (factory, options) => {
  const looksLikeRequest = typeof options === 'object' && options !== null && 'headers' in options && 'method' in options
  if (looksLikeRequest) {
    throw optionError(factory, `it was registered without being called; write app.post(path, ${factory}({ ... }))`)
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionError(factory, 'expected an options object')
  }
}

/** Unknown option names are mistakes (a typo would silently switch a safety feature off), so they throw. */
export const assertKnownKeys = (factory: string, options: object, known: ReadonlyArray<string>): void => {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const guess = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2)
    throw optionError(factory, `unknown option \`${key}\`${guess === undefined ? '' : `. Did you mean \`${guess}\`?`}`)
  }
}

/** `100`, `'100kb'`, `'1mb'` to a byte count. */
export const parseLimit = (factory: string, limit: number | string | undefined): number => {
  if (limit === undefined) return DEFAULT_LIMIT
  if (typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0) return limit
  const m = typeof limit === 'string' ? /^\s*([0-9]+(?:\.[0-9]+)?)\s*(b|kb|mb)?\s*$/i.exec(limit) : null
  const bytes = m === null ? NaN : Math.floor(Number(m[1]) * (UNITS[(m[2] ?? 'b').toLowerCase()] ?? NaN))
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw optionError(factory, `\`limit\` must be a positive number of bytes or a string like '100kb' or '1mb', got ${JSON.stringify(limit)}`)
  }
  return bytes
}

const optionalFunction = <F>(factory: string, name: string, value: F | undefined): F | undefined => {
  if (value !== undefined && typeof value !== 'function') {
    throw optionError(factory, `\`${name}\` must be a function, got ${value === null ? 'null' : typeof value}`)
  }
  return value
}

/**
 * An option that takes one value or a list of them (credentials, keys, addresses: several during a rotation). An empty
 * list is refused with `emptyHint`; `resolveEntry` checks each entry, naming it `name` or `name[i]` in its errors.
 */
export const resolveOneOrMany = <T>(
  factory: string,
  name: string,
  value: unknown,
  emptyHint: string,
  resolveEntry: (entry: unknown, where: string) => T
): ReadonlyArray<T> => {
  const list: ReadonlyArray<unknown> = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw optionError(factory, `\`${name}\` is empty: ${emptyHint}`)
  return list.map((entry, i) => resolveEntry(entry, Array.isArray(value) ? `${name}[${i}]` : name))
}

/** A positive whole number of `name` (ms, entries), or `fallback` when the option is left out. */
export const positiveInteger = (factory: string, name: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw optionError(factory, `\`${name}\` must be a positive whole number, got ${typeof value === 'number' ? value : typeof value}`)
  }
  return value
}

const resolveStale = (factory: string, mode: unknown): StaleVersions => {
  if (mode === undefined) return 'skip'
  if (mode === 'skip' || mode === 'deliver') return mode
  throw optionError(factory, `\`staleVersions\` must be 'skip' or 'deliver', got ${JSON.stringify(mode)}`)
}

const resolveAllowIps = (factory: string, allowIps: unknown): IpAllowlist | undefined => {
  if (allowIps === undefined) return undefined
  const hint = 'list at least one address or CIDR range, or leave the option out'
  const ranges = resolveOneOrMany(factory, 'allowIps', allowIps, hint, (entry, where) => {
    if (typeof entry !== 'string') throw optionError(factory, `\`${where}\` must be a string such as '203.0.113.7' or '2001:db8::/32'`)
    const range = parseRange(entry)
    if (E.isLeft(range)) throw optionError(factory, `\`${where}\` ${JSON.stringify(entry)} ${range.left}`)
    return range.right
  })
  return ipAllowlist(ranges)
}

const resolveLogger = (factory: string, logger: unknown): Logger => {
  if (logger === undefined) return processWarnings
  if (isLogger(logger)) return logger
  throw optionError(factory, '`logger` must have debug, info, warn and error methods, like a pino logger')
}

const resolveShutdown = (factory: string, shutdown: unknown): ShutdownTracker | undefined => {
  if (shutdown === undefined || isShutdownTracker(shutdown)) return shutdown
  throw optionError(factory, '`shutdown` must be made by webhookShutdown()')
}

const resolveHandOff = (factory: string, handOff: unknown): HandOff | undefined => {
  if (handOff === undefined) return undefined
  if (isHandOff(handOff)) return handOff
  throw optionError(factory, '`handOff` must have an enqueue(job) method, e.g. bullmqHandOff(queue) from express-partner-webhooks/handoff')
}

const isHandOff = (u: unknown): u is HandOff => typeof u === 'object' && u !== null && 'enqueue' in u && typeof u.enqueue === 'function'

const resolveTelemetry = (factory: string, telemetry: unknown): Telemetry | undefined => {
  if (telemetry === undefined || isTelemetry(telemetry)) return telemetry
  throw optionError(factory, '`telemetry` must have a start(partner) method, e.g. openTelemetry() from express-partner-webhooks/opentelemetry')
}

/**
 * The options every partner factory takes besides `handler`, `store` and its authentication, one resolver each. The
 * option type ({@link CommonOptions}: each resolver's input), the allowed names and the resolved type all come from
 * this one list.
 */
export const COMMON_OPTIONS = {
  /** Sees every refused request with its status and problems, for logs and metrics. */
  onReject: (factory: string, value: ((rejection: Rejection) => void | Promise<void>) | undefined) => optionalFunction(factory, 'onReject', value),
  /** Sees how every request ended (processed, duplicate, stale, busy, rejected, failed), with key and duration. */
  onOutcome: (factory: string, value: ((outcome: Outcome) => void | Promise<void>) | undefined) => optionalFunction(factory, 'onOutcome', value),
  /** Largest accepted body, in bytes or as a string such as `'100kb'` or `'1mb'`. Default `'100kb'`. */
  limit: (factory: string, value: number | string | undefined): number => parseLimit(factory, value),
  /** How long a claim holds off concurrent retries of the same delivery, in ms. Default 120 000 (2 min). */
  leaseMs: (factory: string, value: number | undefined): number => positiveInteger(factory, 'leaseMs', value, DEFAULT_LEASE_MS),
  /** An older version arriving after a newer one: `'skip'` (answer 200, no handler; default) or `'deliver'`. */
  staleVersions: (factory: string, value: StaleVersions | undefined): StaleVersions => resolveStale(factory, value),
  /**
   * Source addresses allowed to call (`'203.0.113.7'`, `'203.0.113.0/24'`, `'2001:db8::/32'`), checked against
   * `req.ip` before anything else; any other address gets 403. In addition to credentials, not instead of them:
   * to rely on the allowlist alone, also pass `dangerouslyDisableAuthentication: true`. Behind a proxy, set Express's
   * `trust proxy` so that `req.ip` is the sender's address rather than the proxy's.
   */
  allowIps: (factory: string, value: string | ReadonlyArray<string> | undefined): IpAllowlist | undefined => resolveAllowIps(factory, value),
  /**
   * Where the middleware logs what the partner's answer cannot say: a failing hook, an unreachable store, a completion
   * it gave up on. Any pino-compatible logger (`{ debug, info, warn, error }`). Default: process warnings.
   */
  logger: (factory: string, value: Logger | undefined): Logger => resolveLogger(factory, value),
  /** A `webhookShutdown()` shared by the app's webhook middlewares: on SIGTERM, `close()` drains them. */
  shutdown: (factory: string, value: WebhookShutdown | undefined): ShutdownTracker | undefined => resolveShutdown(factory, value),
  /**
   * Hand-off mode, instead of `handler`: each new delivery is put on this queue and answered 200 once the queue has
   * it (503 if it cannot take it); a worker runs the handler later. See `express-partner-webhooks/handoff`.
   */
  handOff: (factory: string, value: HandOff | undefined): HandOff | undefined => resolveHandOff(factory, value),
  /** Traces and metrics for every request, e.g. `openTelemetry()` from `express-partner-webhooks/opentelemetry`. */
  telemetry: (factory: string, value: Telemetry | undefined): Telemetry | undefined => resolveTelemetry(factory, value)
}

type Resolvers = typeof COMMON_OPTIONS

/** Options every partner factory accepts besides `handler`, `store` and its authentication. */
export type CommonOptions = { readonly [K in keyof Resolvers]?: Exclude<Parameters<Resolvers[K]>[1], undefined> }

/** {@link CommonOptions} once validated, with defaults applied. */
export type ResolvedCommonOptions = { readonly [K in keyof Resolvers]: ReturnType<Resolvers[K]> }

// Typed as a complete record of the option type's keys, so an option added to one and not the other does not compile.
const DELIVERY_OPTION_NAMES: { readonly [K in keyof DeliveryOptions<unknown>]-?: true } = { handler: true, store: true }

/** The option names every partner factory accepts besides its authentication's. */
export const COMMON_OPTION_NAMES: ReadonlyArray<string> = [...Object.keys(COMMON_OPTIONS), ...Object.keys(DELIVERY_OPTION_NAMES)]

/** Validates the options every partner shares. Runs once, when the factory is called. */
export const resolveCommonOptions = (factory: string, o: CommonOptions): ResolvedCommonOptions => {
  const r = COMMON_OPTIONS
  return {
    onReject: r.onReject(factory, o.onReject),
    onOutcome: r.onOutcome(factory, o.onOutcome),
    limit: r.limit(factory, o.limit),
    leaseMs: r.leaseMs(factory, o.leaseMs),
    staleVersions: r.staleVersions(factory, o.staleVersions),
    allowIps: r.allowIps(factory, o.allowIps),
    logger: r.logger(factory, o.logger),
    shutdown: r.shutdown(factory, o.shutdown),
    telemetry: r.telemetry(factory, o.telemetry),
    handOff: r.handOff(factory, o.handOff)
  }
}

const isStore = (u: unknown): boolean =>
  typeof u === 'object' &&
  u !== null &&
  'claim' in u &&
  typeof u.claim === 'function' &&
  'complete' in u &&
  typeof u.complete === 'function' &&
  'release' in u &&
  typeof u.release === 'function'

/** Refuses a `store` that is not a DeliveryStore and a `handler` that is not a function. */
export const checkDeliveryOptions = (factory: string, o: { readonly store?: unknown; readonly handler?: unknown }): void => {
  if (o.store !== undefined && !isStore(o.store)) {
    throw optionError(factory, '`store` must be a DeliveryStore (claim, complete, release), e.g. memoryStore() or redisStore({ client })')
  }
  optionalFunction(factory, 'handler', o.handler)
}
