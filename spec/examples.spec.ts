import { expect } from 'chai'
import { Redis } from 'ioredis'
import { spawn, execFile } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import * as aboutYouShipment from '../examples/aboutyou-shipment.js'
import * as aboutYouWebhooks from '../examples/aboutyou-webhooks.js'
import * as musementHandler from '../examples/musement-handler.js'
import * as musementNext from '../examples/musement-next.js'
import * as musementRedis from '../examples/musement-redis.js'
import * as musementRouter from '../examples/musement-router.js'
import pg from 'pg'
import { aboutYouOrderItemsFixture, apiKeyHeader, basicAuthHeader, simulatePartner } from '../lib/testing/index.js'
import { jsonOf, postDelivery } from './helpers/deliver.js'
import { startPostgres, type TestPostgres } from './helpers/postgres-server.js'
import { startRedis, type TestRedis } from './helpers/redis-server.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const musementPayload = readFileSync(new URL('../examples/payloads/musement-order-item.json', import.meta.url))
const musementAuth = { Authorization: basicAuthHeader('musement', 'change-me') }

describe('examples', () => {
  const musementExamples = [
    ['musement-handler', musementHandler.createApp],
    ['musement-next', musementNext.createApp],
    ['musement-router', musementRouter.createApp]
  ] as const
  for (const [file, createApp] of musementExamples) {
    it(`${file}.ts answers the vendor example 200 and a wrong password 401`, async () => {
      const events: unknown[] = []
      const app = createApp((event) => void events.push(event))
      expect((await postDelivery(app, '/webhooks/musement', musementPayload, musementAuth)).status).to.equal(200)
      const wrong = await postDelivery(app, '/webhooks/musement', musementPayload, { Authorization: basicAuthHeader('musement', 'nope') })
      expect(wrong.status).to.equal(401)
      expect(events).to.have.length(1)
    })
  }

  const aboutYouPayload = readFileSync(new URL('../examples/payloads/aboutyou-order-items-shipped.json', import.meta.url))
  const aboutYouKey = apiKeyHeader('change-me-api-key')

  it('aboutyou-shipment.ts answers the vendor example 200, another event 400 and a wrong key 401', async () => {
    const events: unknown[] = []
    const app = aboutYouShipment.createApp((event) => void events.push(event))
    const path = '/webhooks/about-you/shipped'
    expect((await postDelivery(app, path, aboutYouPayload, aboutYouKey)).status).to.equal(200)
    expect((await postDelivery(app, path, aboutYouOrderItemsFixture('order_items.returned', { id: 2 }), aboutYouKey)).status).to.equal(400)
    expect((await postDelivery(app, path, aboutYouPayload, apiKeyHeader('wrong'))).status).to.equal(401)
    expect(events).to.have.length(1)
  })

  it('aboutyou-webhooks.ts dispatches all three events by name, takes the previous key only when it is set', async () => {
    const events: Array<{ event: string }> = []
    const withoutPrevious = aboutYouWebhooks.createApp(() => undefined)
    expect((await postDelivery(withoutPrevious, '/webhooks/about-you', aboutYouPayload, apiKeyHeader('old-api-key'))).status).to.equal(401)
    process.env.ABOUT_YOU_PREVIOUS_API_KEY = 'old-api-key'
    const app = aboutYouWebhooks.createApp((event) => void events.push(event))
    delete process.env.ABOUT_YOU_PREVIOUS_API_KEY
    for (const [i, name] of (['order_items.shipped', 'order_items.cancelled', 'order_items.returned'] as const).entries()) {
      expect((await postDelivery(app, '/webhooks/about-you', aboutYouOrderItemsFixture(name, { id: i + 1 }), aboutYouKey)).status).to.equal(200)
    }
    expect((await postDelivery(app, '/webhooks/about-you', aboutYouPayload, apiKeyHeader('old-api-key'))).status).to.equal(200)
    expect((await postDelivery(app, '/webhooks/about-you', aboutYouPayload, apiKeyHeader('wrong'))).status).to.equal(401)
    expect(events.map((e) => e.event)).to.deep.equal(['order_items.shipped', 'order_items.cancelled', 'order_items.returned'])
  })

  it('every example file is covered by a spec', () => {
    const files = readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.ts') && f !== 'serve.ts')
    const covered = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    for (const f of files) expect(covered, `examples/${f}`).to.contain(f.replace(/\.ts$/, ''))
  })

  describe('examples that print curl lines', function () {
    this.timeout(30_000)

    it('npm run example (examples/main.ts): starts, prints curl lines that work from the project root, each gets the status it promises', async () => {
      const output = await runPrintedCurlLines('examples/main.ts')
      expect(output).to.contain('musement order item 11045e18-e3ca-42e1-acb4-0d5be75036fd v22 is OK')
      expect(output).to.contain('about you order_items.shipped message 1: 1 item(s) via DHL')
    })

    it('examples/custom-partner.ts: the same for partners defined with definePartner', async () => {
      const output = await runPrintedCurlLines('examples/custom-partner.ts')
      expect(output).to.contain('booking BK-1001 v3 is confirmed')
      expect(output).to.match(/acme order\.paid ORD-42 \(acme:msg_\d+\)/)
    })
  })
})

/** Starts an example as `npx tsx <file>` would, runs every curl line it prints and checks the status each promises. */
const runPrintedCurlLines = async (file: string): Promise<string> => {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  try {
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner in time: ${output}`)), 20_000)
      child.stdout.on('data', () => {
        if (!/listening on/.test(output)) return
        clearTimeout(timer)
        setTimeout(resolve, 300) // the banner is printed at once; leave time for the pipe to deliver it all
      })
      child.once('exit', (code) => reject(new Error(`example exited with ${code}: ${output}`)))
    })
    const lines = output.split('\n')
    const checks = lines.flatMap((line, i) => {
      const expected = /\(expect (\d{3})\)/.exec(line)?.[1]
      const next = lines[i + 1]?.trim()
      return expected !== undefined && next?.startsWith('curl ') ? [{ expected: Number(expected), command: next }] : []
    })
    expect(checks.length, output).to.be.at.least(2)
    for (const { expected, command } of checks) {
      // -s -o /dev/null -w '%{http_code}' appended so the status can be read; the printed line is run as is.
      const { stdout } = await promisify(execFile)('sh', ['-c', `${command} -s -o /dev/null -w '%{http_code}'`], { cwd: root })
      expect(Number(stdout), command).to.equal(expected)
    }
    await new Promise((resolve) => setTimeout(resolve, 100)) // the handlers' log lines
    return output
  } finally {
    child.kill()
  }
}

describe('examples/musement-redis.ts (redisStore)', () => {
  let redis: TestRedis | undefined
  let client: Redis | undefined

  before(async () => {
    redis = await startRedis()
    client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    await once(client, 'ready')
  })

  after(async () => {
    await client?.quit()
    await redis?.stop()
  })

  it('answers the vendor example 200 processed, its repeat 200 duplicate (handled once) and a wrong password 401', async () => {
    if (client === undefined) return expect.fail('no Redis client')
    const events: unknown[] = []
    const app = musementRedis.createApp(client, (event) => void events.push(event))
    const first = await postDelivery(app, '/webhooks/musement', musementPayload, musementAuth)
    const again = await postDelivery(app, '/webhooks/musement', musementPayload, musementAuth)
    expect([first.status, again.status]).to.deep.equal([200, 200])
    expect([jsonOf(first), jsonOf(again)]).to.deep.equal([{ status: 'processed' }, { status: 'duplicate' }])
    const wrong = await postDelivery(app, '/webhooks/musement', musementPayload, { Authorization: basicAuthHeader('musement', 'nope') })
    expect(wrong.status).to.equal(401)
    expect(events).to.have.length(1)
  })
})

describe('examples/musement-postgres.ts (postgresStore), started as `tsx examples/musement-postgres.ts`', function () {
  this.timeout(30_000)
  let server: TestPostgres | undefined
  let pool: pg.Pool | undefined

  before(async () => {
    server = await startPostgres()
    pool = new pg.Pool({ connectionString: await server.createDatabase('example'), max: 2 })
  })

  after(async () => {
    await pool?.end()
    await server?.stop()
  })

  it('migrates, commits the order with the delivery (once for a repeat), and answers a wrong password 401', async () => {
    if (server === undefined || pool === undefined) return expect.fail('postgres did not start')
    const url = `postgres://postgres@127.0.0.1:${server.port}/example`
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/musement-postgres.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    try {
      let output = ''
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk
          const m = /localhost:(\d+)/.exec(output)
          if (m?.[1] !== undefined) resolve(Number(m[1]))
        })
        child.once('exit', (code) => reject(new Error(`example exited with ${code}: ${output}`)))
      })
      const targets = [`http://127.0.0.1:${port}`]
      const answers: unknown[] = []
      const delivery = { path: '/webhooks/musement', body: musementPayload, headers: musementAuth }
      const delivered = await simulatePartner({ targets, deliveries: [delivery], copies: 2, onAnswer: (a) => void answers.push(JSON.parse(a.body)) })
      expect(delivered.undelivered).to.deep.equal([])
      expect(answers).to.deep.equal([{ status: 'processed' }, { status: 'duplicate' }])
      const { rows: orders } = await pool.query('SELECT item_uuid, status, version FROM orders')
      expect(orders).to.deep.equal([{ item_uuid: '11045e18-e3ca-42e1-acb4-0d5be75036fd', status: 'OK', version: '22' }])
      const { rows: done } = await pool.query('SELECT key FROM webhook_deliveries')
      expect(done).to.deep.equal([{ key: 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22' }])
      const wrong = { Authorization: basicAuthHeader('musement', 'nope') }
      const refused = await simulatePartner({ targets, deliveries: [{ path: '/webhooks/musement', body: musementPayload, headers: wrong }], maxAttempts: 1 })
      expect([...refused.statuses]).to.deep.equal([[401, 1]])
    } finally {
      child.kill()
    }
  })
})

describe('examples/musement-handoff.ts (hand-off to BullMQ, Bull Board)', function () {
  this.timeout(30_000)
  let redis: TestRedis | undefined

  before(async () => {
    redis = await startRedis()
  })

  after(async () => {
    await redis?.stop()
  })

  it('starts, its curl lines get the statuses they promise, the worker handles the event, the dashboard answers', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/musement-handoff.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', REDIS_URL: redis?.url ?? '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    try {
      let output = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
      const waitForOutput = (pattern: RegExp, what: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${what} in time: ${output}`)), 20_000)
          const check = () => {
            if (!pattern.test(output)) return
            clearTimeout(timer)
            child.stdout.off('data', check)
            resolve()
          }
          child.stdout.on('data', check)
          child.once('exit', (code) => reject(new Error(`example exited with ${code}: ${output}`)))
          check()
        })
      await waitForOutput(/listening on[^]*expect 401\)[^]*curl [^\n]*\n/, 'banner')
      const lines = output.split('\n')
      const checks = lines.flatMap((line, i) => {
        const expected = /\(expect (\d{3})\)/.exec(line)?.[1]
        const next = lines[i + 1]?.trim()
        return expected !== undefined && next?.startsWith('curl ') ? [{ expected: Number(expected), command: next }] : []
      })
      expect(checks.map((c) => c.expected), output).to.deep.equal([200, 200, 401])
      for (const { expected, command } of checks) {
        const { stdout } = await promisify(execFile)('sh', ['-c', `${command} -s -o /dev/null -w '%{http_code}'`], { cwd: root })
        expect(Number(stdout), command).to.equal(expected)
      }
      await waitForOutput(/handled musement order item 11045e18-e3ca-42e1-acb4-0d5be75036fd v22 \(OK\), attempt 1/, 'worker line')
      const dashboard = /dashboard: (\S+)/.exec(output)?.[1] ?? ''
      const page = await fetch(dashboard)
      expect([page.status, (await page.text()).includes('<title>Bull Dashboard</title>')]).to.deep.equal([200, true])
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        await exited
      }
    }
  })
})
