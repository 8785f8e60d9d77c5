import { expect } from 'chai'
import type { ErrorRequestHandler, Express } from 'express'
import { Redis } from 'ioredis'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DeliveryStore } from '../../lib/core/delivery.js'
import type { Outcome, WebhookMiddleware, WebhookResponse } from '../../lib/core/types.js'
import { aboutYouShipment } from '../../lib/partners/aboutyou/middleware.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { redisStore } from '../../lib/stores/redis.js'
import { aboutYouOrderItemsFixture, apiKeyHeader, basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'
import { express } from '../helpers/express.js'
import { listen, type Listening } from '../helpers/raw-http.js'
import { startRedis, type TestRedis } from '../helpers/redis-server.js'

// Issue 11: the app's answer settles a claim, never the connection. A partner that gives up on a request (its timeout
// fires, the connection closes) and retries must not get the event handled twice, and a failure must never look
// handled. Each case runs over real HTTP with a client that times out, on the memory store and a real redis-server,
// for both partners.

interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/** One POST from a partner that waits at most `timeoutMs`, then drops the connection (status 0). */
const send = (port: number, path: string, body: string, headers: Readonly<Record<string, string>>, timeoutMs = 5000): Promise<Answer> =>
  new Promise((resolve) => {
    const all = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), ...headers }
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: all, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', () => resolve({ status: 0, headers: {}, text: '' }))
    })
    req.setTimeout(timeoutMs, () => req.destroy())
    req.on('error', () => resolve({ status: 0, headers: {}, text: '' }))
    req.end(body)
  })

const deferred = () => {
  let resolve: () => void = () => undefined
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

const until = async (condition: () => boolean, what: string): Promise<void> => {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5000) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

const statusOf = (a: Answer): unknown => (a.status === 200 ? (JSON.parse(a.text) as { status?: unknown }).status : undefined)

interface Partner {
  readonly name: string
  readonly path: string
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
  readonly middleware: (o: {
    store: DeliveryStore
    handler?: (event: unknown, req: unknown, res: WebhookResponse) => Promise<void>
    onOutcome: (o: Outcome) => void
  }) => WebhookMiddleware<never>
}

const partners: ReadonlyArray<Partner> = [
  {
    name: 'Musement',
    path: '/webhooks/musement',
    body: JSON.stringify(musementOrderItemFixture()),
    headers: { Authorization: basicAuthHeader('musement', 'secret') },
    middleware: (o) => musementOrderItem({ credentials: { username: 'musement', password: 'secret' }, ...o })
  },
  {
    name: 'About You',
    path: '/webhooks/about-you',
    body: JSON.stringify(aboutYouOrderItemsFixture('order_items.shipped')),
    headers: apiKeyHeader('key'),
    middleware: (o) => aboutYouShipment('order_items.shipped', { apiKeys: 'key', ...o })
  }
]

const errors: unknown[] = []
const onError: ErrorRequestHandler = (err, _req, res, _next) => {
  errors.push(err)
  res.status(500).json({ error: 'failed' })
}

describe('integration/connection-drops (the app decides, not the connection)', function () {
  this.timeout(20_000)
  let redis: TestRedis
  let client: Redis
  let servers: Listening[] = []
  let prefix = 0

  before(async () => {
    redis = await startRedis()
    client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true })
    await client.connect()
  })
  after(async () => {
    client.disconnect()
    await redis.stop()
  })
  afterEach(async () => {
    redis.resume()
    await Promise.all(servers.map((s) => s.close()))
    servers = []
    errors.length = 0
  })

  const serve = async (app: Express): Promise<number> => {
    const s = await listen(app)
    servers.push(s)
    return s.port
  }

  const stores: ReadonlyArray<readonly [string, () => DeliveryStore]> = [
    ['memory store', () => memoryStore()],
    ['Redis store', () => redisStore({ client, prefix: `drops${++prefix}:` })]
  ]

  for (const partner of partners) {
    for (const [storeName, createStore] of stores) {
      describe(`${partner.name}, ${storeName}`, () => {
        const post = (port: number, timeoutMs?: number) => send(port, partner.path, partner.body, partner.headers, timeoutMs)

        // A next() route that waits on `gate` before answering 200, counting its calls.
        const nextStyleApp = (store: DeliveryStore, gate: Promise<void>) => {
          const seen = { calls: 0, answered: 0, outcomes: new Array<Outcome>() }
          const app = express()
          app.post(partner.path, partner.middleware({ store, onOutcome: (o) => void seen.outcomes.push(o) }), async (_req, res) => {
            seen.calls++
            await gate
            res.status(200).json({ stored: true })
            seen.answered++
          })
          return { app, seen }
        }

        it('1. next() style, the partner gives up mid-route: its retry gets 409 while the route works, not a second run', async () => {
          const gate = deferred()
          const { app, seen } = nextStyleApp(createStore(), gate.promise)
          const port = await serve(app)
          expect((await post(port, 150)).status).to.equal(0)
          await sleep(50)
          const retry = await post(port)
          expect(retry.status).to.equal(409)
          // The route is quick; waiting out a 2-minute lease would delay the event for nothing.
          expect(Number(retry.headers['retry-after'])).to.be.within(1, 5)
          expect(seen.calls).to.equal(1)
          gate.resolve()
          await until(() => seen.answered === 1, 'the route to answer')
        })

        it('2. next() style, the route answers 200 after the drop: recorded, so a later retry is a duplicate', async () => {
          const gate = deferred()
          const { app, seen } = nextStyleApp(createStore(), gate.promise)
          const port = await serve(app)
          expect((await post(port, 150)).status).to.equal(0)
          gate.resolve()
          await until(() => seen.answered === 1, 'the route to answer')
          await until(() => seen.outcomes.length === 1, 'the outcome')
          expect(seen.outcomes[0]).to.include({ outcome: 'processed', status: 200 })
          const retry = await post(port)
          expect([retry.status, statusOf(retry)]).to.deep.equal([200, 'duplicate'])
          expect(seen.calls).to.equal(1)
        })

        it('3. next() style, the partner gives up while the claim is slow: the route still runs under the claim', async () => {
          const gate = deferred()
          const store = createStore()
          // A store answering late: the memory store behind a delay, or the real Redis frozen for a moment.
          const slow: DeliveryStore =
            storeName === 'Redis store'
              ? store
              : { ...store, claim: async (d, leaseMs) => (await sleep(300), store.claim(d, leaseMs)) }
          const { app, seen } = nextStyleApp(slow, gate.promise)
          const port = await serve(app)
          if (storeName === 'Redis store') redis.pause()
          const first = post(port, 150)
          if (storeName === 'Redis store') setTimeout(() => redis.resume(), 300)
          expect((await first).status).to.equal(0)
          await until(() => seen.calls === 1, 'the route to start')
          const retry = await post(port)
          expect(retry.status).to.equal(409)
          gate.resolve()
          await until(() => seen.outcomes.length === 1, 'the outcome')
          const later = await post(port)
          expect([later.status, statusOf(later)]).to.deep.equal([200, 'duplicate'])
          expect(seen.calls).to.equal(1)
        })

        for (const [label, reason] of [
          ['Promise.reject()', undefined],
          ['null', null],
          ['0', 0],
          ["''", ''],
          ['false', false]
        ] as const) {
          it(`4. a handler that rejects with ${label} fails: 5xx through the app's error handler, and the retry runs again`, async () => {
            let calls = 0
            const app = express()
            const handler = async (): Promise<void> => {
              if (++calls === 1) return Promise.reject(reason)
            }
            app.post(partner.path, partner.middleware({ store: createStore(), handler, onOutcome: () => undefined }))
            app.use((_req, res) => void res.status(200).send('fell through')) // a catch-all must never see it
            app.use(onError)
            const port = await serve(app)
            const first = await post(port)
            expect(first.status).to.equal(500)
            expect(errors).to.have.length(1)
            expect(errors[0]).to.be.instanceOf(Error)
            expect(errors[0]).to.have.property('cause', reason)
            const retry = await post(port)
            expect([retry.status, statusOf(retry)]).to.deep.equal([200, 'processed'])
            expect(calls).to.equal(2)
          })
        }

        it('5. a handler that writes its own 200 and then throws: done (the partner has its 200), the error reaches onOutcome', async () => {
          let calls = 0
          const outcomes: Outcome[] = []
          const boom = new Error('after the answer')
          const app = express()
          const handler = async (_event: unknown, _req: unknown, res: WebhookResponse): Promise<void> => {
            calls++
            res.status(200).json({ mine: true })
            throw boom
          }
          app.post(partner.path, partner.middleware({ store: createStore(), handler, onOutcome: (o) => void outcomes.push(o) }))
          app.use(onError)
          const port = await serve(app)
          const first = await post(port)
          expect([first.status, first.text]).to.deep.equal([200, '{"mine":true}'])
          await until(() => outcomes.length === 1, 'the outcome')
          expect(outcomes[0]).to.include({ outcome: 'processed', status: 200, error: boom })
          const retry = await post(port)
          expect([retry.status, statusOf(retry)]).to.deep.equal([200, 'duplicate'])
          expect(calls).to.equal(1)
        })
      })
    }

    it(`${partner.name}: every 503 says why: onOutcome carries the store's error when Redis is down`, async () => {
      const outcomes: Outcome[] = []
      const down = new Redis(`redis://127.0.0.1:1`, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null })
      const app = express()
      app.post(partner.path, partner.middleware({ store: redisStore({ client: down }), handler: async () => undefined, onOutcome: (o) => void outcomes.push(o) }))
      const port = await serve(app)
      const answer = await send(port, partner.path, partner.body, partner.headers)
      expect(answer.status).to.equal(503)
      await until(() => outcomes.length === 1, 'the outcome')
      expect(outcomes[0]).to.include({ outcome: 'failed', status: 503 })
      expect(outcomes[0]?.error).to.be.instanceOf(Error)
      down.disconnect()
    })
  }
})
