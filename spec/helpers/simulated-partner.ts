import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AboutYouEventName } from '../../lib/partners/aboutyou/codec.js'
import { aboutYouOrderItemsFixture, apiKeyHeader, basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'

/** mulberry32, a tiny seeded PRNG: enough to make a run's events and decisions reproducible from its seed. */
export const mulberry32 = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

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

/** Fisher-Yates with a seeded PRNG. */
export const shuffle = <T>(rng: () => number, items: ReadonlyArray<T>): T[] => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    const a = out[i]
    const b = out[j]
    if (a === undefined || b === undefined) continue
    out[i] = b
    out[j] = a
  }
  return out
}

const Acknowledged = t.type({ status: t.keyof({ processed: null, duplicate: null, stale: null }) })
const Refused = t.type({ type: t.string })

/** What the partner saw. Every 200 answer's body status is kept per key; `refusedTypes` counts problem types. */
export interface PartnerReport {
  readonly deliveries: number
  attempts: number
  readonly statuses: Map<number, number>
  readonly refusedTypes: Map<string, number>
  /** Key -> the `status` of each 200 answer (`processed`, `duplicate`, `stale`). */
  readonly acknowledged: Map<string, string[]>
  /** Attempt ids answered 503. */
  readonly unavailable: Set<string>
  readonly undelivered: string[]
  networkErrors: number
  durationMs: number
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
}

/** The header that names an attempt, so a test can tell which attempt reached a handler. */
export const ATTEMPT_HEADER = 'x-sim-attempt'

interface Answer {
  readonly status: number
  readonly text: string
}

const post = (agent: Agent, port: number, e: SimEvent, attempt: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const headers = { ...e.headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(e.body)), [ATTEMPT_HEADER]: attempt }
    const req = httpRequest({ agent, host: '127.0.0.1', port, path: e.path, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')))
    req.on('error', reject)
    req.end(e.body)
  })

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const bump = <K>(m: Map<K, number>, k: K): void => void m.set(k, (m.get(k) ?? 0) + 1)

/**
 * A partner that sends every event 1-3 times (decided per event by the seed), shuffled, `concurrency` at a time,
 * each attempt to a random instance, and retries every non-200 answer after a short capped backoff (not the
 * multi-second Retry-After, to keep the test short) until it gets a 200 or runs out of attempts or time.
 */
export const runPartner = async (o: PartnerOptions): Promise<PartnerReport> => {
  const rng = mulberry32(o.seed)
  const plan = shuffle(rng, o.events.flatMap((e) => Array.from({ length: 1 + Math.floor(rng() * 3) }, () => e)))
  const report: PartnerReport = {
    deliveries: plan.length,
    attempts: 0,
    statuses: new Map(),
    refusedTypes: new Map(),
    acknowledged: new Map(),
    unavailable: new Set(),
    undelivered: [],
    networkErrors: 0,
    durationMs: 0
  }
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency })
  const started = performance.now()
  const deadline = started + o.deadlineMs
  let next = 0
  let delivered = 0

  const deliver = async (index: number, e: SimEvent): Promise<void> => {
    for (let attempt = 1; attempt <= o.maxAttemptsPerDelivery && performance.now() < deadline; attempt++) {
      const id = `${index}.${attempt}`
      const port = o.ports[Math.floor(chance(o.seed, `to:${id}`) * o.ports.length)] ?? 0
      report.attempts++
      const answer = await post(agent, port, e, id).catch(() => undefined)
      if (answer === undefined) report.networkErrors++
      else {
        bump(report.statuses, answer.status)
        const body = parse(answer.text)
        const ack = Acknowledged.decode(body)
        if (answer.status === 200 && E.isRight(ack)) {
          report.acknowledged.set(e.key, [...(report.acknowledged.get(e.key) ?? []), ack.right.status])
          o.onDelivered?.(++delivered)
          return
        }
        const refused = Refused.decode(body)
        bump(report.refusedTypes, `${answer.status} ${E.isRight(refused) ? refused.right.type : 'no problem body'}`)
        if (answer.status === 503) report.unavailable.add(id)
      }
      await sleep(Math.min(50, 2 ** attempt) * (0.5 + chance(o.seed, `backoff:${id}`)))
    }
    report.undelivered.push(`${e.key} (delivery ${index})`)
  }

  const worker = async (): Promise<void> => {
    for (let i = next++; i < plan.length; i = next++) {
      const e = plan[i]
      if (e !== undefined) await deliver(i, e)
    }
  }
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker))
  } finally {
    agent.destroy()
  }
  report.durationMs = performance.now() - started
  return report
}
