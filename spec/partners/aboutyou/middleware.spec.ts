import { expect } from 'chai'
import type { ErrorRequestHandler, RequestHandler } from 'express'
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import type { Rejection, WebhookMiddleware } from '../../../lib/core/types.js'
import {
  AboutYouOrderItemsEvent,
  type AboutYouEvent,
  type AboutYouEventName,
  type AboutYouOrderItemsCancelledEvent,
  type AboutYouOrderItemsReturnedEvent,
  type AboutYouOrderItemsShippedEvent
} from '../../../lib/partners/aboutyou/codec.js'
import { aboutYouShipment, aboutYouWebhooks } from '../../../lib/partners/aboutyou/middleware.js'
import { aboutYouOrderItemFixture, aboutYouOrderItemsFixture, apiKeyHeader } from '../../../lib/testing/index.js'
import { jsonOf, postDelivery, problemOf } from '../../helpers/deliver.js'
import { express } from '../../helpers/express.js'

const PATH = '/webhooks/about-you'
const API_KEY = 'ay-live-0123456789'
const auth = apiKeyHeader(API_KEY)
// The vendor example, byte for byte as About You would send it.
const vendorExample = readFileSync(new URL('../../fixtures/aboutyou/order-items-shipped.json', import.meta.url))
const EVENTS: ReadonlyArray<AboutYouEventName> = ['order_items.shipped', 'order_items.cancelled', 'order_items.returned']

const decoded = (body: unknown): AboutYouOrderItemsEvent => {
  const result = AboutYouOrderItemsEvent.decode(body)
  if (E.isLeft(result)) throw new Error('the fixture must decode')
  return result.right
}

/** An app with `aboutYouShipment(event)` and a recording handler; `before` handlers (body parsers) run first. */
const shipmentApp = (event: AboutYouEventName | ReadonlyArray<AboutYouEventName>, before: RequestHandler[] = []) => {
  const events: AboutYouEvent[] = []
  const rejections: Rejection[] = []
  const app = express()
  const middleware = aboutYouShipment(event, {
    apiKeys: API_KEY,
    handler: (e) => void events.push(e),
    onReject: (r) => void rejections.push(r)
  })
  app.post(PATH, ...before, middleware)
  return { app, events, rejections }
}

/** An app with `aboutYouWebhooks` handling shipped and cancelled (not returned), each into its own list. */
const dispatcherApp = (before: RequestHandler[] = []) => {
  const shipped: AboutYouOrderItemsShippedEvent[] = []
  const cancelled: AboutYouOrderItemsCancelledEvent[] = []
  const rejections: Rejection[] = []
  const app = express()
  const middleware = aboutYouWebhooks(
    {
      'order_items.shipped': (e) => void shipped.push(e),
      'order_items.cancelled': async (e) => void cancelled.push(e)
    },
    { apiKeys: API_KEY, onReject: (r) => void rejections.push(r) }
  )
  app.post(PATH, ...before, middleware)
  return { app, shipped, cancelled, rejections }
}

const expectWrongEvent = (res: Awaited<ReturnType<typeof postDelivery>>, message: string): void => {
  expect(res.status).to.equal(400)
  expect(res.headers['content-type']).to.match(/^application\/problem\+json/)
  const problem = problemOf(res)
  expect(problem).to.include({ type: 'webhook.payload.invalid', status: 400 })
  expect(problem.errors).to.deep.equal([{ path: '/event', message }])
}

describe('partners/aboutyou/middleware', () => {
  describe('aboutYouShipment(event)', () => {
    it('answers the vendor example with 200 and hands the decoded event to the handler once', async () => {
      const { app, events } = shipmentApp('order_items.shipped')
      const res = await postDelivery(app, PATH, vendorExample, auth)
      expect(res.status).to.equal(200)
      expect(jsonOf(res)).to.deep.equal({ status: 'processed' })
      expect(events).to.deep.equal([decoded(JSON.parse(vendorExample.toString('utf8')))])
      expect(events[0]?.timestamp).to.be.instanceOf(Date)
    })

    for (const name of EVENTS) {
      it(`handles ${name} at a URL set up for it`, async () => {
        const { app, events, rejections } = shipmentApp(name)
        const body = aboutYouOrderItemsFixture(name, { id: 7 })
        expect((await postDelivery(app, PATH, body, auth)).status).to.equal(200)
        expect(events).to.deep.equal([decoded(body)])
        expect(rejections).to.deep.equal([])
      })
    }

    for (const name of EVENTS) {
      const others = EVENTS.filter((n) => n !== name)
      it(`refuses ${others.join(' and ')} at a ${name} URL with one problem naming ${name}`, async () => {
        const { app, events, rejections } = shipmentApp(name)
        for (const other of others) {
          expectWrongEvent(await postDelivery(app, PATH, aboutYouOrderItemsFixture(other), auth), `expected "${name}", got "${other}"`)
        }
        expect(events).to.deep.equal([])
        expect(rejections.map((r) => [r.partner, r.status, r.type])).to.deep.equal(others.map(() => ['aboutyou', 400, 'webhook.payload.invalid']))
      })
    }

    it('with a list, handles exactly the listed events', async () => {
      const { app, events } = shipmentApp(['order_items.cancelled', 'order_items.returned'])
      expect((await postDelivery(app, PATH, aboutYouOrderItemsFixture('order_items.cancelled'), auth)).status).to.equal(200)
      expect((await postDelivery(app, PATH, aboutYouOrderItemsFixture('order_items.returned'), auth)).status).to.equal(200)
      expectWrongEvent(
        await postDelivery(app, PATH, aboutYouOrderItemsFixture('order_items.shipped'), auth),
        'expected "order_items.cancelled" or "order_items.returned", got "order_items.shipped"'
      )
      expect(events.map((e) => e.event)).to.deep.equal(['order_items.cancelled', 'order_items.returned'])
    })

    it('refuses a missing event the same way', async () => {
      const { app, events } = shipmentApp('order_items.shipped')
      const { event: _event, ...body } = aboutYouOrderItemsFixture('order_items.shipped')
      expectWrongEvent(await postDelivery(app, PATH, body, auth), 'missing; expected "order_items.shipped"')
      expect(events).to.deep.equal([])
    })

    it('answers 400 listing each invalid field of the right event, and calls no handler', async () => {
      const { app, events } = shipmentApp('order_items.shipped')
      const body = aboutYouOrderItemsFixture('order_items.shipped', {
        id: 0,
        message: { items: [{ ...aboutYouOrderItemFixture(), price_with_tax: 29.9 }], carrier_key: 'DHL', tracking_key: 'x'.repeat(256) }
      })
      const res = await postDelivery(app, PATH, body, auth)
      expect(res.status).to.equal(400)
      expect(problemOf(res).errors?.map((e) => e.path)).to.deep.equal(['/id', '/message/items/0/price_with_tax', '/message/tracking_key'])
      expect(events).to.deep.equal([])
    })

    it('applies the default vat of 19 to an item sent without one', async () => {
      const { app, events } = shipmentApp('order_items.shipped')
      // Not a wire type: the fixture builders always write vat, as encode does.
      const { vat: _vat, ...item } = aboutYouOrderItemFixture({ vat: 7 })
      const body = { ...aboutYouOrderItemsFixture('order_items.shipped'), message: { items: [item], carrier_key: 'GLS' } }
      expect((await postDelivery(app, PATH, body, auth)).status).to.equal(200)
      expect(events[0]?.message.items[0]?.vat).to.equal(19)
    })

    it('without a handler, calls next() with the typed event in req.body', async () => {
      const app = express()
      app.post(PATH, aboutYouShipment('order_items.returned', { apiKeys: API_KEY }), (req, res) => {
        res.status(200).json({ event: req.body.event, skus: req.body.message.items.map((i) => i.sku), key: res.locals.webhook.key })
      })
      const res = await postDelivery(app, PATH, aboutYouOrderItemsFixture('order_items.returned', { id: 5, subscription_id: 9 }), auth)
      expect(res.status).to.equal(200)
      expect(jsonOf(res)).to.deep.equal({ event: 'order_items.returned', skus: ['AY-TSHIRT-BLK-M'], key: 'order_items.returned:9:5' })
    })

    for (const [name, parser] of [
      ['express.json()', express.json()],
      ['express.raw()', express.raw({ type: 'application/json' })],
      ['express.text()', express.text({ type: 'application/json' })]
    ] as const) {
      it(`works after ${name} consumed the body`, async () => {
        const { app, events } = shipmentApp('order_items.shipped', [parser])
        expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
        expect(events.map((e) => e.id)).to.deep.equal([1])
      })
    }

    it('works mounted with app.use and on a Router', async () => {
      const events: AboutYouEvent[] = []
      const router = express.Router()
      router.use('/about-you', aboutYouShipment('order_items.shipped', { apiKeys: API_KEY, handler: (e) => void events.push(e) }))
      const app = express()
      app.use(express.json())
      app.use('/webhooks', router)
      app.use('/direct', aboutYouShipment('order_items.shipped', { apiKeys: API_KEY, handler: (e) => void events.push(e) }))
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
      expect((await postDelivery(app, '/direct', vendorExample, auth)).status).to.equal(200)
      expect(events).to.have.length(2)
    })

    it('handles a message once: a retry of the same message id is acknowledged without the handler', async () => {
      const { app, events } = shipmentApp('order_items.shipped')
      const first = aboutYouOrderItemsFixture('order_items.shipped', { id: 11, subscription_id: 3 })
      expect((await postDelivery(app, PATH, first, auth)).status).to.equal(200)
      expect((await postDelivery(app, PATH, first, auth)).status).to.equal(200)
      expect((await postDelivery(app, PATH, { ...first, id: 12 }, auth)).status).to.equal(200)
      expect((await postDelivery(app, PATH, { ...first, subscription_id: 4 }, auth)).status).to.equal(200)
      expect(events.map((e) => [e.subscription_id, e.id])).to.deep.equal([
        [3, 11],
        [3, 12],
        [4, 11]
      ])
    })
  })

  describe('aboutYouWebhooks(handlers)', () => {
    it('hands each event to its own handler, once, and to no other', async () => {
      const { app, shipped, cancelled, rejections } = dispatcherApp()
      const body = aboutYouOrderItemsFixture('order_items.cancelled', { id: 2 })
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
      expect((await postDelivery(app, PATH, body, auth)).status).to.equal(200)
      expect(shipped).to.deep.equal([decoded(JSON.parse(vendorExample.toString('utf8')))])
      expect(cancelled).to.deep.equal([decoded(body)])
      expect(rejections).to.deep.equal([])
    })

    it('routes all three events when all three have a handler', async () => {
      const calls: string[] = []
      const returned: AboutYouOrderItemsReturnedEvent[] = []
      const app = express()
      app.post(
        PATH,
        aboutYouWebhooks(
          {
            'order_items.shipped': (e) => void calls.push(`shipped handler got ${e.event}`),
            'order_items.cancelled': (e) => void calls.push(`cancelled handler got ${e.event}`),
            'order_items.returned': (e, req) => {
              returned.push(req.body)
              calls.push(`returned handler got ${e.event}`)
            }
          },
          { apiKeys: API_KEY }
        )
      )
      for (const name of EVENTS) expect((await postDelivery(app, PATH, aboutYouOrderItemsFixture(name), auth)).status).to.equal(200)
      expect(calls).to.deep.equal([
        'shipped handler got order_items.shipped',
        'cancelled handler got order_items.cancelled',
        'returned handler got order_items.returned'
      ])
      expect(returned.map((e) => e.event)).to.deep.equal(['order_items.returned'])
    })

    it('refuses an event that has no handler like a wrong event, naming the handled ones', async () => {
      const { app, shipped, cancelled, rejections } = dispatcherApp()
      expectWrongEvent(
        await postDelivery(app, PATH, aboutYouOrderItemsFixture('order_items.returned'), auth),
        'expected "order_items.shipped" or "order_items.cancelled", got "order_items.returned"'
      )
      expect([...shipped, ...cancelled]).to.deep.equal([])
      expect(rejections.map((r) => r.status)).to.deep.equal([400])
    })

    it('works after express.json(), and mounted with app.use', async () => {
      const { app, shipped } = dispatcherApp([express.json()])
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
      const events: AboutYouEvent[] = []
      const mounted = express()
      mounted.use(PATH, aboutYouWebhooks({ 'order_items.returned': (e) => void events.push(e) }, { apiKeys: API_KEY }))
      expect((await postDelivery(mounted, PATH, aboutYouOrderItemsFixture('order_items.returned'), auth)).status).to.equal(200)
      expect(shipped.length + events.length).to.equal(2)
    })

    it('passes a handler failure to next(err), so About You retries', async () => {
      const app = express()
      app.post(PATH, aboutYouWebhooks({ 'order_items.shipped': () => Promise.reject(new Error('warehouse down')) }, { apiKeys: API_KEY }))
      const errors: unknown[] = []
      const onError: ErrorRequestHandler = (err, _req, res, _next) => {
        errors.push(err)
        res.status(500).json({ error: 'internal' })
      }
      app.use(onError)
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(500)
      expect(String(errors[0])).to.contain('warehouse down')
    })
  })

  const factories: ReadonlyArray<readonly [string, (apiKeys: string | ReadonlyArray<string>, calls: string[]) => WebhookMiddleware<AboutYouEvent<'order_items.shipped'>>]> = [
    ['aboutYouShipment', (apiKeys, calls) => aboutYouShipment('order_items.shipped', { apiKeys, handler: (e) => void calls.push(e.event) })],
    ['aboutYouWebhooks', (apiKeys, calls) => aboutYouWebhooks({ 'order_items.shipped': (e) => void calls.push(e.event) }, { apiKeys })]
  ]
  for (const [factory, build] of factories) {
    describe(`X-API-Key authentication (${factory})`, () => {
      const setup = (apiKeys: string | ReadonlyArray<string> = API_KEY, before: RequestHandler[] = []) => {
        const calls: string[] = []
        const app = express()
        app.post(PATH, ...before, build(apiKeys, calls))
        return { app, calls }
      }

      it('401 with an APIKey challenge when the key is missing or empty; no handler', async () => {
        const { app, calls } = setup()
        for (const headers of [{}, { 'X-API-Key': '' }, { Authorization: `Bearer ${API_KEY}` }]) {
          const res = await postDelivery(app, PATH, vendorExample, headers)
          expect(res.status, JSON.stringify(headers)).to.equal(401)
          expect(res.headers['www-authenticate']).to.equal('APIKey header="X-API-Key"')
          expect(problemOf(res).type).to.equal('webhook.auth.missing')
        }
        expect(calls).to.deep.equal([])
      })

      it('401 for a wrong key, a prefix of the key or the key with extra characters; no handler', async () => {
        const { app, calls } = setup()
        for (const key of ['wrong', API_KEY.slice(0, -1), `${API_KEY}x`, API_KEY.toUpperCase()]) {
          const res = await postDelivery(app, PATH, vendorExample, apiKeyHeader(key))
          expect(res.status, key).to.equal(401)
          expect(res.headers['www-authenticate']).to.equal('APIKey header="X-API-Key"')
          expect(problemOf(res).type).to.equal('webhook.auth.invalid')
        }
        expect(calls).to.deep.equal([])
      })

      it('reads the header case-insensitively', async () => {
        const { app, calls } = setup()
        expect((await postDelivery(app, PATH, vendorExample, { 'x-api-key': API_KEY })).status).to.equal(200)
        expect(calls).to.deep.equal(['order_items.shipped'])
      })

      it('accepts every key of a rotation, and stops accepting a key once it is removed', async () => {
        const next = 'ay-live-next-key'
        const during = setup([API_KEY, next])
        expect((await postDelivery(during.app, PATH, vendorExample, auth)).status).to.equal(200)
        expect((await postDelivery(during.app, PATH, aboutYouOrderItemsFixture('order_items.shipped', { id: 2 }), apiKeyHeader(next))).status).to.equal(200)
        expect(during.calls).to.have.length(2)
        const after = setup([next])
        expect((await postDelivery(after.app, PATH, vendorExample, auth)).status).to.equal(401)
        expect(after.calls).to.deep.equal([])
      })

      it('decides 401 before the body: a wrong key with a broken body and no Content-Type is still 401', async () => {
        const { app } = setup()
        expect((await postDelivery(app, PATH, '{not json', { ...apiKeyHeader('wrong'), 'Content-Type': '' })).status).to.equal(401)
      })

      it('401 after express.json() too', async () => {
        const { app, calls } = setup(API_KEY, [express.json()])
        expect((await postDelivery(app, PATH, vendorExample, apiKeyHeader('wrong'))).status).to.equal(401)
        expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
        expect(calls).to.have.length(1)
      })
    })
  }

  it('accepts any request when authentication is explicitly disabled', async () => {
    const events: AboutYouEvent[] = []
    const app = express()
    app.post(PATH, aboutYouShipment('order_items.shipped', { dangerouslyDisableAuthentication: true, handler: (e) => void events.push(e) }))
    expect((await postDelivery(app, PATH, vendorExample)).status).to.equal(200)
    expect(events).to.have.length(1)
  })

  describe('options', () => {
    const shipmentThrows = (event: unknown, options: unknown, message: RegExp): void => {
      // @ts-expect-error bad arguments on purpose: plain JavaScript callers can pass anything
      expect(() => aboutYouShipment(event, options)).to.throw(TypeError, message)
    }
    const webhooksThrows = (handlers: unknown, options: unknown, message: RegExp): void => {
      // @ts-expect-error bad arguments on purpose: plain JavaScript callers can pass anything
      expect(() => aboutYouWebhooks(handlers, options)).to.throw(TypeError, message)
    }
    const onShipped = (): void => undefined

    it('refuse missing, empty or malformed API keys at factory time, naming the fix', () => {
      for (const check of [
        (options: unknown, message: RegExp) => shipmentThrows('order_items.shipped', options, message),
        (options: unknown, message: RegExp) => webhooksThrows({ 'order_items.shipped': onShipped }, options, message)
      ]) {
        check({}, /`apiKeys` is required/)
        check({ apiKeys: [] }, /`apiKeys` is empty: pass at least one key/)
        check({ apiKeys: '' }, /`apiKeys` must be a non-empty string/)
        check({ apiKeys: ['ok', ''] }, /`apiKeys\[1\]` must be a non-empty string/)
        check({ apiKeys: [42] }, /`apiKeys\[0\]` must be a non-empty string/)
        check({ apiKeys: ' padded ' }, /must not start or end with whitespace/)
        check({ apiKeys: ['ok', 'schlüssel'] }, /`apiKeys\[1\]` must be printable ASCII/)
        check({ apiKeys: 'tab\tkey' }, /must be printable ASCII/)
        check({ apiKeys: 'k', dangerouslyDisableAuthentication: true }, /not both/)
        check({ apiKey: 'k' }, /unknown option `apiKey`. Did you mean `apiKeys`\?/)
        check({ apiKeys: 'k', limit: '10 parsecs' }, /`limit` must be/)
        check({ apiKeys: 'k', onReject: 'log' }, /`onReject` must be a function/)
      }
      shipmentThrows('order_items.shipped', { apiKeys: 'k', handlr: onShipped }, /Did you mean `handler`\?/)
    })

    it('refuse unknown or missing event names', () => {
      shipmentThrows('order_items.shiped', { apiKeys: 'k' }, /unknown event "order_items.shiped": expected one of order_items.shipped, order_items.cancelled, order_items.returned/)
      shipmentThrows(['order_items.shipped', 'shipped'], { apiKeys: 'k' }, /unknown event "shipped"/)
      shipmentThrows([], { apiKeys: 'k' }, /no event given/)
      shipmentThrows({ apiKeys: 'k' }, undefined, /expected an event name or a list of them first/)
      webhooksThrows({}, { apiKeys: 'k' }, /no event given/)
      webhooksThrows({ 'order_items.shiped': onShipped }, { apiKeys: 'k' }, /unknown event "order_items.shiped"/)
      webhooksThrows({ 'order_items.shipped': 'onShipped' }, { apiKeys: 'k' }, /the handler for order_items.shipped must be a function, got string/)
      webhooksThrows([onShipped], { apiKeys: 'k' }, /expected a map from event name to handler/)
    })

    it('refuse a `handler` option on the dispatcher, pointing at the handler map', () => {
      webhooksThrows({ 'order_items.shipped': onShipped }, { apiKeys: 'k', handler: onShipped }, /`handler` is not an option here/)
    })

    for (const [factory, uncalled] of [
      ['aboutYouShipment', aboutYouShipment],
      ['aboutYouWebhooks', aboutYouWebhooks]
    ] as const) {
      it(`${factory} refuses being registered without a call, naming the fix`, async () => {
        const app = express()
        app.set('env', 'test') // keeps finalhandler from printing the expected error
        // @ts-expect-error the classic mistake, app.use(factory) instead of app.use(factory(...)), on purpose
        app.use(PATH, uncalled)
        const res = await postDelivery(app, PATH, vendorExample, auth)
        expect(res.status).to.equal(500)
        expect(res.text).to.contain(`app.post(path, ${factory}(`)
      })
    }

    it('never mutate the options or the handler map they are given', async () => {
      const options = Object.freeze({ apiKeys: Object.freeze([API_KEY, 'other']), limit: '2kb' })
      const handlers = Object.freeze({ 'order_items.shipped': onShipped })
      const app = express()
      app.post('/one', aboutYouShipment(Object.freeze(['order_items.shipped'] as const), options), (_req, res) => void res.sendStatus(200))
      app.post('/all', aboutYouWebhooks(handlers, options))
      expect((await postDelivery(app, '/one', vendorExample, auth)).status).to.equal(200)
      expect((await postDelivery(app, '/all', vendorExample, auth)).status).to.equal(200)
      expect(options).to.deep.equal({ apiKeys: [API_KEY, 'other'], limit: '2kb' })
      expect(handlers).to.deep.equal({ 'order_items.shipped': onShipped })
    })

    it('honour limit', async () => {
      const app = express()
      app.post(PATH, aboutYouWebhooks({ 'order_items.shipped': onShipped }, { apiKeys: API_KEY, limit: 100 }))
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(413)
    })

    it('name the middleware for stack traces', () => {
      expect(aboutYouShipment('order_items.shipped', { apiKeys: 'k' }).name).to.equal('aboutYouShipmentMiddleware')
      expect(aboutYouWebhooks({ 'order_items.shipped': onShipped }, { apiKeys: 'k' }).name).to.equal('aboutYouWebhooksMiddleware')
    })
  })
})
