import type { Claim, DeliveryKey, DeliveryStore } from '../core/delivery.js'
import { assertKnownKeys, assertOptionsObject, optionError, positiveInteger } from '../core/options.js'
import { DEFAULT_RETENTION_MS, leaseLength, markVersion } from './options.js'

const FACTORY = 'memoryStore'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Most done keys remembered, and separately most scopes' high-water marks; the oldest go first. Default 1,000,000. */
  readonly max?: number
  /** How long a done key and a scope's high-water mark are remembered, in ms. Default 72 h. */
  readonly ttlMs?: number
  /** The clock in ms, injectable so tests need not wait. Default `Date.now`. */
  readonly now?: () => number
}

/**
 * Measured on Node 20 with 1 M keys built like the middleware builds them (bench/RESULTS.md): 93 bytes of heap per
 * About You delivery, 256 per Musement delivery that also leaves its own high-water mark (a new order item each
 * time). So the default caps the store near 100-260 MB. That covers the full 72 h window at up to about 4 deliveries a second on average; above
 * that the oldest done keys are forgotten before their time, and a very late retry of one would run again.
 */
export const DEFAULT_MAX_ENTRIES = 1_000_000

// Below this many leases, sweeping expired ones is not worth the pass; above it, sweeps are amortized O(1).
const LEASE_SWEEP_MIN = 1024

const DONE: Claim = Object.freeze({ status: 'done' })

// A key built by concatenation (`${scope}:${version}`) is held by V8 as a tree of its pieces, the parsed body's
// strings included, until its characters are read: reading one flattens it, and the garbage collector then drops
// the tree (the trick of pino's flatstr). Measured with Musement keys made from decoded bodies (bench/RESULTS.md):
// 229 bytes of heap per key left as built, 126 flattened. The char code is kept so the read is not optimized away.
const flattened = { lastCharCode: 0 }
const flat = (s: string): string => {
  flattened.lastCharCode = s.charCodeAt(0)
  return s
}

// Lease tokens are a count shared by every store in the process, so no two leases ever get the same token and a
// holder whose lease expired can never complete or release the next holder's. A counter is cheaper than
// randomUUID() and needs no secrecy: only code in this process ever sees a token. Numbers stay exact to 2^53,
// which is 285 years of a million claims a second.
let tokensIssued = 0
const nextToken = (): string => (++tokensIssued).toString(36)

interface Lease {
  readonly token: string
  readonly expiresAt: number
}

const resolveOptions = (options: MemoryStoreOptions) => {
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, ['max', 'ttlMs', 'now'])
  const now: unknown = options.now
  if (now !== undefined && typeof now !== 'function') {
    throw optionError(FACTORY, `\`now\` must be a function returning ms, like Date.now; got ${now === null ? 'null' : typeof now}`)
  }
  return {
    max: positiveInteger(FACTORY, 'max', options.max, DEFAULT_MAX_ENTRIES),
    ttlMs: positiveInteger(FACTORY, 'ttlMs', options.ttlMs, DEFAULT_RETENTION_MS),
    now: options.now ?? Date.now
  }
}

/**
 * A `DeliveryStore` in this process's memory: the default, right for a single instance. It cannot coordinate
 * several instances (each has its own memory) and forgets everything on restart; use `redisStore` for either.
 *
 * @example
 * const store = memoryStore({ max: 100_000 })
 */
export const memoryStore = (options: MemoryStoreOptions = {}): DeliveryStore => {
  const { max, ttlMs, now } = resolveOptions(options)
  // Done key -> expiry. Every entry lives exactly ttlMs from its (re)insertion and a Map iterates in insertion
  // order, so the first entry is both the next to expire and the oldest to evict: both are O(1) from the front.
  // A bare number per key and no object per entry keeps a remembered delivery small (see DEFAULT_MAX_ENTRIES).
  const done = new Map<string, number>()
  // Scope -> highest completed version, and scope -> expiry (ordered like `done`). Two number maps, again to avoid
  // an object per scope. The mark expires with the retention window: past it, a retry no longer reaches us either.
  const highWater = new Map<string, number>()
  const highWaterUntil = new Map<string, number>()
  // Scope -> in-flight claim. Kept apart from done keys because a lease's length is per claim (the pipeline's
  // handler budget), and because these must never be evicted for room: that would let a second handler run.
  const leases = new Map<string, Lease>()
  let leaseSweepAt = LEASE_SWEEP_MIN

  const forget = (scope: string): void => {
    highWaterUntil.delete(scope)
    highWater.delete(scope)
  }

  // (Re)inserts at the back, after dropping what expired at the front and, when full, the oldest entry.
  const remember = (until: Map<string, number>, key: string, expiresAt: number, t: number, evict: (k: string) => void): void => {
    until.delete(key)
    for (const [k, at] of until) {
      if (at > t && until.size < max) break
      evict(k)
    }
    until.set(key, expiresAt)
  }

  const liveHighWater = (scope: string, t: number): number | undefined => {
    const until = highWaterUntil.get(scope)
    if (until === undefined) return undefined
    if (until > t) return highWater.get(scope)
    forget(scope)
    return undefined
  }

  const isDone = (key: string, t: number): boolean => {
    const until = done.get(key)
    if (until === undefined) return false
    if (until > t) return true
    done.delete(key)
    return false
  }

  // Leases normally end by complete/release; this catches the abandoned ones, so the map stays near the number of
  // deliveries in flight. Sweeping again only once it has doubled keeps the cost amortized O(1) per claim.
  const sweepLeases = (t: number): void => {
    if (leases.size < leaseSweepAt) return
    for (const [scope, lease] of leases) if (lease.expiresAt <= t) leases.delete(scope)
    leaseSweepAt = Math.max(LEASE_SWEEP_MIN, leases.size * 2)
  }

  const dropLease = (scope: string, token: string): void => {
    if (leases.get(scope)?.token === token) leases.delete(scope)
  }

  // Each operation runs to completion synchronously, which is what makes it atomic in one process; the promise is
  // only the interface's shape. A throw (bad leaseMs, a throwing clock) becomes a rejection.
  const atomically = <A>(operation: () => A): Promise<A> => new Promise((ok) => ok(operation()))

  const claim = (d: DeliveryKey, leaseMs: number): Promise<Claim> =>
    atomically(() => {
      const length = leaseLength(FACTORY, leaseMs)
      const t = now()
      if (isDone(d.key, t)) return DONE
      const held = leases.get(d.scope)
      if (held !== undefined && held.expiresAt > t) return { status: 'busy', retryAfterMs: Math.ceil(held.expiresAt - t) }
      sweepLeases(t)
      const token = nextToken()
      leases.set(d.scope, { token, expiresAt: t + length })
      return { status: 'claimed', token, highWater: liveHighWater(d.scope, t), transaction: undefined }
    })

  const complete = (d: DeliveryKey, token: string): Promise<void> =>
    atomically(() => {
      const version = markVersion(FACTORY, d.version)
      const t = now()
      remember(done, flat(d.key), t + ttlMs, t, (k) => done.delete(k))
      if (version !== undefined) {
        const current = liveHighWater(d.scope, t)
        const scope = flat(d.scope)
        remember(highWaterUntil, scope, t + ttlMs, t, forget)
        highWater.set(scope, current !== undefined && current >= version ? current : version)
      }
      dropLease(d.scope, token)
    })

  const release = (d: DeliveryKey, token: string): Promise<void> => atomically(() => dropLease(d.scope, token))

  return Object.freeze({ claim, complete, release })
}
