import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { AboutYouEventName } from '../../lib/partners/aboutyou/codec.js'
import {
  aboutYouOrderItemsFixture,
  apiKeyHeader,
  basicAuthHeader,
  musementOrderItemFixture,
  SIMULATED_ATTEMPT_HEADER,
  simulatePartner,
  type DropConnections,
  type SimulatedAnswer
} from '../../lib/testing/index.js'

// The kit's seeded PRNG (not part of the public surface, imported from its module).
export { mulberry32 } from '../../lib/testing/simulator.js'
import { mulberry32 } from '../../lib/testing/simulator.js'

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * A number in [0, 1) fixed by `seed` and `label`. Concurrent code draws its decisions here rather than from one
 * shared stream, so a decision (this attempt fails, that one goes to instance B) does not depend on the interleaving.
 */
export const chance = (seed: number, label: string): number => mulberry32(seed ^ fnv1a(label))()

/** One event the partner wants received, with the idempotency key the middleware is expected to give it. */
export interface SimEvent {
  readonly key: string
  readonly path: string
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
  /** Musement only: the order item (lower-case UUID) and the version this event carries. */
  readonly item?: { readonly uuid: string; readonly version: number }
}

export const MUSEMENT_PATH = '/webhooks/musement'
export const ABOUT_YOU_PATH = '/webhooks/about-you'
export const MUSEMENT_CREDENTIALS = { username: 'musement', password: 'sim-secret' } as const
export const ABOUT_YOU_API_KEY = 'sim-api-key'

const uuidFrom = (rng: () => number): string => {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rng() * 16).toString(16)).join('')
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`
}

const STATUSES = ['PENDING', 'OK', 'REFUND_STARTED', 'REFUNDED'] as const

/** `items` Musement order items with 3 or 4 versions each (gaps included, as Musement skips versions it does not send). */
export const musementEvents = (rng: () => number, items: number): SimEvent[] => {
  const headers = { Authorization: basicAuthHeader(MUSEMENT_CREDENTIALS.username, MUSEMENT_CREDENTIALS.password) }
  return Array.from({ length: items }).flatMap(() => {
    const uuid = uuidFrom(rng)
    let version = 1 + Math.floor(rng() * 20)
    return Array.from({ length: rng() < 0.5 ? 3 : 4 }, (_, i) => {
      if (i > 0) version += 1 + Math.floor(rng() * 2)
      const body = musementOrderItemFixture({
        order_item_uuid: uuid,
        order_item_version: String(version),
        order_item_status: STATUSES[i] ?? 'OK'
      })
      return { key: `musement:${uuid}:${version}`, path: MUSEMENT_PATH, body: JSON.stringify(body), headers, item: { uuid, version } }
    })
  })
}

const ABOUT_YOU_EVENTS: ReadonlyArray<AboutYouEventName> = ['order_items.shipped', 'order_items.cancelled', 'order_items.returned']

/** `count` About You events, each with its own `subscription_id` + `id` (ids repeat across subscriptions on purpose). */
export const aboutYouEvents = (count: number): SimEvent[] =>
  Array.from({ length: count }, (_, i) => {
    const event = ABOUT_YOU_EVENTS[i % ABOUT_YOU_EVENTS.length] ?? 'order_items.shipped'
    const subscription = 1 + (i % 4)
    const id = 1 + Math.floor(i / 4)
    const body = aboutYouOrderItemsFixture(event, { id, subscription_id: subscription })
    return { key: `${event}:${subscription}:${id}`, path: ABOUT_YOU_PATH, body: JSON.stringify(body), headers: apiKeyHeader(ABOUT_YOU_API_KEY) }
  })

const Acknowledged = t.type({ status: t.keyof({ processed: null, duplicate: null, stale: null }) })
const Refused = t.type({ type: t.string })

/** What the partner saw. Every 200 answer's body status is kept per key; `refusedTypes` counts problem types. */
export interface PartnerReport {
  readonly deliveries: number
  readonly attempts: number
  readonly statuses: ReadonlyMap<number, number>
  readonly refusedTypes: ReadonlyMap<string, number>
  /** Key -> the `status` of each 200 answer (`processed`, `duplicate`, `stale`). */
  readonly acknowledged: ReadonlyMap<string, string[]>
  /** Attempt ids answered 503. */
  readonly unavailable: ReadonlySet<string>
  readonly undelivered: ReadonlyArray<string>
  readonly networkErrors: number
  readonly durationMs: number
}

export interface PartnerOptions {
  readonly seed: number
  readonly ports: ReadonlyArray<number>
  readonly events: ReadonlyArray<SimEvent>
  /** Requests in flight at once. */
  readonly concurrency: number
  /** The run gives up (leaving deliveries undelivered) once this much time has passed. */
  readonly deadlineMs: number
  readonly maxAttemptsPerDelivery: number
  /** Called after each delivery got its 200, with the number delivered so far. */
  readonly onDelivered?: (delivered: number) => void
  /** Passed on to the kit's simulator: attempts whose connection the partner drops. */
  readonly dropConnections?: DropConnections
}

/** The header (as Node lower-cases it) that names an attempt, so a test can tell which attempt reached a handler. */
export const ATTEMPT_HEADER = SIMULATED_ATTEMPT_HEADER.toLowerCase()

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const bump = <K>(m: Map<K, number>, k: K): void => void m.set(k, (m.get(k) ?? 0) + 1)

/**
 * The package's own partner simulator (`express-partner-webhooks/testing`), set up like a busy partner: every event
 * 1-3 times, shuffled, `concurrency` at a time, each attempt to a random instance, every non-200 retried after a
 * short capped backoff (not the multi-second Retry-After, to keep the test short). This adapter keeps per-key books.
 */
export const runPartner = async (o: PartnerOptions): Promise<PartnerReport> => {
  const refusedTypes = new Map<string, number>()
  const acknowledged = new Map<string, string[]>()
  const unavailable = new Set<string>()
  let delivered = 0
  const onAnswer = (a: SimulatedAnswer): void => {
    const key = o.events[a.delivery]?.key ?? ''
    const body = parse(a.body)
    const ack = Acknowledged.decode(body)
    if (a.status === 200 && E.isRight(ack)) {
      acknowledged.set(key, [...(acknowledged.get(key) ?? []), ack.right.status])
      o.onDelivered?.(++delivered)
      return
    }
    if (a.status === 0) return
    const refused = Refused.decode(body)
    bump(refusedTypes, `${a.status} ${E.isRight(refused) ? refused.right.type : 'no problem body'}`)
    if (a.status === 503) unavailable.add(a.id)
  }
  const report = await simulatePartner({
    targets: o.ports.map((port) => `http://127.0.0.1:${port}`),
    deliveries: o.events.map((e) => ({ path: e.path, body: e.body, headers: e.headers })),
    copies: [1, 3],
    shuffle: true,
    concurrency: o.concurrency,
    maxAttempts: o.maxAttemptsPerDelivery,
    retryDelayMs: (attempt) => Math.min(50, 2 ** attempt) * 0.75,
    deadlineMs: o.deadlineMs,
    seed: o.seed,
    onAnswer,
    ...(o.dropConnections === undefined ? {} : { dropConnections: o.dropConnections })
  })
  return {
    deliveries: report.sent,
    attempts: report.attempts,
    statuses: report.statuses,
    refusedTypes,
    acknowledged,
    unavailable,
    undelivered: report.undelivered.map((u) => `${o.events[u.delivery]?.key ?? '?'} (copy ${u.id}, last status ${u.lastStatus})`),
    networkErrors: report.statuses.get(0) ?? 0,
    durationMs: report.durationMs
  }
}
