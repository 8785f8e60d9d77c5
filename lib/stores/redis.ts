import { createHash, randomUUID } from 'node:crypto'
import type { AsyncDeliveryStore, Claim, DeliveryKey } from '../core/delivery.js'
import { assertKnownKeys, assertOptionsObject, optionError, positiveInteger } from '../core/options.js'
import { DEFAULT_RETENTION_MS, leaseLength, markVersion } from './options.js'

const FACTORY = 'redisStore'

/**
 * The two commands the store sends. An ioredis `Redis` or `Cluster` satisfies it as is; ioredis is not a
 * dependency of this package, the app brings its own client.
 */
export interface RedisScriptClient {
  /** EVALSHA: runs a script Redis has cached, by its SHA-1. */
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
  /** EVAL: runs (and caches) a script, used once after NOSCRIPT. */
  eval(script: string, numkeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** The app's ioredis client; see {@link redisStore} for the settings that let the pipeline answer 503 fast. */
  readonly client: RedisScriptClient
  /** Prepended to every key, so several apps can share one Redis. Default `'epw:'`. No `{` or `}`. */
  readonly prefix?: string
  /** How long a done key and a scope's high-water mark are remembered, in ms. Default 72 h. */
  readonly ttlMs?: number
  /** An operation Redis has not answered within this many ms rejects, so the pipeline answers 503. Default 2000. */
  readonly timeoutMs?: number
}

/**
 * A healthy Redis answers these scripts in about a millisecond, so 2 s only trips on a hung or unreachable server,
 * and the partner still gets its 503 well before a typical webhook sender gives up on the request.
 */
export const DEFAULT_REDIS_TIMEOUT_MS = 2000

// KEYS: done, lease, high-water. ARGV: token, leaseMs. SET NX PX takes the lease only if none is live, and the
// lease key expires by itself, so a process that dies mid-handler frees the scope after leaseMs (nothing lost).
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'done'} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local left = redis.call('PTTL', KEYS[2])
  if left < 1 then left = 1 end
  return {'busy', left}
end
local mark = redis.call('GET', KEYS[3])
if mark then return {'claimed', mark} end
return {'claimed'}
`

// KEYS: done, lease, high-water. ARGV: token, ttlMs, version ('' when unversioned). The mark is kept as the
// caller's decimal string and compared as a number: max(), never lowered. Every completion restarts its retention.
const COMPLETE = `
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
if ARGV[3] ~= '' then
  local mark = tonumber(redis.call('GET', KEYS[3]))
  if mark == nil or tonumber(ARGV[3]) > mark then
    redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
  else
    redis.call('PEXPIRE', KEYS[3], ARGV[2])
  end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`

// KEYS: lease. ARGV: token. Token-checked, so a holder whose lease expired cannot drop its successor's lease.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`

interface Script {
  readonly lua: string
  readonly sha: string
}

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') })
const scripts = { claim: script(CLAIM), complete: script(COMPLETE), release: script(RELEASE) } as const

const isList = (u: unknown): u is ReadonlyArray<unknown> => Array.isArray(u)

const parseClaim = (reply: unknown, token: string): Claim => {
  const [status, value, ...rest] = isList(reply) ? reply : []
  if (rest.length === 0) {
    if (status === 'done' && value === undefined) return { status: 'done' }
    if (status === 'busy' && typeof value === 'number' && value > 0) return { status: 'busy', retryAfterMs: value }
    const mark = typeof value === 'string' ? Number(value) : value
    if (status === 'claimed' && (mark === undefined || (typeof mark === 'number' && Number.isFinite(mark)))) {
      return { status: 'claimed', token, highWater: mark, transaction: undefined }
    }
  }
  throw new Error(`${FACTORY}: unexpected reply to claim from Redis: ${JSON.stringify(reply)}`)
}

const resolveOptions = (options: RedisStoreOptions) => {
  assertOptionsObject(FACTORY, options)
  assertKnownKeys(FACTORY, options, ['client', 'prefix', 'ttlMs', 'timeoutMs'])
  const client: unknown = options.client
  const canEval = typeof client === 'object' && client !== null && 'eval' in client && 'evalsha' in client &&
    typeof client.eval === 'function' && typeof client.evalsha === 'function'
  if (!canEval) throw optionError(FACTORY, '`client` must be an ioredis client, e.g. new Redis(url, { enableOfflineQueue: false })')
  const prefix: unknown = options.prefix ?? 'epw:'
  // The store wraps each scope in a hash tag; braces in the prefix would change which part Redis Cluster hashes.
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw optionError(FACTORY, '`prefix` must be a string without `{` or `}` (the store adds a hash tag per scope)')
  }
  return {
    client: options.client,
    prefix,
    ttlMs: positiveInteger(FACTORY, 'ttlMs', options.ttlMs, DEFAULT_RETENTION_MS),
    timeoutMs: positiveInteger(FACTORY, 'timeoutMs', options.timeoutMs, DEFAULT_REDIS_TIMEOUT_MS)
  }
}

/**
 * A `DeliveryStore` in Redis, shared by every instance of the app and kept across restarts. Each operation is one
 * Lua script, so it is atomic even with many instances. Keys start with `prefix`, all expire, and the keys of one
 * scope share a hash tag, so they live in one Redis Cluster slot. A done key is filed under its delivery's scope,
 * so a given key must always come with the same scope (true for every partner: the scope is derived from the event).
 *
 * Create the client with `enableOfflineQueue: false` (or at least a low `maxRetriesPerRequest`): by default ioredis
 * queues commands while it reconnects, and each call would then wait for `timeoutMs` instead of failing at once.
 * Either way an unanswered operation rejects after `timeoutMs`, and the pipeline answers 503 so the partner retries.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const client = new Redis(process.env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
 * const store = redisStore({ client })
 */
export const redisStore = (options: RedisStoreOptions): AsyncDeliveryStore => {
  const { client, prefix, ttlMs, timeoutMs } = resolveOptions(options)

  const keysOf = (d: DeliveryKey) => {
    const scope = `${prefix}{${d.scope}}`
    return { done: `${scope}:done:${d.key}`, lease: `${scope}:lease`, highWater: `${scope}:hw` }
  }

  // EVALSHA sends 40 bytes instead of the script; after a Redis restart or SCRIPT FLUSH the script is sent once more.
  const evaluate = async (s: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>): Promise<unknown> => {
    try {
      return await client.evalsha(s.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return await client.eval(s.lua, keys.length, ...keys, ...args)
    }
  }

  const withTimeout = <T>(name: string, reply: Promise<T>): Promise<T> =>
    new Promise<T>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`${FACTORY}: ${name} got no answer from Redis within ${timeoutMs} ms`)), timeoutMs)
      reply.then(ok, fail).finally(() => clearTimeout(timer))
    })

  const run = (name: string, s: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) =>
    withTimeout(name, evaluate(s, keys, args))

  const claim = async (d: DeliveryKey, leaseMs: number): Promise<Claim> => {
    const length = leaseLength(FACTORY, leaseMs)
    const k = keysOf(d)
    const token = randomUUID()
    const reply = evaluate(scripts.claim, [k.done, k.lease, k.highWater], [token, length])
    try {
      return parseClaim(await withTimeout('claim', reply), token)
    } catch (err) {
      // The pipeline answers 503 and forgets this token. If the script ran after all (a slow, not a dead, Redis),
      // the lease it took would hold every retry off for leaseMs: give it back as soon as the late reply arrives.
      reply.then(() => release(d, token), () => undefined).catch(() => undefined)
      throw err
    }
  }

  const complete = async (d: DeliveryKey, token: string): Promise<void> => {
    const version = markVersion(FACTORY, d.version)
    const k = keysOf(d)
    await run('complete', scripts.complete, [k.done, k.lease, k.highWater], [token, ttlMs, version === undefined ? '' : String(version)])
  }

  const release = async (d: DeliveryKey, token: string): Promise<void> => {
    await run('release', scripts.release, [keysOf(d).lease], [token])
  }

  return Object.freeze({ claim, complete, release })
}
