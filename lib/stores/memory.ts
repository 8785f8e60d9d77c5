import type { Claim, DeliveryKey, DeliveryStore } from '../core/delivery.js'
import { assertKnownKeys, assertOptionsObject, optionError, positiveInteger } from '../core/options.js'
import { digest, digestTable } from './digest-table.js'
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
 * Measured on Node 20 with keys built like the middleware builds them (`npm run bench -- --only=memory`, heap plus
 * typed-array contents after GC): at 1 M, 31 bytes per About You delivery and 71 per Musement delivery that also
 * leaves its own high-water mark (a new order item each time); at 100 k, 40 and 91, the tables having grown by
 * doubling. Re-completions and expired lookups leave holes that can grow a full table to a third above `max` slots
 * (measured: 94 bytes per Musement delivery at 1 M), so the default caps the store near 30-95 MB, plus the old copy
 * of a table for the moment it is rebuilt. That covers the full 72 h window at up to about 4 deliveries a second on
 * average; above that the oldest done keys are forgotten before their time, and a very late retry of one would run
 * again.
 */
export const DEFAULT_MAX_ENTRIES = 1_000_000

// Below this many leases, sweeping expired ones is not worth the pass; above it, sweeps are amortized O(1).
const LEASE_SWEEP_MIN = 1024

const DONE: Claim = Object.freeze({ status: 'done' })

// Lease tokens are a count shared by every store in the process, so no two leases ever get the same token and a
// holder whose lease expired can never complete or release the next holder's. A counter is cheaper than
// randomUUID() and needs no secrecy: only code in this process ever sees a token. Numbers stay exact to 2^53,
// which is 285 years of a million claims a second.
let tokensIssued = 0
const nextToken = (): string => (++tokensIssued).toString(36)

// A lease also keeps the digests its claim computed, so that its own completion need not hash the same strings again
// (a SHA-256 of a key takes about 0.3 µs here, a good part of a whole claim + complete).
interface Lease {
  readonly token: string
  readonly expiresAt: number
  readonly key: string
  readonly keyDigest: string
  readonly scopeDigest: string
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

/** The memory store: every answer is given at once, never as a promise; a bad argument throws. */
export interface MemoryStore extends DeliveryStore {
  claim(d: DeliveryKey, leaseMs: number): Claim
  complete(d: DeliveryKey, token: string): void
  release(d: DeliveryKey, token: string): void
}

/**
 * A `DeliveryStore` in this process's memory: the default, right for a single instance. It cannot coordinate
 * several instances (each has its own memory) and forgets everything on restart; use `redisStore` for either.
 *
 * @example
 * const store = memoryStore({ max: 100_000 })
 */
export const memoryStore = (options: MemoryStoreOptions = {}): MemoryStore => {
  const { max, ttlMs, now } = resolveOptions(options)
  // Done keys and scopes' high-water marks, each remembered by its digest (see `digest` for why that is safe) in
  // a table that drops the expired and, when full, the oldest first. Marks expire with the retention window too:
  // past it, a retry no longer reaches us either.
  const done = digestTable(max, false)
  const highWater = digestTable(max, true)
  // Scope -> in-flight claim. Kept apart from done keys because a lease's length is per claim (the pipeline's
  // handler budget), and because these must never be evicted for room: that would let a second handler run.
  const leases = new Map<string, Lease>()
  let leaseSweepAt = LEASE_SWEEP_MIN

  const liveHighWater = (scopeDigest: string, t: number): number | undefined => {
    const slot = highWater.find(scopeDigest, t)
    return slot === -1 ? undefined : highWater.valueAt(slot)
  }

  // Unversioned partners use the key as the scope: one digest serves both.
  const scopeDigestOf = (d: DeliveryKey, keyDigest: string): string => (d.scope === d.key ? keyDigest : digest(d.scope))

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

  // Each operation runs to completion synchronously, which is what makes it atomic in one process, and answers at
  // once (no promise), so the pipeline runs a request without a promise hop. A bad argument throws.
  const claim = (d: DeliveryKey, leaseMs: number): Claim => {
    const length = leaseLength(FACTORY, leaseMs)
    const t = now()
    const keyDigest = digest(d.key)
    if (done.find(keyDigest, t) !== -1) return DONE
    const held = leases.get(d.scope)
    if (held !== undefined && held.expiresAt > t) return { status: 'busy', retryAfterMs: Math.ceil(held.expiresAt - t) }
    sweepLeases(t)
    const token = nextToken()
    const scopeDigest = scopeDigestOf(d, keyDigest)
    leases.set(d.scope, { token, expiresAt: t + length, key: d.key, keyDigest, scopeDigest })
    return { status: 'claimed', token, highWater: liveHighWater(scopeDigest, t), transaction: undefined }
  }

  const complete = (d: DeliveryKey, token: string): void => {
    const version = markVersion(FACTORY, d.version)
    const t = now()
    // A late completion (its lease expired or was taken over) is still recorded, so it hashes afresh.
    const lease = leases.get(d.scope)
    const own = lease !== undefined && lease.token === token && lease.key === d.key ? lease : undefined
    const keyDigest = own?.keyDigest ?? digest(d.key)
    done.put(keyDigest, t + ttlMs, 0, t)
    if (version !== undefined) {
      const scopeDigest = own?.scopeDigest ?? scopeDigestOf(d, keyDigest)
      const current = liveHighWater(scopeDigest, t)
      highWater.put(scopeDigest, t + ttlMs, current !== undefined && current >= version ? current : version, t)
    }
    dropLease(d.scope, token)
  }

  const release = (d: DeliveryKey, token: string): void => dropLease(d.scope, token)

  return Object.freeze({ claim, complete, release })
}
