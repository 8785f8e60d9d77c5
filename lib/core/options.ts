import * as E from 'fp-ts/lib/Either.js'
import type { DeliveryStore } from './delivery.js'
import type { StaleVersions } from './exactly-once.js'
import type { HandOff } from './hand-off.js'
import { ipAllowlist, parseRange, type IpAllowlist } from './ip-allowlist.js'
import type { ResolvedOptions, WebhookOptions } from './types.js'

/** body-parser's default, which is far above any real order-item webhook (a Musement body is about 500 bytes). */
export const DEFAULT_LIMIT = 100 * 1024

/**
 * Long enough that a live handler never loses its claim (partners time a request out well before that and retry,
 * meeting 409 until it settles), short enough that after a crash the event is handled again within minutes.
 */
export const DEFAULT_LEASE_MS = 2 * 60 * 1000

export const COMMON_OPTION_KEYS = ['handler', 'handOff', 'onReject', 'limit', 'store', 'leaseMs', 'staleVersions', 'onOutcome', 'allowIps'] as const

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

const isStore = (u: unknown): u is DeliveryStore =>
  typeof u === 'object' &&
  u !== null &&
  'claim' in u &&
  typeof u.claim === 'function' &&
  'complete' in u &&
  typeof u.complete === 'function' &&
  'release' in u &&
  typeof u.release === 'function'

const resolveStore = (factory: string, store: unknown): DeliveryStore | undefined => {
  if (store === undefined || isStore(store)) return store
  throw optionError(factory, '`store` must be a DeliveryStore (claim, complete, release), e.g. memoryStore() or redisStore({ client })')
}

const resolveHandOff = <A>(factory: string, options: WebhookOptions<A>): HandOff | undefined => {
  const { handOff } = options
  if (handOff === undefined) return undefined
  if (typeof handOff !== 'object' || handOff === null || !('enqueue' in handOff) || typeof handOff.enqueue !== 'function') {
    throw optionError(factory, '`handOff` must have an enqueue(job) method, e.g. bullmqHandOff(queue) from express-partner-webhooks/handoff')
  }
  if (options.handler !== undefined) {
    throw optionError(factory, 'pass `handler` or `handOff`, not both: in hand-off mode the worker runs the handler')
  }
  return handOff
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

/** Validates and freezes the options every partner shares. Runs once, when the factory is called. */
export const resolveCommonOptions = <A>(factory: string, options: WebhookOptions<A>): ResolvedOptions<A> =>
  Object.freeze({
    handler: optionalFunction(factory, 'handler', options.handler),
    handOff: resolveHandOff(factory, options),
    onReject: optionalFunction(factory, 'onReject', options.onReject),
    limit: parseLimit(factory, options.limit),
    store: resolveStore(factory, options.store),
    leaseMs: positiveInteger(factory, 'leaseMs', options.leaseMs, DEFAULT_LEASE_MS),
    staleVersions: resolveStale(factory, options.staleVersions),
    onOutcome: optionalFunction(factory, 'onOutcome', options.onOutcome),
    allowIps: resolveAllowIps(factory, options.allowIps)
  })
