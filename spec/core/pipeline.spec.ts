import { expect } from 'chai'
import type { ErrorRequestHandler } from 'express'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DeliveryStore } from '../../lib/core/delivery.js'
import type { DeliveryInfo } from '../../lib/core/exactly-once.js'
import type { Outcome, WebhookOptions } from '../../lib/core/types.js'
import type { MusementOrderItemEvent } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { memoryStore } from '../../lib/stores/memory.js'
import { basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'
import { jsonOf, postDelivery, problemOf } from '../helpers/deliver.js'
import { express } from '../helpers/express.js'

// The delivery guarantees live in the shared pipeline; Musement is the vehicle because it has versions too.
const PATH = '/hook'
const credentials = { username: 'u', password: 'p' }
const auth = { Authorization: basicAuthHeader('u', 'p') }
const v = (version: number, overrides: Parameters<typeof musementOrderItemFixture>[0] = {}) =>
  musementOrderItemFixture({ order_item_version: String(version), ...overrides })

type Calls = Array<{ version: number; delivery: DeliveryInfo }>

const handlerApp = (options: WebhookOptions<MusementOrderItemEvent> = {}, calls: Calls = []) => {
  const outcomes: Outcome[] = []
  const app = express()
  app.post(
    PATH,
    musementOrderItem({
      credentials,
      handler: (event, _req, _res, delivery) => void calls.push({ version: event.order_item_version, delivery }),
      onOutcome: (o) => void outcomes.push(o),
      ...options
    })
  )
  const onError: ErrorRequestHandler = (_err, _req, res, _next) => void res.status(500).json({ error: 'handler failed' })
  app.use(onError)
  return { app, calls, outcomes }
}

const deferred = () => {
  let resolve: () => void = () => undefined
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** A store that is down: every operation rejects, like a Redis client with its offline queue disabled. */
const downStore: DeliveryStore = {
  claim: () => Promise.reject(new Error('ECONNREFUSED')),
  complete: () => Promise.reject(new Error('ECONNREFUSED')),
  release: () => Promise.reject(new Error('ECONNREFUSED'))
}

describe('core/pipeline (delivery guarantees)', () => {
  it('hands a delivery to the handler once; a repeat is answered 200 without calling it', async () => {
    const { app, calls, outcomes } = handlerApp()
    const first = await postDelivery(app, PATH, v(22), auth)
    const again = await postDelivery(app, PATH, v(22), auth)
    expect([first.status, again.status]).to.deep.equal([200, 200])
    expect([jsonOf(first), jsonOf(again)]).to.deep.equal([{ status: 'processed' }, { status: 'duplicate' }])
    expect(calls).to.have.length(1)
    expect(calls[0]?.delivery).to.deep.equal({ partner: 'musement', key: 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22', stale: false })
    expect(outcomes.map((o) => [o.outcome, o.status, o.key])).to.deep.equal([
      ['processed', 200, 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22'],
      ['duplicate', 200, 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22']
    ])
    expect(outcomes.every((o) => o.partner === 'musement' && o.durationMs >= 0)).to.equal(true)
  })

  it('treats the same UUID in another case as the same delivery', async () => {
    const { app, calls } = handlerApp()
    await postDelivery(app, PATH, v(22), auth)
    const upper = await postDelivery(app, PATH, v(22, { order_item_uuid: '11045E18-E3CA-42E1-ACB4-0D5BE75036FD' }), auth)
    expect(jsonOf(upper)).to.deep.equal({ status: 'duplicate' })
    expect(calls).to.have.length(1)
  })

  it('answers a concurrent repeat 409 with Retry-After while the first is still running, without a second call', async () => {
    const gate = deferred()
    let calls = 0
    const { app, outcomes } = handlerApp({
      handler: async () => {
        calls++
        await gate.promise
      }
    })
    const first = postDelivery(app, PATH, v(22), auth)
    await new Promise((r) => setTimeout(r, 50))
    const concurrent = await postDelivery(app, PATH, v(22), auth)
    expect(concurrent.status).to.equal(409)
    expect(Number(concurrent.headers['retry-after'])).to.be.at.least(1)
    expect(problemOf(concurrent).type).to.equal('webhook.delivery.in_progress')
    gate.resolve()
    expect((await first).status).to.equal(200)
    expect(calls).to.equal(1)
    expect(outcomes.map((o) => o.outcome)).to.deep.equal(['busy', 'processed'])
  })

  it('holds other versions of the same item off too, so versions are handled one at a time', async () => {
    const gate = deferred()
    const { app } = handlerApp({ handler: (event) => (event.order_item_uuid.startsWith('11045e18') ? gate.promise : undefined) })
    const first = postDelivery(app, PATH, v(22), auth)
    await new Promise((r) => setTimeout(r, 50))
    expect((await postDelivery(app, PATH, v(23), auth)).status).to.equal(409)
    expect((await postDelivery(app, PATH, v(22, { order_item_uuid: '00000000-0000-4000-8000-000000000000' }), auth)).status).to.equal(200)
    gate.resolve()
    await first
  })

  it('releases the claim when the handler fails (5xx), so the retry runs the handler again', async () => {
    let attempts = 0
    const { app, outcomes } = handlerApp({
      handler: () => {
        attempts++
        if (attempts === 1) throw new Error('flaky database')
      }
    })
    expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(500)
    expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
    expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
    expect(attempts).to.equal(2)
    expect(outcomes.map((o) => o.outcome)).to.deep.equal(['failed', 'processed', 'duplicate'])
    expect(String(outcomes[0]?.error)).to.contain('flaky database')
  })

  it('skips an older version that arrives after a newer one was handled (answered 200)', async () => {
    const { app, calls, outcomes } = handlerApp()
    await postDelivery(app, PATH, v(23), auth)
    const late = await postDelivery(app, PATH, v(22), auth)
    expect(late.status).to.equal(200)
    expect(jsonOf(late)).to.deep.equal({ status: 'stale' })
    expect(calls.map((c) => c.version)).to.deep.equal([23])
    expect(outcomes.map((o) => o.outcome)).to.deep.equal(['processed', 'stale'])
    await postDelivery(app, PATH, v(24), auth)
    expect(calls.map((c) => c.version)).to.deep.equal([23, 24])
  })

  it("delivers an older version flagged stale with staleVersions: 'deliver'", async () => {
    const { app, calls } = handlerApp({ staleVersions: 'deliver' })
    await postDelivery(app, PATH, v(23), auth)
    expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
    expect(calls.map((c) => [c.version, c.delivery.stale])).to.deep.equal([
      [23, false],
      [22, true]
    ])
    // Handling the old version does not lower the mark: 22 again is a duplicate, 23 still current.
    expect(jsonOf(await postDelivery(app, PATH, v(22), auth))).to.deep.equal({ status: 'duplicate' })
  })

  it('records a delivery as done only if a handler that answered itself answered 200', async () => {
    let attempts = 0
    const { app, outcomes } = handlerApp({
      handler: (_event, _req, res) => {
        attempts++
        res.status(attempts === 1 ? 503 : 200).json({ attempt: attempts })
      }
    })
    expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(503)
    await new Promise((r) => setTimeout(r, 20))
    expect(jsonOf(await postDelivery(app, PATH, v(22), auth))).to.deep.equal({ attempt: 2 })
    await new Promise((r) => setTimeout(r, 20))
    expect(jsonOf(await postDelivery(app, PATH, v(22), auth))).to.deep.equal({ status: 'duplicate' })
    expect(attempts).to.equal(2)
    expect(outcomes.map((o) => [o.outcome, o.status])).to.deep.equal([
      ['failed', 503],
      ['processed', 200],
      ['duplicate', 200]
    ])
  })

  it('fails closed with 503 and Retry-After when the store is unreachable; the handler is not called', async () => {
    const rejections: string[] = []
    const { app, calls, outcomes } = handlerApp({ store: downStore, onReject: (r) => void rejections.push(r.type) })
    const res = await postDelivery(app, PATH, v(22), auth)
    expect(res.status).to.equal(503)
    expect(res.headers['retry-after']).to.equal('5')
    expect(problemOf(res)).to.include({ type: 'webhook.store.unavailable' })
    expect(res.text).not.to.contain('ECONNREFUSED')
    expect(calls).to.have.length(0)
    expect(outcomes.map((o) => [o.outcome, o.status])).to.deep.equal([['failed', 503]])
    expect(rejections, 'onReject sees every refused request').to.deep.equal(['webhook.store.unavailable'])
  })

  it('fails closed with 503 when a store that answers at once throws instead of rejecting', async () => {
    const throwing: DeliveryStore = {
      claim: () => {
        throw new Error('ECONNREFUSED')
      },
      complete: () => undefined,
      release: () => undefined
    }
    const { app, calls, outcomes } = handlerApp({ store: throwing })
    const res = await postDelivery(app, PATH, v(22), auth)
    expect(res.status).to.equal(503)
    expect(problemOf(res)).to.include({ type: 'webhook.store.unavailable' })
    expect(calls).to.have.length(0)
    expect(outcomes.map((o) => [o.outcome, o.status, String(o.error)])).to.deep.equal([['failed', 503, 'Error: ECONNREFUSED']])
  })

  it('keeps a delivery claimed when a store that answers at once throws on release, and says so in the outcome', async () => {
    const store = memoryStore()
    const leaky: DeliveryStore = {
      claim: (d, leaseMs) => store.claim(d, leaseMs),
      complete: (d, token) => store.complete(d, token),
      release: () => {
        throw new Error('release broke')
      }
    }
    const { app, outcomes } = handlerApp({
      store: leaky,
      handler: () => {
        throw new Error('handler broke')
      }
    })
    const first = await postDelivery(app, PATH, v(22), auth)
    const retry = await postDelivery(app, PATH, v(22), auth)
    expect([first.status, retry.status]).to.deep.equal([500, 409])
    expect(outcomes.map((o) => [o.outcome, o.status])).to.deep.equal([['failed', 500], ['busy', 409]])
  })

  it('lets a later retry handle the event once the lease of a dead attempt expires', async () => {
    const store = memoryStore()
    // The first instance's handler hangs past its lease, as if its process had died mid-handler.
    const hung = deferred()
    const stuck = handlerApp({ store, leaseMs: 100, handler: () => hung.promise })
    const healthy = handlerApp({ store, leaseMs: 100 })
    const stuckDelivery = postDelivery(stuck.app, PATH, v(22), auth)
    await new Promise((r) => setTimeout(r, 30))
    expect((await postDelivery(healthy.app, PATH, v(22), auth)).status).to.equal(409)
    await new Promise((r) => setTimeout(r, 120))
    expect((await postDelivery(healthy.app, PATH, v(22), auth)).status).to.equal(200)
    expect(healthy.calls).to.have.length(1)
    hung.resolve()
    await stuckDelivery
  })

  it('shares one store between two middlewares: the second instance sees the first one\'s deliveries', async () => {
    const store = memoryStore()
    const a = handlerApp({ store })
    const b = handlerApp({ store })
    await postDelivery(a.app, PATH, v(22), auth)
    expect(jsonOf(await postDelivery(b.app, PATH, v(22), auth))).to.deep.equal({ status: 'duplicate' })
    expect(a.calls.length + b.calls.length).to.equal(1)
  })

  it('keeps the answer when a hook throws, and reports it as a process warning', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error) => void warnings.push(w)
    process.on('warning', onWarning)
    try {
      const { app } = handlerApp({
        onOutcome: () => {
          throw new Error('metrics down')
        }
      })
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
      await new Promise((r) => setImmediate(r))
      expect(warnings.map(String).join()).to.contain('metrics down')
    } finally {
      process.off('warning', onWarning)
    }
  })

  // A handler that succeeded while the store was briefly down: completing at once failed, the key stayed not done,
  // and the partner's next copy ran the handler again once the lease expired (spec/integration/multi-instance.spec.ts).
  it('retries a completion the store refused while the lease lasts, so the next copy is still a duplicate', async () => {
    const store = memoryStore()
    let refusals = 2
    const flaky: DeliveryStore = {
      ...store,
      complete: (d, token) => (refusals-- > 0 ? Promise.reject(new Error('ECONNREFUSED')) : store.complete(d, token))
    }
    const { app, calls, outcomes } = handlerApp({ store: flaky, leaseMs: 5000 })
    expect(jsonOf(await postDelivery(app, PATH, v(22), auth))).to.deep.equal({ status: 'processed' })
    expect(jsonOf(await postDelivery(app, PATH, v(22), auth))).to.deep.equal({ status: 'duplicate' })
    expect(calls).to.have.length(1)
    expect(outcomes.map((o) => [o.outcome, o.error])).to.deep.equal([
      ['processed', undefined],
      ['duplicate', undefined]
    ])
  })

  it('gives up on the completion when the lease runs out, and still answers 200 for the work done', async () => {
    const store: DeliveryStore = { ...memoryStore(), complete: () => Promise.reject(new Error('ECONNREFUSED')) }
    const { app, outcomes } = handlerApp({ store, leaseMs: 150 })
    const started = performance.now()
    expect(jsonOf(await postDelivery(app, PATH, v(22), auth))).to.deep.equal({ status: 'processed' })
    expect(performance.now() - started).to.be.below(1000)
    expect(String(outcomes[0]?.error)).to.contain('ECONNREFUSED')
  })

  describe('without a handler (next() style)', () => {
    const routeApp = (route: (status: number) => number, options: WebhookOptions<MusementOrderItemEvent> = {}) => {
      const seen: Array<{ version: number; key: string }> = []
      const outcomes: Outcome[] = []
      const app = express()
      app.post(PATH, musementOrderItem({ credentials, onOutcome: (o) => void outcomes.push(o), ...options }), (req, res) => {
        seen.push({ version: req.body.order_item_version, key: res.locals.webhook.key })
        res.sendStatus(route(seen.length))
      })
      return { app, seen, outcomes }
    }
    const settled = () => new Promise((r) => setTimeout(r, 20))

    it('completes when the route answers 200: the repeat is a duplicate and the route is not called', async () => {
      const { app, seen, outcomes } = routeApp(() => 200)
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
      await settled()
      expect(jsonOf(await postDelivery(app, PATH, v(22), auth))).to.deep.equal({ status: 'duplicate' })
      expect(seen).to.deep.equal([{ version: 22, key: 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22' }])
      expect(outcomes.map((o) => o.outcome)).to.deep.equal(['processed', 'duplicate'])
    })

    it('releases when the route answers anything but 200, so the retry reaches the route again', async () => {
      const { app, seen, outcomes } = routeApp((n) => (n === 1 ? 500 : n === 2 ? 202 : 200))
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(500)
      await settled()
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(202)
      await settled()
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
      expect(seen).to.have.length(3)
      await settled()
      expect(outcomes.map((o) => [o.outcome, o.status])).to.deep.equal([
        ['failed', 500],
        ['failed', 202],
        ['processed', 200]
      ])
    })

    // Issue 11 changed this rule: it used to release on the drop, which let the partner's retry run the route a second
    // time while the first was still working. The app's answer settles the claim, never the connection.
    it('keeps the claim when the connection drops before the route answers: the route is still working', async () => {
      const arrived = deferred()
      const store = memoryStore()
      const app = express()
      app.post(PATH, musementOrderItem({ credentials, store }), () => arrived.resolve()) // never answers
      const server = app.listen(0, '127.0.0.1')
      await new Promise((r) => server.once('listening', r))
      try {
        const address: AddressInfo | string | null = server.address()
        if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
        const { port } = address
        const body = JSON.stringify(v(22))
        const req = httpRequest({ host: '127.0.0.1', port, path: PATH, method: 'POST', headers: { ...auth, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } })
        req.on('error', () => undefined)
        req.end(body)
        await arrived.promise
        req.destroy()
        await new Promise((r) => setTimeout(r, 50))
        const claim = await store.claim({ key: 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd:22', scope: 'musement:11045e18-e3ca-42e1-acb4-0d5be75036fd', version: 22 }, 1000)
        expect(claim.status).to.equal('busy')
      } finally {
        server.closeAllConnections()
        server.close()
      }
    })
  })

  describe('logging and outcomes (issue 15)', () => {
    const recordingLogger = () => {
      const lines: Array<{ level: string; context: object; message: string }> = []
      const at = (level: string) => (context: object, message: string) => void lines.push({ level, context, message })
      return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } }
    }

    it("logs an unreachable store's error and hands it to onOutcome, which serialises it readably", async () => {
      const { lines, logger } = recordingLogger()
      const { app, outcomes } = handlerApp({ store: downStore, logger })
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(503)
      expect(lines.map((l) => [l.level, l.message])).to.deep.equal([['error', 'the delivery store is unreachable: answered 503']])
      expect(lines[0]?.context).to.have.property('err').that.is.instanceOf(Error)
      const [outcome] = outcomes
      expect(outcome?.error).to.be.instanceOf(Error)
      const json: unknown = JSON.parse(JSON.stringify(outcome))
      expect(json).to.deep.include({ outcome: 'failed', status: 503, type: 'webhook.store.unavailable' })
      expect(json).to.have.nested.property('error.message', 'ECONNREFUSED')
      expect(json).to.have.nested.property('error.name', 'Error')
      expect(json).to.have.nested.property('rejection.type', 'webhook.store.unavailable')
    })

    it('sends a failing hook to the logger instead of a process warning', async () => {
      const { lines, logger } = recordingLogger()
      const { app } = handlerApp({
        logger,
        onOutcome: () => {
          throw new Error('metrics down')
        }
      })
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
      await new Promise((r) => setImmediate(r))
      expect(lines.map((l) => [l.level, l.message])).to.deep.equal([['error', 'a webhook onOutcome hook failed']])
    })

    it('rounds durationMs to the microsecond and puts the rejection in the refused outcome', async () => {
      const { app, outcomes } = handlerApp()
      await postDelivery(app, PATH, v(22), { Authorization: basicAuthHeader('u', 'wrong') })
      const [outcome] = outcomes
      expect(outcome?.durationMs).to.be.a('number')
      expect(Math.round((outcome?.durationMs ?? 0) * 1000) / 1000).to.equal(outcome?.durationMs)
      expect(outcome?.rejection).to.include({ status: 401, type: 'webhook.auth.invalid', partner: 'musement' })
      expect(outcome?.rejection?.headers['authorization']).to.equal('[redacted]')
    })

    it('warns once when a body parser read the body before the middleware (it runs before authentication)', async () => {
      const { lines, logger } = recordingLogger()
      const app = express()
      app.use(express.json())
      app.post(PATH, musementOrderItem({ credentials, logger, handler: () => undefined }))
      expect((await postDelivery(app, PATH, v(22), auth)).status).to.equal(200)
      expect((await postDelivery(app, PATH, v(23), auth)).status).to.equal(200)
      expect(lines.map((l) => [l.level, l.message])).to.deep.equal([
        ['warn', 'a body parser read this webhook before its middleware, so bodies are parsed before authentication: mount webhook routes before express.json()']
      ])
      const quiet = recordingLogger()
      const mountedFirst = express()
      mountedFirst.post(PATH, musementOrderItem({ credentials, logger: quiet.logger, handler: () => undefined }))
      mountedFirst.use(express.json())
      expect((await postDelivery(mountedFirst, PATH, v(22), auth)).status).to.equal(200)
      expect(quiet.lines).to.deep.equal([])
    })

    it('refuses a logger without the four methods', () => {
      // @ts-expect-error not a logger on purpose
      expect(() => musementOrderItem({ credentials, logger: { info: () => undefined } })).to.throw(TypeError, /`logger` must have debug, info, warn and error/)
    })
  })

  describe('options', () => {
    it('refuse a store without the DeliveryStore methods, a bad lease and an unknown stale mode', () => {
      // @ts-expect-error not a store
      expect(() => musementOrderItem({ credentials, store: {} })).to.throw(TypeError, /`store` must be a DeliveryStore/)
      expect(() => musementOrderItem({ credentials, leaseMs: 0 })).to.throw(TypeError, /`leaseMs` must be/)
      // @ts-expect-error not a mode
      expect(() => musementOrderItem({ credentials, staleVersions: 'drop' })).to.throw(TypeError, /'skip' or 'deliver'/)
      // @ts-expect-error not a function
      expect(() => musementOrderItem({ credentials, onOutcome: 1 })).to.throw(TypeError, /`onOutcome` must be a function/)
    })
  })
})
