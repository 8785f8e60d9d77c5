import { expect } from 'chai'
import type { ErrorRequestHandler } from 'express'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { Claim, DeliveryKey } from '../../lib/core/delivery.js'
import type { Outcome } from '../../lib/core/types.js'
import { aboutYouShipment, aboutYouWebhooks } from '../../lib/partners/aboutyou/middleware.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { postgresStore, postgresStoreSchema, type PostgresStore } from '../../lib/stores/postgres.js'
import { aboutYouOrderItemsFixture, apiKeyHeader, basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'
import { jsonOf, postDelivery, problemOf } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres-server.js'
import { storeContract } from './store-contract.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const LONG_LEASE_MS = 60_000

type Claimed = Extract<Claim<pg.PoolClient>, { status: 'claimed' }>
const claimed = (c: Claim<pg.PoolClient>): Claimed => {
  if (c.status !== 'claimed') return expect.fail(`expected 'claimed', got ${JSON.stringify(c)}`)
  return c
}
const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => expect.fail('expected a rejection'), (e: unknown) => e)
const item = (uuid: string, version: number): DeliveryKey => ({ key: `${uuid}:${version}`, scope: uuid, version })

describe('postgresStore', function () {
  this.timeout(20_000)
  let server: TestPostgres
  let pool: pg.Pool
  // Runs the specs' own SQL (set-up, checks, killing sessions) outside any store.
  let admin: pg.Pool
  let tables = 0
  const nextTable = () => `epw_test_${++tables}`

  /** A store on a table of its own, migrated. */
  const freshStore = async (options: { ttlMs?: number; autoPrune?: boolean } = {}): Promise<PostgresStore<pg.PoolClient>> => {
    const store = postgresStore({ pool, table: nextTable(), ...options })
    await store.migrate()
    return store
  }
  const count = async (sql: string, values: ReadonlyArray<unknown> = []): Promise<number> => {
    const { rows } = await admin.query<{ n: string }>(sql, [...values])
    return Number(rows[0]?.n)
  }

  before(async () => {
    server = await startPostgres()
    pool = new pg.Pool({ connectionString: server.url, max: 30 })
    admin = new pg.Pool({ connectionString: server.url, max: 2 })
    await admin.query('CREATE TABLE effects (key text NOT NULL)')
  })

  // Tests leave claims open (a handler that never finished). Ending their sessions frees the pool, and has the
  // store meet a session Postgres ended under it, which must never crash the process.
  afterEach(async () => {
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`)
  })

  after(async () => {
    await pool?.end()
    await admin?.end()
    await server?.stop()
  })

  describe('with fresh tables per store', () => {
    let ready: string[] = []
    beforeEach(async () => {
      ready = []
      for (let i = 0; i < 2; i++) {
        const table = nextTable()
        await postgresStore({ pool, table }).migrate()
        ready.push(table)
      }
    })

    storeContract(
      () => ({
        create: (ttlMs) => {
          const table = ready.shift()
          if (table === undefined) throw new Error('the spec migrates two tables per test; a test asked for a third store')
          return postgresStore({ pool, table, ttlMs })
        },
        elapse: (ms) => sleep(ms)
      }),
      // The lease is Postgres's idle_in_transaction_session_timeout: it ends the idle holder's session.
      { shortLeaseMs: 200, shortTtlMs: 400 },
      { transactional: true }
    )
  })

  describe('the transaction', () => {
    it("commits the handler's writes together with the delivery record", async () => {
      const store = await freshStore()
      const c = claimed(await store.claim(item('a', 1), LONG_LEASE_MS))
      await c.transaction.query('INSERT INTO effects (key) VALUES ($1)', ['commit-1'])
      expect(await count(`SELECT count(*) AS n FROM effects WHERE key = 'commit-1'`), 'invisible before the commit').to.equal(0)
      await store.complete(item('a', 1), c.token)
      expect(await count(`SELECT count(*) AS n FROM effects WHERE key = 'commit-1'`)).to.equal(1)
      expect(await store.claim(item('a', 1), LONG_LEASE_MS)).to.deep.equal({ status: 'done' })
      expect(claimed(await store.claim(item('a', 2), LONG_LEASE_MS)).highWater).to.equal(1)
    })

    it("rolls the handler's writes back on release, and the delivery can be claimed again", async () => {
      const store = await freshStore()
      const c = claimed(await store.claim(item('a', 1), LONG_LEASE_MS))
      await c.transaction.query('INSERT INTO effects (key) VALUES ($1)', ['release-1'])
      await store.release(item('a', 1), c.token)
      expect(await count(`SELECT count(*) AS n FROM effects WHERE key = 'release-1'`)).to.equal(0)
      expect(claimed(await store.claim(item('a', 1), LONG_LEASE_MS)).highWater).to.equal(undefined)
    })

    it('refuses to complete a transaction a failed query aborted, recording nothing', async () => {
      const store = await freshStore()
      const c = claimed(await store.claim(item('a', 1), LONG_LEASE_MS))
      await c.transaction.query('INSERT INTO effects (key) VALUES ($1)', ['aborted-1'])
      // A handler that catches its own failed query: Postgres has aborted the transaction all the same.
      await c.transaction.query('SELECT * FROM no_such_table').catch(() => undefined)
      const error = await rejection(store.complete(item('a', 1), c.token))
      expect(error).to.be.instanceOf(Error).with.property('message').that.matches(/not recorded and its transaction was rolled back/)
      expect(await count(`SELECT count(*) AS n FROM effects WHERE key = 'aborted-1'`)).to.equal(0)
      expect(claimed(await store.claim(item('a', 1), LONG_LEASE_MS)).highWater).to.equal(undefined)
    })

    it('ends a holder idle for leaseMs (a hung handler): its writes roll back and a late completion fails', async () => {
      const store = await freshStore()
      const c = claimed(await store.claim(item('a', 1), 200))
      await c.transaction.query('INSERT INTO effects (key) VALUES ($1)', ['hung-1'])
      await sleep(500)
      expect(await rejection(store.complete(item('a', 1), c.token))).to.be.instanceOf(Error)
      expect(await count(`SELECT count(*) AS n FROM effects WHERE key = 'hung-1'`)).to.equal(0)
      expect(claimed(await store.claim(item('a', 1), LONG_LEASE_MS)).status).to.equal('claimed')
    })

    it('survives a session Postgres ends under a claim, and keeps working', async () => {
      const store = await freshStore()
      const c = claimed(await store.claim(item('a', 1), LONG_LEASE_MS))
      const { rows } = await c.transaction.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
      expect(await rejection(store.complete(item('a', 1), c.token))).to.be.instanceOf(Error)
      await store.release(item('a', 1), c.token)
      const again = claimed(await store.claim(item('a', 1), LONG_LEASE_MS))
      await store.complete(item('a', 1), again.token)
      expect(await store.claim(item('a', 1), LONG_LEASE_MS)).to.deep.equal({ status: 'done' })
    })

    it('frees the scope as soon as Postgres sees a killed holder disconnect, long before its 60 s lease', async () => {
      const store = await freshStore()
      const table = `epw_test_${tables}`
      const holder = spawn(process.execPath, ['--import', 'tsx', 'spec/helpers/postgres-holder.ts', server.url, table, 'killed'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit']
      })
      const exited = once(holder, 'exit')
      try {
        const [line] = await Promise.race([once(holder.stdout.setEncoding('utf8'), 'data'), exited.then(() => ['{}'])])
        const pid: unknown = JSON.parse(String(line)).pid
        expect(pid, 'the holder claimed').to.be.a('number')
        expect((await store.claim({ key: 'killed', scope: 'killed' }, LONG_LEASE_MS)).status).to.equal('busy')
        holder.kill('SIGKILL')
        await exited
        while ((await count('SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1', [pid])) > 0) await sleep(10)
        claimed(await store.claim({ key: 'killed', scope: 'killed' }, LONG_LEASE_MS))
      } finally {
        holder.kill('SIGKILL')
      }
    })

    it('keeps any key and scope text intact: quotes, backslashes and SQL in them are data', async () => {
      const store = await freshStore()
      const scope = `it's \\'; DROP TABLE effects; -- "ü" \\x00`
      const d = { key: `${scope}:1`, scope, version: 1 }
      const c = claimed(await store.claim(d, LONG_LEASE_MS))
      await store.complete(d, c.token)
      expect(await store.claim(d, LONG_LEASE_MS)).to.deep.equal({ status: 'done' })
      expect(claimed(await store.claim({ ...d, key: `${scope}:2`, version: 2 }, LONG_LEASE_MS)).highWater).to.equal(1)
      expect(await count(`SELECT count(*) AS n FROM epw_test_${tables} WHERE key = $1`, [d.key])).to.equal(1)
      expect(await rejection(store.claim({ key: 'nul\0', scope: 'nul\0' }, LONG_LEASE_MS))).to.be.instanceOf(TypeError)
    })

    it('keeps stores of different tables apart, and stores of one table together however it is named', async () => {
      const [a, b] = [await freshStore(), await freshStore()]
      claimed(await a.claim(item('shared', 1), LONG_LEASE_MS))
      claimed(await b.claim(item('shared', 1), LONG_LEASE_MS))
      const qualified = postgresStore({ pool, table: `public.epw_test_${tables}` })
      expect((await qualified.claim(item('shared', 2), LONG_LEASE_MS)).status).to.equal('busy')
    })
  })

  describe('behind the middleware', () => {
    const credentials = { username: 'musement', password: 'secret' }
    const auth = { Authorization: basicAuthHeader(credentials.username, credentials.password) }
    const onError: ErrorRequestHandler = (_err, _req, res, _next) => void res.status(500).json({ error: 'handler failed' })
    const effects = (key: string) => count('SELECT count(*) AS n FROM effects WHERE key = $1', [key])
    let uuids = 0
    // Each test its own order item, so the shared effects table needs no clean-up.
    const nextItem = () => `00000000-0000-4000-8000-${String(++uuids).padStart(12, '0')}`
    const body = (uuid: string, version: number) => musementOrderItemFixture({ order_item_uuid: uuid, order_item_version: String(version) })

    it("commits the handler's writes with the delivery record before answering 200; a repeat is a duplicate", async () => {
      const store = await freshStore()
      const uuid = nextItem()
      const app = express()
      app.post('/m', musementOrderItem({
        credentials,
        store,
        handler: async (event, _req, _res, delivery) => {
          await store.transaction(delivery).query('INSERT INTO effects (key) VALUES ($1)', [event.order_item_uuid])
        }
      }))
      const first = await postDelivery(app, '/m', body(uuid, 1), auth)
      const again = await postDelivery(app, '/m', body(uuid, 1), auth)
      expect([first.status, jsonOf(first), again.status, jsonOf(again)]).to.deep.equal([200, { status: 'processed' }, 200, { status: 'duplicate' }])
      expect(await effects(uuid)).to.equal(1)
    })

    it('rolls a throwing handler\'s writes back (5xx), and the retry commits them once', async () => {
      const store = await freshStore()
      const uuid = nextItem()
      let calls = 0
      const app = express()
      app.post('/m', musementOrderItem({
        credentials,
        store,
        handler: async (event, _req, _res, delivery) => {
          await store.transaction(delivery).query('INSERT INTO effects (key) VALUES ($1)', [event.order_item_uuid])
          if (++calls === 1) throw new Error('first call fails after writing')
        }
      }))
      app.use(onError)
      expect((await postDelivery(app, '/m', body(uuid, 1), auth)).status).to.equal(500)
      expect(await effects(uuid)).to.equal(0)
      expect((await postDelivery(app, '/m', body(uuid, 1), auth)).status).to.equal(200)
      expect(await effects(uuid)).to.equal(1)
    })

    it('answers 5xx, not 200, when the commit fails, so the partner retries the rolled-back work', async () => {
      const store = await freshStore()
      const uuid = nextItem()
      const outcomes: Outcome[] = []
      const app = express()
      app.post('/m', musementOrderItem({
        credentials,
        store,
        onOutcome: (o) => void outcomes.push(o),
        handler: async (event, _req, _res, delivery) => {
          await store.transaction(delivery).query('INSERT INTO effects (key) VALUES ($1)', [event.order_item_uuid])
          // Caught, but Postgres has aborted the transaction: COMMIT can only roll back.
          await store.transaction(delivery).query('SELECT * FROM no_such_table').catch(() => undefined)
        }
      }))
      app.use(onError)
      expect((await postDelivery(app, '/m', body(uuid, 1), auth)).status).to.equal(500)
      expect(outcomes.map((o) => [o.outcome, o.status])).to.deep.equal([['failed', 500]])
      expect(await effects(uuid)).to.equal(0)
      expect(claimed(await store.claim({ key: `musement:${uuid}:1`, scope: `musement:${uuid}`, version: 1 }, LONG_LEASE_MS)).highWater).to.equal(undefined)
    })

    it('answers 409 to a copy that arrives while the handler runs, and skips an older version afterwards', async () => {
      const store = await freshStore()
      const uuid = nextItem()
      const handled: number[] = []
      let started: () => void = () => undefined
      const running = new Promise<void>((resolve) => (started = resolve))
      let finish: () => void = () => undefined
      const gate = new Promise<void>((resolve) => (finish = resolve))
      const app = express()
      app.post('/m', musementOrderItem({
        credentials,
        store,
        handler: async (event) => {
          handled.push(event.order_item_version)
          started()
          await gate
        }
      }))
      const first = postDelivery(app, '/m', body(uuid, 5), auth)
      await running
      const copy = await postDelivery(app, '/m', body(uuid, 5), auth)
      const older = await postDelivery(app, '/m', body(uuid, 4), auth)
      finish()
      expect((await first).status).to.equal(200)
      expect([copy.status, problemOf(copy).type, older.status]).to.deep.equal([409, 'webhook.delivery.in_progress', 409])
      const late = await postDelivery(app, '/m', body(uuid, 4), auth)
      expect([late.status, jsonOf(late)]).to.deep.equal([200, { status: 'stale' }])
      expect(handled).to.deep.equal([5])
    })

    it('gives About You handlers the transaction, one event or several per URL', async () => {
      const store = await freshStore()
      const apiKeys = 'key'
      const insert = async (event: { id: number }, delivery: { readonly key: string }) => {
        await store.transaction(delivery).query('INSERT INTO effects (key) VALUES ($1)', [`aboutyou-${event.id}`])
      }
      const app = express()
      app.post('/one', aboutYouShipment('order_items.shipped', { apiKeys, store, handler: (event, _req, _res, delivery) => insert(event, delivery) }))
      app.post('/all', aboutYouWebhooks({ 'order_items.returned': (event, _req, _res, delivery) => insert(event, delivery) }, { apiKeys, store }))
      expect((await postDelivery(app, '/one', aboutYouOrderItemsFixture('order_items.shipped', { id: 9001 }), apiKeyHeader(apiKeys))).status).to.equal(200)
      expect((await postDelivery(app, '/all', aboutYouOrderItemsFixture('order_items.returned', { id: 9002 }), apiKeyHeader(apiKeys))).status).to.equal(200)
      expect([await effects('aboutyou-9001'), await effects('aboutyou-9002')]).to.deep.equal([1, 1])
    })

    it('refuses a next()-style route at factory time: it would answer before the commit', async () => {
      const store = await freshStore()
      expect(() => musementOrderItem({ credentials, store })).to.throw(TypeError, /^musementOrderItem: this store is transactional \(postgresStore\): pass `handler`/)
      expect(() => aboutYouShipment('order_items.shipped', { apiKeys: 'key', store })).to.throw(TypeError, /^aboutYouShipment: this store is transactional/)
    })
  })

  describe('retention', () => {
    const seedExpired = async (table: string, n: number) => {
      await admin.query(`INSERT INTO ${table} (key, expires_at) SELECT 'old-' || i, now() - interval '1 hour' FROM generate_series(1, $1) i`, [n])
      await admin.query(`INSERT INTO ${table}_versions (scope, version, expires_at) SELECT 'old-' || i, i, now() - interval '1 hour' FROM generate_series(1, $1) i`, [n])
    }

    it('prune() deletes every expired row in batches and keeps the live ones', async () => {
      const store = await freshStore({ autoPrune: false })
      const table = `epw_test_${tables}`
      await seedExpired(table, 2500)
      const c = claimed(await store.claim(item('live', 3), LONG_LEASE_MS))
      await store.complete(item('live', 3), c.token)
      expect(await store.prune()).to.deep.equal({ deliveries: 2500, versions: 2500 })
      expect(await count(`SELECT count(*) AS n FROM ${table}`)).to.equal(1)
      expect(await count(`SELECT count(*) AS n FROM ${table}_versions`)).to.equal(1)
      expect(await store.claim(item('live', 3), LONG_LEASE_MS)).to.deep.equal({ status: 'done' })
    })

    it('finds expired rows through the expires_at index, not by scanning the table', async () => {
      await freshStore()
      const table = `epw_test_${tables}`
      const client = await admin.connect()
      try {
        // Planner costs favour a scan on a tiny table; with scans priced out, the index must still be usable.
        await client.query('BEGIN; SET LOCAL enable_seqscan = off')
        for (const [t, id] of [[table, 'key'], [`${table}_versions`, 'scope']] as const) {
          const plan = await client.query(`EXPLAIN SELECT ${id} FROM ${t} WHERE expires_at <= now() ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED`)
          const text = JSON.stringify(plan.rows)
          expect(text).to.match(new RegExp(`Index Scan (?:using|on) ${t}_expires_at`))
          expect(text).not.to.contain('Seq Scan')
        }
      } finally {
        await client.query('ROLLBACK')
        client.release()
      }
    })

    it('prunes by itself after a completion, in the background', async () => {
      const store = await freshStore()
      const table = `epw_test_${tables}`
      await seedExpired(table, 10)
      const c = claimed(await store.claim(item('live', 1), LONG_LEASE_MS))
      await store.complete(item('live', 1), c.token)
      // Waits for the background pass to reach both tables (the test's timeout bounds it); the live rows stay.
      const left = async () => [await count(`SELECT count(*) AS n FROM ${table}`), await count(`SELECT count(*) AS n FROM ${table}_versions`)]
      while ((await left()).some((n) => n > 1)) await sleep(10)
      expect(await left()).to.deep.equal([1, 1])
    })
  })

  describe('schema', () => {
    it('migrate() creates the tables once, also when several instances start together', async () => {
      const table = nextTable()
      await Promise.all([1, 2, 3].map(() => postgresStore({ pool, table }).migrate()))
      await postgresStore({ pool, table }).migrate()
      expect(await count(`SELECT count(*) AS n FROM pg_tables WHERE tablename IN ($1, $2)`, [table, `${table}_versions`])).to.equal(2)
    })

    it('postgresStoreSchema() is the SQL migrate() runs, for the table named, schema-qualified or not', async () => {
      await admin.query('CREATE SCHEMA hooks')
      await admin.query(postgresStoreSchema('hooks.deliveries'))
      const store = postgresStore({ pool, table: 'hooks.deliveries' })
      await store.migrate()
      const c = claimed(await store.claim(item('a', 1), LONG_LEASE_MS))
      await store.complete(item('a', 1), c.token)
      expect(await count('SELECT count(*) AS n FROM hooks.deliveries')).to.equal(1)
      expect(postgresStoreSchema()).to.contain('CREATE TABLE IF NOT EXISTS webhook_deliveries (')
    })

    it('is shown in the README exactly as migrate() runs it, for teams that apply their own migrations', () => {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
      expect(readme).to.contain(`\`\`\`sql\n${postgresStoreSchema()}\`\`\``)
    })
  })

  describe('options', () => {
    const fails = (options: unknown, message: RegExp) => {
      // @ts-expect-error -- plain-JS callers can pass anything; the factory must say what is wrong
      expect(() => postgresStore(options)).to.throw(TypeError, message)
    }

    it('refuses a missing pool, a bad table name, bad numbers and unknown options', () => {
      fails({}, /^postgresStore: `pool` must be a pg Pool/)
      fails(undefined, /^postgresStore: expected an options object/)
      fails({ pool, table: 'Deliveries; DROP TABLE x' }, /`table` must be a lower-case SQL name/)
      fails({ pool, table: 'a'.repeat(41) }, /at most 40 characters/)
      fails({ pool, ttlMs: 0 }, /`ttlMs` must be a positive whole number/)
      fails({ pool, autoPrune: 'yes' }, /`autoPrune` must be true or false/)
      fails({ pool, tabel: 'x' }, /unknown option `tabel`\. Did you mean `table`\?/)
    })

    it("hands the handler the app's own pg PoolClient type, with no cast (checked by tsc)", () => {
      const store = postgresStore({ pool })
      const claim: (d: DeliveryKey, leaseMs: number) => Promise<Claim<pg.PoolClient>> = store.claim
      expect(claim).to.be.a('function')
      expect(store.transactional).to.equal(true)
    })
  })
})
