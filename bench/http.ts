import autocannon from 'autocannon'
import { bodyFor, partnerHeaders, partnerPath, type Partner } from './bodies.js'
import { startServer, type BenchServer } from './children.js'
import type { HttpFigures } from './results.js'

// HTTP throughput and latency with autocannon, against 127.0.0.1 only. Every server gets the same connections,
// pipelining, durations and bodies; every request in the whole run is a distinct delivery (one global sequence).

export interface HttpSettings {
  readonly connections: number
  readonly pipelining: number
  readonly warmupSeconds: number
  readonly seconds: number
  readonly rounds: number
}

export const HTTP_FULL: HttpSettings = { connections: 10, pipelining: 1, warmupSeconds: 3, seconds: 5, rounds: 7 }
export const HTTP_QUICK: HttpSettings = { connections: 10, pipelining: 1, warmupSeconds: 1, seconds: 2, rounds: 1 }

/** The servers compared on one partner's bodies; the first is the baseline. */
export interface ServerSpec {
  readonly label: string
  readonly file: string
  readonly args: ReadonlyArray<string>
  /** `baseline`, `express` and `node` are the references every row is compared with; they check nobody. */
  readonly role: 'baseline' | 'express' | 'node' | 'ours' | 'openapi' | 'ajv'
  /** Extra environment for the server process (e.g. DATABASE_URL). */
  readonly env?: NodeJS.ProcessEnv
}

export const serversFor = (partner: Partner): ReadonlyArray<ServerSpec> => [
  { label: 'express.json() + 200 (baseline)', file: 'baseline.ts', args: [], role: 'baseline' },
  { label: 'Express, no body parser, 200 (ceiling)', file: 'express-only.ts', args: [], role: 'express' },
  { label: 'node:http alone, 200 (floor)', file: 'node-http.ts', args: [], role: 'node' },
  partner === 'musement'
    ? { label: 'musementOrderItem (Basic auth, memory store)', file: 'musement.ts', args: [], role: 'ours' }
    : { label: "aboutYouShipment('order_items.shipped') (X-API-Key, memory store)", file: 'aboutyou.ts', args: [], role: 'ours' },
  { label: 'express-openapi-validator (+ auth handler)', file: 'openapi.ts', args: [partner], role: 'openapi' },
  { label: 'ajv-compiled schema in a route (+ auth check)', file: 'ajv.ts', args: [partner], role: 'ajv' }
]

/** The rows that only answer 200: what every other row is measured against. */
export const isReference = (spec: ServerSpec): boolean => spec.role === 'baseline' || spec.role === 'express' || spec.role === 'node'

let sequence = 0
let current: autocannon.Instance | undefined

/** Stops the load generator now (Ctrl-C). */
export const stopLoad = (): void => current?.stop()

interface Load {
  readonly result: autocannon.Result
  /** Latency of every 2xx response in ms, unsorted. */
  readonly latencies: ReadonlyArray<number>
}

export const load = (port: number, partner: Partner, seconds: number, settings: HttpSettings): Promise<Load> =>
  new Promise((ok, fail) => {
    const latencies: number[] = []
    const body = bodyFor(partner)
    current = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: settings.connections,
        pipelining: settings.pipelining,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: partnerPath(partner),
            headers: partnerHeaders(partner),
            setupRequest: (request) => ({ ...request, body: body(++sequence) })
          }
        ]
      },
      (err, result) => {
        current = undefined
        if (err === null) ok({ result, latencies })
        else fail(err)
      }
    )
    current.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms)
    })
  })

const post = async (port: number, partner: Partner, body: string, headers: Record<string, string>): Promise<number> => {
  const res = await fetch(`http://127.0.0.1:${port}${partnerPath(partner)}`, { method: 'POST', headers, body })
  await res.arrayBuffer()
  return res.status
}

/** A body the vendor's schema refuses (Musement: a version that is not digits; About You: message id 0). */
const invalidBody = (partner: Partner, n: number): string =>
  partner === 'musement' ? bodyFor(partner)(n).replace(/"order_item_version":"[0-9]+"/, '"order_item_version":"1e3"') : bodyFor(partner)(n).replace(/"id":[0-9]+/, '"id":0')

/**
 * Before measuring, prove the server does the work it is credited with: a valid delivery gets 200, and (except the
 * baseline) an invalid body gets 400 and wrong credentials get 401.
 */
const preflight = async (server: BenchServer, spec: ServerSpec, partner: Partner): Promise<void> => {
  const headers = partnerHeaders(partner)
  const expect = async (what: string, status: Promise<number>, wanted: number): Promise<void> => {
    const got = await status
    if (got !== wanted) throw new Error(`${spec.label} on ${partner} bodies: ${what} answered ${got}, expected ${wanted}`)
  }
  await expect('a valid delivery', post(server.port, partner, bodyFor(partner)(++sequence), headers), 200)
  if (isReference(spec)) return
  await expect('an invalid body', post(server.port, partner, invalidBody(partner, ++sequence), headers), 400)
  const wrong = partner === 'musement' ? { ...headers, authorization: 'Basic d3Jvbmc6d3Jvbmc=' } : { ...headers, 'x-api-key': 'wrong' }
  await expect('wrong credentials', post(server.port, partner, bodyFor(partner)(++sequence), wrong), 401)
}

const measure = async (server: BenchServer, partner: Partner, settings: HttpSettings): Promise<HttpFigures> => {
  const cpuBefore = await server.cpu()
  const { result: r, latencies } = await load(server.port, partner, settings.seconds, settings)
  const cpuAfter = await server.cpu()
  const requests = r.requests.total
  const sorted = [...latencies].sort((a, b) => a - b)
  return {
    rps: requests / r.duration,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpuUs: requests > 0 ? (cpuAfter - cpuBefore) / requests : NaN,
    requests,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts
  }
}

const percentile = (sorted: ReadonlyArray<number>, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

/** Per-round figures reduced to their medians; request and failure counts are summed. */
const combine = (rounds: ReadonlyArray<HttpFigures>): HttpFigures => ({
  rps: median(rounds.map((r) => r.rps)),
  p50: median(rounds.map((r) => r.p50)),
  p99: median(rounds.map((r) => r.p99)),
  cpuUs: median(rounds.map((r) => r.cpuUs)),
  requests: rounds.reduce((n, r) => n + r.requests, 0),
  non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
  errors: rounds.reduce((n, r) => n + r.errors, 0)
})

export interface HttpRow {
  readonly spec: ServerSpec
  readonly figures: HttpFigures
}

/**
 * Starts one process per server for `partner`, checks each, warms each up, then measures them in interleaved
 * rounds (the order rotates each round, so no server always runs first or last) and stops them.
 */
export const runHttp = async (
  partner: Partner,
  settings: HttpSettings,
  log: (line: string) => void,
  specs: ReadonlyArray<ServerSpec> = serversFor(partner)
): Promise<HttpRow[]> => {
  const servers = await Promise.all(specs.map((s) => startServer(s.label, s.file, s.args, [], s.env)))
  try {
    for (const [i, spec] of specs.entries()) {
      const server = servers[i]
      if (server === undefined) continue
      await preflight(server, spec, partner)
      await load(server.port, partner, settings.warmupSeconds, settings)
    }
    const rounds = specs.map((): HttpFigures[] => [])
    for (let round = 0; round < settings.rounds; round++) {
      for (let j = 0; j < specs.length; j++) {
        const i = (j + round) % specs.length
        const server = servers[i]
        if (server === undefined) continue
        const figures = await measure(server, partner, settings)
        rounds[i]?.push(figures)
        log(`  ${partner} round ${round + 1}/${settings.rounds}: ${specs[i]?.label}: ${Math.round(figures.rps)} req/s`)
      }
    }
    return specs.map((spec, i) => ({ spec, figures: combine(rounds[i] ?? []) }))
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}
