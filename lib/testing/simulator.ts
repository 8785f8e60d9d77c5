import { Agent, request as httpRequest, type RequestListener } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { listen, urlOf } from './listen.js'

/** One webhook the simulated partner must get answered 200. */
export interface PartnerDelivery {
  readonly path: string
  /** An object is sent as JSON; a string or Buffer byte for byte. */
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** Options of {@link simulatePartner}. */
export interface SimulatePartnerOptions {
  /** Base URLs (`http://127.0.0.1:3000`) or request listeners (an Express app); each attempt picks one at random. */
  readonly targets: ReadonlyArray<string | RequestListener>
  readonly deliveries: ReadonlyArray<PartnerDelivery>
  /** How often each delivery is sent: a number, or `[min, max]` drawn per delivery. Default 1. */
  readonly copies?: number | readonly [number, number]
  /** Send the copies in a seeded random order (late, out-of-order deliveries) rather than as given. Default false. */
  readonly shuffle?: boolean
  /** Requests in flight at once. Default 1. */
  readonly concurrency?: number
  /** Attempts per copy; every answer but 200 is retried, as Musement and About You do. Default 10. */
  readonly maxAttempts?: number
  /** Wait before retry `attempt` (2, 3, ...), in ms. Default 10 ms doubling up to 200 ms. */
  readonly retryDelayMs?: (attempt: number) => number
  /** The run stops retrying after this long. Default 30 s. */
  readonly deadlineMs?: number
  /** Makes copies, order and target choice reproducible. Default: random, and reported. */
  readonly seed?: number
  /** Sees every answer, e.g. to count 409s or to tie a handler call to an attempt (header `X-Simulated-Attempt`). */
  readonly onAnswer?: (answer: SimulatedAnswer) => void
  /**
   * Drops connections as a flaky network or an impatient partner does: each attempt is dropped with probability
   * `rate` (0 to 1), either halfway through sending its body or after a random wait of up to `maxWaitMs` once it is
   * sent (before, during or after your handler's work). A dropped attempt has status 0 and is retried. Default: none.
   */
  readonly dropConnections?: DropConnections
}

/** See {@link SimulatePartnerOptions.dropConnections}. */
export interface DropConnections {
  readonly rate: number
  readonly maxWaitMs: number
}

/** When an attempt's connection is dropped: `'mid-body'`, or this many ms after the body was sent. */
type Drop = 'mid-body' | number

/** One attempt's answer. `status` is 0 when the connection failed. */
export interface SimulatedAnswer {
  /** Index into `deliveries`. */
  readonly delivery: number
  /** `<delivery>.<copy>.<attempt>`, also sent in the `X-Simulated-Attempt` header. */
  readonly id: string
  readonly attempt: number
  readonly status: number
  readonly body: string
}

/** What the simulated partner saw. A healthy receiver has `undelivered` empty. */
export interface SimulationReport {
  readonly seed: number
  /** Copies sent (deliveries times their copies). */
  readonly sent: number
  readonly attempts: number
  readonly statuses: ReadonlyMap<number, number>
  /** Copies never answered 200 within `maxAttempts` or `deadlineMs`. */
  readonly undelivered: ReadonlyArray<{ readonly delivery: number; readonly id: string; readonly lastStatus: number }>
  readonly durationMs: number
}

/** The header that names each attempt. */
export const SIMULATED_ATTEMPT_HEADER = 'X-Simulated-Attempt'

/** mulberry32, a tiny seeded PRNG: enough to make a run reproducible from its seed. Internal to the kit. */
export const mulberry32 = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}


const post = (agent: Agent, url: URL, d: PartnerDelivery, id: string, drop: Drop | undefined): Promise<{ status: number; body: string }> =>
  new Promise((resolve) => {
    const payload = Buffer.isBuffer(d.body) ? d.body : Buffer.from(typeof d.body === 'string' ? d.body : JSON.stringify(d.body))
    const headers = { 'Content-Type': 'application/json', ...d.headers, 'Content-Length': String(payload.length), [SIMULATED_ATTEMPT_HEADER]: id }
    const req = httpRequest(url, { agent, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', () => resolve({ status: 0, body: '' }))
    })
    req.setTimeout(10_000, () => req.destroy())
    req.on('error', () => resolve({ status: 0, body: '' }))
    if (drop === 'mid-body') {
      req.flushHeaders()
      req.write(payload.subarray(0, payload.length >> 1), () => req.destroy())
      return
    }
    req.end(payload)
    if (drop !== undefined) setTimeout(() => req.destroy(), drop)
  })

const dropOf = (drop: DropConnections | undefined, rng: () => number): Drop | undefined => {
  if (drop === undefined) return undefined
  const [dropped, where, wait] = [rng(), rng(), rng()]
  if (dropped >= drop.rate) return undefined
  return where < 0.2 ? 'mid-body' : Math.floor(wait * drop.maxWaitMs)
}

const plan = (o: SimulatePartnerOptions, rng: () => number): Array<{ delivery: number; copy: number }> => {
  const [min, max] = typeof o.copies === 'number' ? [o.copies, o.copies] : (o.copies ?? [1, 1])
  const copies = o.deliveries.flatMap((_, delivery) =>
    Array.from({ length: min + Math.floor(rng() * (max - min + 1)) }, (__, copy) => ({ delivery, copy }))
  )
  if (o.shuffle === true) {
    for (let i = copies.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1))
      const [a, b] = [copies[i], copies[j]]
      if (a !== undefined && b !== undefined) [copies[i], copies[j]] = [b, a]
    }
  }
  return copies
}

/**
 * Behaves like a webhook partner against your app, for your own integration tests: sends every delivery (optionally
 * several times, shuffled, concurrently, to several instances) and retries every answer but 200, as Musement and
 * About You do. Traffic goes only to the targets you give (use 127.0.0.1).
 *
 * @example
 * const report = await simulatePartner({
 *   targets: [app],
 *   deliveries: [{ path: '/webhooks/musement', body: musementOrderItemFixture(), headers: { Authorization: basicAuthHeader('u', 'p') } }],
 *   copies: [1, 3],
 *   shuffle: true
 * })
 * assert.deepEqual(report.undelivered, [])
 */
export const simulatePartner = async (o: SimulatePartnerOptions): Promise<SimulationReport> => {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32)
  const rng = mulberry32(seed)
  const maxAttempts = o.maxAttempts ?? 10
  const delay = o.retryDelayMs ?? ((attempt: number) => Math.min(200, 10 * 2 ** (attempt - 2)))
  const servers = await Promise.all(o.targets.flatMap((t) => (typeof t === 'string' ? [] : [listen(t)])))
  const urls = [...o.targets.filter((t): t is string => typeof t === 'string'), ...servers.map(urlOf)]
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency ?? 1 })
  const statuses = new Map<number, number>()
  const undelivered: Array<{ delivery: number; id: string; lastStatus: number }> = []
  const copies = plan(o, rng)
  const targetOf = copies.map(() => Array.from({ length: maxAttempts }, () => Math.floor(rng() * urls.length)))
  const drops = copies.map(() => Array.from({ length: maxAttempts }, () => dropOf(o.dropConnections, rng)))
  const started = performance.now()
  let attempts = 0
  let next = 0

  const send = async (index: number): Promise<void> => {
    const { delivery, copy } = copies[index] ?? { delivery: 0, copy: 0 }
    const d = o.deliveries[delivery]
    let lastStatus = 0
    for (let attempt = 1; d !== undefined && attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(delay(attempt))
      if (performance.now() - started > (o.deadlineMs ?? 30_000)) break
      const id = `${delivery}.${copy}.${attempt}`
      const base = urls[targetOf[index]?.[attempt - 1] ?? 0] ?? ''
      const answer = await post(agent, new URL(d.path, base), d, id, drops[index]?.[attempt - 1])
      attempts++
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
      o.onAnswer?.({ delivery, id, attempt, ...answer })
      lastStatus = answer.status
      if (answer.status === 200) return
    }
    undelivered.push({ delivery, id: `${delivery}.${copy}`, lastStatus })
  }

  const worker = async (): Promise<void> => {
    for (let i = next++; i < copies.length; i = next++) await send(i)
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 1) }, worker))
  } finally {
    agent.destroy()
    for (const server of servers) server.closeAllConnections()
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  }
  return { seed, sent: copies.length, attempts, statuses, undelivered, durationMs: performance.now() - started }
}
