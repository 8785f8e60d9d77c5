import { expect } from 'chai'
import { build } from 'esbuild'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { postgresStore } from '../../lib/stores/postgres.js'
import { simulatePartner, type SimulatedAnswer } from '../../lib/testing/index.js'
import { startCluster } from '../helpers/crash-cluster.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres-server.js'
import { startRedis, type TestRedis } from '../helpers/redis-server.js'
import { aboutYouEvents, musementEvents, mulberry32, type SimEvent } from '../helpers/simulated-partner.js'

// Issue 13: three instances on one store, SIGKILLed at random moments (mid-handler included) and restarted, while a
// seeded partner sends over 1,000 events 1-3 times each, concurrently and out of order. With postgresStore every
// event's effect (written in the delivery's transaction) exists exactly once; with redisStore the effect is written
// before the delivery is recorded, in another system, and the doubles that window lets through are counted.
// SEED=<n> replays a run's events, copies, order, handler pauses and kill schedule (not the interleaving).
const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
const INSTANCES = 3
const KILLS = 24
const SPARES = 6
// What a kill leaves behind for Redis: every retry of the killed handler's delivery is refused 409 until it expires.
// Long enough that a live handler never outlives it, even on a busy machine (a double must come from a kill), short
// enough for the run. For Postgres it is only the idle timeout: a killed holder's lock goes with its connection.
const LEASE_MS = 5000
// The deadline bounds a stuck run; it is far above what a run needs, even on a busy shared machine.
const PARTNER = { concurrency: 24, deadlineMs: 100_000, maxAttempts: 2000 } as const
const root = fileURLToPath(new URL('../..', import.meta.url))

type StoreKind = 'postgres' | 'redis'

const Acknowledged = t.type({ status: t.keyof({ processed: null, duplicate: null, stale: null }) })

interface RunFigures {
  readonly store: StoreKind
  readonly events: number
  readonly deliveries: number
  readonly attempts: number
  readonly kills: number
  /** Kills that hit an instance with at least one handler running. */
  readonly midHandler: number
  readonly refused409: number
  /** Keys whose handler was running on a killed instance. */
  readonly orphans: number
  /** 409s answered to an orphaned key after its kill, before it got its 200. */
  readonly orphan409: number
  readonly orphan409Max: number
  readonly networkErrors: number
  readonly ms: number
}

interface RunResult {
  readonly figures: RunFigures
  readonly events: ReadonlyArray<SimEvent>
  readonly undelivered: ReadonlyArray<unknown>
  /** Key -> the `status` of each 200 answer. */
  readonly acknowledged: ReadonlyMap<string, string[]>
  /** Key -> effect rows. */
  readonly effects: ReadonlyMap<string, number>
  /** Musement item -> versions of its effect rows, in insertion order. */
  readonly versions: ReadonlyMap<string, number[]>
}

const scenarioEvents = (seed: number): SimEvent[] => [...musementEvents(mulberry32(seed), 250), ...aboutYouEvents(300)]

/** `KILLS` delivered-counts at which to kill, spread over the first ~80 % of the run (about 2 copies per event). */
const killSchedule = (seed: number, events: number): number[] => {
  const rng = mulberry32(seed ^ 0x5eed)
  return Array.from({ length: KILLS }, () => 20 + Math.floor(rng() * events * 1.6)).sort((a, b) => a - b)
}

const bump = <K>(m: Map<K, number>, k: K, by = 1): void => void m.set(k, (m.get(k) ?? 0) + by)

// App processes must start quickly even on a busy machine, so the app is bundled once, packages included, into one
// CommonJS file that plain node loads: no TypeScript and no module resolution at start-up.
const bundleApp = async (dir: string): Promise<string> => {
  const outfile = join(dir, 'crash-app.cjs')
  await build({ entryPoints: [join(root, 'spec/helpers/crash-app.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['pg-native'], outfile, logLevel: 'error' })
  return outfile
}

const run = async (kind: StoreKind, app: string, databaseUrl: string, redisUrl: string | undefined): Promise<RunResult> => {
  const events = scenarioEvents(SEED)
  const schedule = killSchedule(SEED, events.length)
  const pickRng = mulberry32(SEED ^ 0xc0ffee)
  const env = { ...process.env, CRASH_STORE: kind, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl ?? '', SEED: String(SEED), LEASE_MS: String(LEASE_MS) }
  const cluster = await startCluster({ app, cwd: root, env, instances: INSTANCES, spares: SPARES })

  // Keys whose handler a kill interrupted, until they are answered 200; and the 409s they got meanwhile.
  const orphaned = new Set<string>()
  const orphan409 = new Map<string, number>()
  let kills = 0
  let midHandler = 0
  let orphans = 0
  const acknowledged = new Map<string, string[]>()
  let delivered = 0
  let nextKill = 0
  const killDue = (): boolean => {
    const k = cluster.kill(pickRng())
    if (k === undefined) return false
    kills++
    if (k.inFlight.length > 0) midHandler++
    orphans += k.inFlight.length
    for (const key of k.inFlight) orphaned.add(key)
    return true
  }
  const onAnswer = (a: SimulatedAnswer): void => {
    const key = events[a.delivery]?.key ?? ''
    if (a.status === 409 && orphaned.has(key)) bump(orphan409, key)
    if (a.status !== 200) return
    orphaned.delete(key)
    const ack = Acknowledged.decode(JSON.parse(a.body))
    acknowledged.set(key, [...(acknowledged.get(key) ?? []), E.isRight(ack) ? ack.right.status : a.body])
    delivered++
    // A kill that cannot happen yet (no spare ready, one instance up) is tried again at the next 200.
    while (nextKill < schedule.length && delivered >= (schedule[nextKill] ?? Infinity) && killDue()) nextKill++
  }

  try {
    const report = await simulatePartner({
      targets: cluster.ports.map((port) => `http://127.0.0.1:${port}`),
      deliveries: events.map((e) => ({ path: e.path, body: e.body, headers: e.headers })),
      copies: [1, 3],
      shuffle: true,
      concurrency: PARTNER.concurrency,
      maxAttempts: PARTNER.maxAttempts,
      retryDelayMs: (attempt) => Math.min(50, 2 ** attempt) * 0.75,
      deadlineMs: PARTNER.deadlineMs,
      seed: SEED,
      onAnswer
    })
    await cluster.restarted()
    const { effects, versions } = await readEffects(databaseUrl)
    const figures: RunFigures = {
      store: kind,
      events: events.length,
      deliveries: report.sent,
      attempts: report.attempts,
      kills,
      midHandler,
      refused409: report.statuses.get(409) ?? 0,
      orphans,
      orphan409: [...orphan409.values()].reduce((a, b) => a + b, 0),
      orphan409Max: Math.max(0, ...orphan409.values()),
      networkErrors: report.statuses.get(0) ?? 0,
      ms: report.durationMs
    }
    return { figures, events, undelivered: report.undelivered, acknowledged, effects, versions }
  } finally {
    await cluster.stop()
  }
}

const EffectRow = t.type({ key: t.string, item: t.union([t.string, t.null]), version: t.union([t.string, t.null]) })

const readEffects = async (databaseUrl: string) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query('SELECT key, item, version FROM effects ORDER BY id')
    const effects = new Map<string, number>()
    const versions = new Map<string, number[]>()
    for (const raw of rows) {
      const row = EffectRow.decode(raw)
      if (E.isLeft(row)) throw new Error(`unexpected effect row ${JSON.stringify(raw)}`)
      bump(effects, row.right.key)
      if (row.right.item !== null) versions.set(row.right.item, [...(versions.get(row.right.item) ?? []), Number(row.right.version)])
    }
    return { effects, versions }
  } finally {
    await client.end()
  }
}

const prepare = async (server: TestPostgres, name: string): Promise<string> => {
  const url = await server.createDatabase(name)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    // No unique key on purpose: a second handling must show up as a second row, not as an error.
    await pool.query('CREATE TABLE effects (id bigserial PRIMARY KEY, key text NOT NULL, item text, version bigint, instance int)')
    await postgresStore({ pool }).migrate()
  } finally {
    await pool.end()
  }
  return url
}

/** Events whose effect was applied more than once, and Musement versions applied after a newer one of their item. */
const damage = (r: RunResult): { readonly doubles: number; readonly staleApplied: number } => ({
  doubles: [...r.effects.values()].filter((n) => n > 1).length,
  staleApplied: [...r.versions.values()].reduce((n, applied) => n + applied.filter((v, i) => applied.slice(0, i).some((w) => w > v)).length, 0)
})

const print = (f: RunFigures, d: { readonly doubles: number; readonly staleApplied: number }): void =>
  console.log(
    `      [${f.store}, seed ${SEED}] ${f.events} events, ${f.deliveries} deliveries, ${f.attempts} attempts in ${Math.round(f.ms)} ms; ` +
      `${f.kills} SIGKILLs (${f.midHandler} mid-handler, ${f.orphans} handlers killed), ${f.networkErrors} refused connections; ` +
      `${f.refused409} x 409 in all, ${f.orphan409} to killed handlers' keys after the kill (at most ${f.orphan409Max} per key); ` +
      `${d.doubles} events handled twice or more, ${d.staleApplied} older versions applied after a newer one`
  )

/** Every event was handled or (an older Musement version) answered stale after a newer one: nothing lost. */
const checkNothingLost = (r: RunResult): void => {
  expect(r.undelivered.length, `deliveries never answered 200, e.g. ${JSON.stringify(r.undelivered.slice(0, 3))}`).to.equal(0)
  const known = new Set(r.events.map((e) => e.key))
  expect([...r.effects.keys()].filter((k) => !known.has(k)), 'effects nobody sent').to.deep.equal([])
  for (const e of r.events) {
    if ((r.effects.get(e.key) ?? 0) > 0) continue
    const answers = r.acknowledged.get(e.key) ?? []
    expect(e.item, `${e.key} was lost (answers: ${answers.join()})`).not.to.equal(undefined)
    expect(answers.length > 0 && answers.every((a) => a === 'stale'), `${e.key} not handled, answered ${answers.join()}`).to.equal(true)
    const newer = (r.versions.get(e.item?.uuid ?? '') ?? []).some((v) => v > (e.item?.version ?? Infinity))
    expect(newer, `${e.key} answered stale but no newer version was handled`).to.equal(true)
  }
}

/** Per Musement item, the last version applied is the highest one sent. */
const checkLatestWins = (r: RunResult): void => {
  const highest = new Map<string, number>()
  for (const e of r.events) if (e.item !== undefined) highest.set(e.item.uuid, Math.max(highest.get(e.item.uuid) ?? 0, e.item.version))
  for (const [uuid, top] of highest) {
    const applied = r.versions.get(uuid) ?? []
    expect(applied.at(-1), `item ${uuid} applied ${applied.join(' -> ')}`).to.equal(top)
  }
}

describe(`integration: SIGKILLed instances (seed ${SEED}, SEED=${SEED} to replay)`, function () {
  this.timeout(150_000)
  let server: TestPostgres | undefined
  let redis: TestRedis | undefined
  let dir = ''
  let app = ''

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'epw-crash-'))
    app = await bundleApp(dir)
    server = await startPostgres()
    redis = await startRedis()
  })

  after(async () => {
    await redis?.stop()
    await server?.stop()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('postgresStore: every effect exactly once, versions in order, every delivery 200, no 409s held by the dead', async () => {
    if (server === undefined) return expect.fail('postgres did not start')
    const r = await run('postgres', app, await prepare(server, 'crash_postgres'), undefined)
    const d = damage(r)
    print(r.figures, d)
    expect(r.figures.events).to.be.at.least(1000)
    expect(r.figures.kills, 'kills').to.be.at.least(20)
    expect(r.figures.midHandler, 'kills that hit a running handler').to.be.at.least(10)
    checkNothingLost(r)
    expect([...r.effects].filter(([, n]) => n !== 1), 'events whose effect is not there exactly once').to.deep.equal([])
    checkLatestWins(r)
    // Each version at most once and none after a newer one: per item, strictly increasing.
    expect(d).to.deep.equal({ doubles: 0, staleApplied: 0 })
    // A lease that outlived its killed holder would answer every retry of the key 409 for LEASE_MS, which at the
    // partner's pace (a retry within 40 ms) is dozens. Postgres drops the lock with the connection: what remains is
    // a retry racing the kill, or another copy of the key being handled right then.
    expect(r.figures.orphan409Max, "409s for a killed handler's key after the kill").to.be.at.most(5)
  })

  // Here a kill between the effect and the completion leaves work done but not recorded: after the lease the retry
  // applies it again, and an older version arriving meanwhile finds no newer mark and is applied after it.
  it('redisStore under the same kills: nothing lost, every delivery 200; the doubles and late versions counted', async () => {
    if (server === undefined || redis === undefined) return expect.fail('servers did not start')
    const r = await run('redis', app, await prepare(server, 'crash_redis'), redis.url)
    print(r.figures, damage(r))
    expect(r.figures.kills, 'kills').to.be.at.least(20)
    checkNothingLost(r)
    checkLatestWins(r)
  })
})
