import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import type * as t from 'io-ts'
import { startPostgres, type TestPostgres } from '../spec/helpers/postgres-server.js'
import { startRedis, type TestRedis } from '../spec/helpers/redis-server.js'
import { PARTNERS } from './bodies.js'
import { forkBench, killAllNow, nextMessage, stopAll } from './children.js'
import { sizeTable, sizeTargets } from './decode-report.js'
import { handoffSection } from './handoff.js'
import { HTTP_FULL, HTTP_QUICK, runHttp, serversFor, stopLoad, type HttpRow, type ServerSpec } from './http.js'
import { fixed, grouped, ns, ratio, table, verdict } from './report.js'
import { DecodeMessage, MemoryMessage, PostgresMessage, RedisMessage, type HttpFigures } from './results.js'

// `npm run bench` runs everything; `npm run bench -- --quick` checks in under a minute that the bench still runs.
// `--only=http,decode,memory,redis,postgres,handoff` runs some sections. Every server, child, redis-server and
// postgres is stopped at the end, on an error and on Ctrl-C.

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const SECTIONS = ['http', 'decode', 'memory', 'redis', 'postgres', 'handoff'] as const
const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',')
const runs = (section: (typeof SECTIONS)[number]): boolean => only === undefined || only.includes(section)

const out = (line = ''): void => void process.stdout.write(`${line}\n`)
const progress = (line: string): void => void process.stderr.write(`${line}\n`)

let redis: TestRedis | undefined
let postgres: TestPostgres | undefined
const cleanup = async (): Promise<void> => {
  stopLoad()
  await stopAll()
  await redis?.stop()
  await postgres?.stop()
}
process.once('exit', killAllNow)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`\n${signal}: stopping every server, child, redis-server and postgres`)
    void cleanup().finally(() => process.exit(130))
  })
}

/** Runs `bench/<script>` in its own process and returns its one result message. */
const child = async <A>(codec: t.Decoder<unknown, A>, what: string, script: string, args: ReadonlyArray<string>, execArgv: ReadonlyArray<string> = [], env: NodeJS.ProcessEnv = {}): Promise<A> =>
  nextMessage(forkBench(script, args, execArgv, env), codec, what)

const cpuModel = (): string => {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m?.[1] !== undefined) return m[1].trim()
  } catch {
    // Not Linux; fall through.
  }
  return cpus()[0]?.model ?? 'unknown'
}

interface Targets {
  readonly lines: string[]
}

const httpSection = async (targets: Targets): Promise<void> => {
  const settings = quick ? HTTP_QUICK : HTTP_FULL
  out(`## HTTP (autocannon, 127.0.0.1, ${settings.connections} connections, pipelining ${settings.pipelining}, ` +
    `${settings.warmupSeconds} s warm-up, ${settings.rounds} x ${settings.seconds} s per server, medians of the rounds)`)
  out()
  out('Each server runs in its own process. Every request is a new delivery (distinct Musement order item UUID and')
  out('version, distinct About You message id); all servers of a partner get the same bodies. Server CPU is the')
  out('server process\'s user + system time per answered request, which the shared load generator does not blur.')
  out('Three references answer 200 and check nothing: `express.json()` (the baseline), Express with no body parser (the')
  out('ceiling for any Express middleware) and `node:http` alone (the floor for anything on Node\'s HTTP server).')
  for (const partner of PARTNERS) {
    const rows: HttpRow[] = await runHttp(partner, settings, progress)
    const reference = (role: ServerSpec['role']): HttpFigures | undefined => rows.find((r) => r.spec.role === role)?.figures
    const base = reference('baseline')
    const ceiling = reference('express')
    const floor = reference('node')
    if (base === undefined || ceiling === undefined || floor === undefined) continue
    const against = (f: HttpFigures, pick: (r: HttpFigures) => number): string[] => [base, ceiling, floor].map((r) => ratio(pick(f), pick(r)))
    out()
    out(`### ${partner === 'musement' ? 'Musement' : 'About You'} bodies`)
    out()
    out(table(
      ['server', 'req/s', 'x express.json()', 'x Express alone', 'x node:http', 'server CPU us/req', 'x express.json()', 'x Express alone', 'x node:http', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors'],
      rows.map(({ spec, figures: f }) => [
        spec.label, grouped(f.rps), ...against(f, (r) => r.rps), fixed(f.cpuUs, 1), ...against(f, (r) => r.cpuUs),
        fixed(f.p50, 2), fixed(f.p99, 2), grouped(f.requests), String(f.non2xx), String(f.errors)
      ])
    ))
    const ours = reference('ours')
    const openapi = reference('openapi')
    if (ours !== undefined && openapi !== undefined) {
      const name = partner === 'musement' ? 'Musement' : 'About You'
      targets.lines.push(`${name} route >= 1.2 x express.json() throughput: ${ratio(ours.rps, base.rps)} -> ${verdict(ours.rps >= 1.2 * base.rps)}`)
      targets.lines.push(`${name} route server CPU <= 0.85 x express.json(): ${ratio(ours.cpuUs, base.cpuUs)} -> ${verdict(ours.cpuUs <= 0.85 * base.cpuUs)}`)
      targets.lines.push(`${name} route ahead of express-openapi-validator: ${ratio(ours.rps, openapi.rps)} of its req/s -> ${verdict(ours.rps > openapi.rps)}`)
    }
    if (rows.some((r) => r.figures.non2xx + r.figures.errors > 0)) out('\nWARNING: some requests failed; the figures above are not comparable.')
  }
  out()
}

const decodeSection = async (targets: Targets): Promise<void> => {
  const d = await child(DecodeMessage, 'decode benchmark', 'decode.ts', quick ? ['--quick'] : [])
  out('## Decode (tinybench, one process, median time per call)')
  out()
  out('ajv only answers valid or not. Our codecs also build the decoded event: Dates from date-time strings, numbers')
  out('from digit strings, the `vat` default, unknown fields dropped; that allocation is part of our figure.')
  out()
  out(table(
    ['body', 'our codec', 'codec', 'ajv (same schema)', 'codec / ajv'],
    d.pairs.map((p) => [p.body, p.codecName, ns(p.codec.medianNs), ns(p.ajv.medianNs), ratio(p.codec.medianNs, p.ajv.medianNs)])
  ))
  out()
  out('Per partner: ns per item and time over ajv\'s (measured in the same run) for io-ts alone, the compiled decoder alone')
  out('(`compileDecoder`) and `decodeWith` (what the pipeline runs, `__proto__` and `-0` checks included). prepareJson is the')
  out('walk decodeWith ran before every decode until issue 16; it now runs only for a body the fast path refuses.')
  for (const series of d.series) {
    out()
    out(`### ${series.partner}: ${series.note}`)
    out()
    out(sizeTable(series))
  }
  out()
  targets.lines.push(...d.series.flatMap(sizeTargets))
}

const memorySection = async (targets: Targets): Promise<void> => {
  const sizes = quick ? [100_000] : [100_000, 1_000_000]
  const rows: MemoryMessage[] = []
  for (const entries of sizes) {
    for (const partner of PARTNERS) {
      progress(`  memory store: ${grouped(entries)} ${partner} deliveries`)
      rows.push(await child(MemoryMessage, 'memory benchmark', 'store.ts', ['memory', String(entries), partner], ['--expose-gc', '--max-old-space-size=4096']))
    }
  }
  out('## Memory store: heap per remembered delivery (after forced GC)')
  out()
  out('Keys are built the way the middleware builds them, from bodies decoded from JSON. Musement deliveries are each a')
  out('new order item, so each also leaves a version high-water mark; About You deliveries leave only the done key.')
  out('"bare Map" holds the same keys in a `Map<key, expiry>`: what a store that keeps each key string would start from.')
  out('Bytes are the V8 heap plus ArrayBuffer contents (typed arrays keep theirs outside the heap), both after GC.')
  out()
  out(table(
    ['deliveries', 'partner', 'key chars', 'memoryStore bytes/delivery', 'bare Map bytes/key', 'x bare Map', 'fill time'],
    rows.map((r) => [grouped(r.entries), r.partner, fixed(r.keyLength), fixed(r.storeBytes), fixed(r.bareMapBytes), ratio(r.storeBytes, r.bareMapBytes), `${fixed(r.fillSeconds, 1)} s`])
  ))
  out()
  const largest = Math.max(...sizes)
  for (const r of rows.filter((r) => r.entries === largest)) {
    const note = largest < 1_000_000 ? ' (judged at 100,000: --quick skips 1 M)' : ''
    targets.lines.push(`memory store <= 150 bytes per delivery at 1 M, ${r.partner}: ${fixed(r.storeBytes)} bytes${note} -> ${verdict(r.storeBytes <= 150)}`)
  }
}

const redisSection = async (): Promise<void> => {
  redis = await startRedis()
  const seconds = quick ? 1.5 : 5
  const r = await child(RedisMessage, 'redis benchmark', 'store.ts', ['redis', String(seconds)], [], { REDIS_URL: redis.url })
  await redis.stop()
  redis = undefined
  out(`## Redis store: claim + complete cycles against a local redis-server (${r.concurrency} concurrent, ${r.seconds} s each)`)
  out()
  out('Baseline: the same two round trips as plain `SET ... PX NX` / `SET ... PX` commands, without the Lua scripts.')
  out()
  out(table(
    ['run', 'cycles/s', 'x baseline', 'p50 ms', 'p99 ms'],
    [
      ['2 x SET (baseline)', grouped(r.baselineCycles), '1.00x', fixed(r.baselineP50Ms, 2), fixed(r.baselineP99Ms, 2)],
      ['redisStore claim + complete', grouped(r.storeCycles), ratio(r.storeCycles, r.baselineCycles), fixed(r.storeP50Ms, 2), fixed(r.storeP99Ms, 2)]
    ]
  ))
  out()
}

const postgresSection = async (): Promise<void> => {
  // Postgres's own defaults (fsync, full page writes, synchronous commit), unlike the test servers.
  postgres = await startPostgres({ durable: true })
  const url = await postgres.createDatabase('bench')
  const seconds = quick ? 1.5 : 5
  const runs: PostgresMessage[] = []
  for (const commit of ['on', 'off'] as const) {
    progress(`  postgres store: synchronous_commit=${commit}`)
    runs.push(await child(PostgresMessage, 'postgres benchmark', 'store.ts', ['postgres', String(seconds), commit], [], { DATABASE_URL: url }))
  }
  const first = runs[0]
  out(`## Postgres store: cycles against a local PostgreSQL ${first === undefined ? '' : `(${first.concurrency} concurrent, ${first.seconds} s each)`}`)
  out()
  out('Every cycle is a new delivery. Baseline: the same transaction written by hand (BEGIN, the effect row, a done-key row,')
  out('COMMIT) without the scope lock and the done/version read. `synchronous_commit=on` is the default: COMMIT waits for the')
  out('WAL to reach the disk, so it measures this machine\'s fsync as much as the store. The Redis figures above run with no')
  out('persistence at all.')
  out()
  out(table(
    ['run', 'synchronous_commit', 'cycles/s', 'x baseline', 'p50 ms', 'p99 ms'],
    runs.flatMap((r) => {
      const base = r.rows[0]?.cycles ?? NaN
      return r.rows.map((row) => [row.label, r.synchronousCommit, grouped(row.cycles), ratio(row.cycles, base), fixed(row.p50Ms, 2), fixed(row.p99Ms, 2)])
    })
  ))
  out()
  const settings = quick ? HTTP_QUICK : HTTP_FULL
  // The bare route and the memory-store route of the HTTP section, then the same route on postgresStore.
  const stored: ServerSpec = { label: 'musementOrderItem (postgresStore, handler INSERT in the transaction)', file: 'musement-postgres.ts', args: [], role: 'ours', env: { DATABASE_URL: url } }
  const rows = await runHttp('musement', settings, progress, [...serversFor('musement').filter((r) => r.role === 'baseline' || r.role === 'ours'), stored])
  const base = rows[0]?.figures
  out(`### HTTP with postgresStore (Musement bodies, synchronous_commit=on, ${settings.connections} connections, ${settings.rounds} x ${settings.seconds} s, medians)`)
  out()
  out(table(
    ['server', 'req/s', 'x baseline', 'p50 ms', 'p99 ms', 'server CPU us/req', 'requests', 'non-2xx', 'errors'],
    rows.map(({ spec, figures: f }) => [
      spec.label, grouped(f.rps), ratio(f.rps, base?.rps ?? NaN), fixed(f.p50, 2), fixed(f.p99, 2), fixed(f.cpuUs, 1), grouped(f.requests), String(f.non2xx), String(f.errors)
    ])
  ))
  out()
  out('Server CPU is the Node process only; Postgres\'s own work is not in it.')
  out()
  await postgres.stop()
  postgres = undefined
}

const main = async (): Promise<void> => {
  const started = performance.now()
  out(`# express-partner-webhooks bench${quick ? ' (--quick: short runs, to check the bench works; not for figures)' : ''}`)
  out()
  out(`- date: ${new Date().toISOString()}`)
  out(`- node: ${process.version} (${process.platform} ${process.arch})`)
  out(`- machine: ${availableParallelism()} cores, ${cpuModel()}`)
  out(`- command: npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`)
  out()
  const targets: Targets = { lines: [] }
  if (runs('http')) await httpSection(targets)
  if (runs('decode')) await decodeSection(targets)
  if (runs('memory')) await memorySection(targets)
  if (runs('redis')) await redisSection()
  if (runs('postgres')) await postgresSection()
  if (runs('handoff')) await handoffSection(quick, out, progress)
  out('## Targets')
  out()
  for (const line of targets.lines) out(`- ${line}`)
  out()
  out(`(bench took ${fixed((performance.now() - started) / 1000, 1)} s)`)
}

try {
  await main()
} finally {
  await cleanup()
}
