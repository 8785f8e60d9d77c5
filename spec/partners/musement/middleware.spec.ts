import { expect } from 'chai'
import type { ErrorRequestHandler, RequestHandler } from 'express'
import { readFileSync } from 'node:fs'
import request from 'supertest'
import type { MusementOrderItemEvent } from '../../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../../lib/partners/musement/middleware.js'
import type { BasicCredentials } from '../../../lib/core/auth.js'
import type { Rejection, WebhookOptions } from '../../../lib/core/types.js'
import { basicAuthHeader, musementOrderItemFixture } from '../../../lib/testing/index.js'
import { jsonOf, postDelivery, problemOf, type Delivered } from '../../helpers/deliver.js'
import { express } from '../../helpers/express.js'

const PATH = '/webhooks/musement'
const credentials = { username: 'musement', password: 's3cret:with:colons' }
const auth = { Authorization: basicAuthHeader(credentials.username, credentials.password) }
const vendorExample = readFileSync(new URL('../../fixtures/musement/order-item.json', import.meta.url))

type Overrides = WebhookOptions<MusementOrderItemEvent> & { readonly credentials?: BasicCredentials | ReadonlyArray<BasicCredentials> }

/** An app with the middleware and a recording handler; `before` handlers (body parsers) run first. */
const setup = (options: Overrides = {}, before: RequestHandler[] = []) => {
  const events: MusementOrderItemEvent[] = []
  const rejections: Rejection[] = []
  const app = express()
  app.post(
    PATH,
    ...before,
    musementOrderItem({
      handler: (event) => void events.push(event),
      onReject: (r) => void rejections.push(r),
      ...options,
      credentials: options.credentials ?? credentials
    })
  )
  return { app, events, rejections }
}

describe('partners/musement/middleware', () => {
  describe('a valid delivery', () => {
    it('answers exactly 200 and hands the typed event to the handler once', async () => {
      const { app, events } = setup()
      const res = await postDelivery(app, PATH, vendorExample, auth)
      expect(res.status).to.equal(200)
      expect(events).to.have.length(1)
      expect(events[0]).to.deep.include({ order_item_uuid: '11045e18-e3ca-42e1-acb4-0d5be75036fd', order_item_version: 22, order_item_status: 'OK' })
      expect(events[0]?.order_created).to.be.instanceOf(Date)
    })

    it('waits for an async handler before answering', async () => {
      let finished = false
      const { app } = setup({
        handler: () =>
          new Promise((resolve) =>
            setTimeout(() => {
              finished = true
              resolve()
            }, 30)
          )
      })
      const res = await postDelivery(app, PATH, vendorExample, auth)
      expect(res.status).to.equal(200)
      expect(finished).to.equal(true)
    })

    it('passes a handler failure to next(err), so the app answers 5xx and Musement retries', async () => {
      const { app } = setup({ handler: async () => Promise.reject(new Error('database down')) })
      const errors: unknown[] = []
      const onError: ErrorRequestHandler = (err, _req, res, _next) => {
        errors.push(err)
        res.status(500).json({ error: 'internal' })
      }
      app.use(onError)
      const res = await postDelivery(app, PATH, vendorExample, auth)
      expect(res.status).to.equal(500)
      expect(errors).to.have.length(1)
      expect(String(errors[0])).to.contain('database down')
    })

    it('leaves a response the handler wrote itself alone (and, not being a 200, the delivery is not done)', async () => {
      const { app, events } = setup({
        handler: (event, _req, res) => {
          events.push(event)
          res.status(202).send('queued')
        }
      })
      const res = await postDelivery(app, PATH, vendorExample, auth)
      expect([res.status, res.text]).to.deep.equal([202, 'queued'])
      await new Promise((r) => setTimeout(r, 20))
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(202)
      expect(events).to.have.length(2)
    })

    it('without a handler, calls next() with the typed event in req.body', async () => {
      const app = express()
      app.post(PATH, musementOrderItem({ credentials }), (req, res) => {
        res.status(200).json({ version: req.body.order_item_version, created: req.body.order_created.toISOString() })
      })
      const res = await postDelivery(app, PATH, vendorExample, auth)
      expect(res.status).to.equal(200)
      expect(jsonOf(res)).to.deep.equal({ version: 22, created: '2018-12-10T13:12:40.000Z' })
    })

    for (const [name, parser] of [
      ['express.json()', express.json()],
      ['express.raw()', express.raw({ type: 'application/json' })],
      ['express.text()', express.text({ type: 'application/json' })]
    ] as const) {
      it(`works after ${name} consumed the body`, async () => {
        const { app, events } = setup({}, [parser])
        const res = await postDelivery(app, PATH, vendorExample, auth)
        expect(res.status).to.equal(200)
        expect(events.map((e) => e.order_item_version)).to.deep.equal([22])
      })
    }

    it('works mounted with app.use and on a Router', async () => {
      const events: MusementOrderItemEvent[] = []
      const router = express.Router()
      router.use('/musement', musementOrderItem({ credentials, handler: (e) => void events.push(e) }))
      const app = express()
      app.use(express.json())
      app.use('/webhooks', router)
      app.use('/direct', musementOrderItem({ credentials, handler: (e) => void events.push(e) }))
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
      expect((await postDelivery(app, '/direct', vendorExample, auth)).status).to.equal(200)
      expect(events).to.have.length(2)
    })

    it('accepts every pair of a credential rotation', async () => {
      const next = { username: 'musement', password: 'next-password' }
      const { app, events } = setup({ credentials: [credentials, next] })
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
      const nextAuth = { Authorization: basicAuthHeader(next.username, next.password) }
      expect((await postDelivery(app, PATH, musementOrderItemFixture({ order_item_version: '23' }), nextAuth)).status).to.equal(200)
      expect(events).to.have.length(2)
    })

    it('accepts the lowercase scheme name and a charset parameter', async () => {
      const { app } = setup()
      const lower = `basic ${basicAuthHeader(credentials.username, credentials.password).slice(6)}`
      const res = await postDelivery(app, PATH, vendorExample, { Authorization: lower, 'Content-Type': 'Application/JSON; charset=UTF-8' })
      expect(res.status).to.equal(200)
    })

    it('accepts any request when authentication is explicitly disabled', async () => {
      const events: MusementOrderItemEvent[] = []
      const app = express()
      app.post(PATH, musementOrderItem({ dangerouslyDisableAuthentication: true, handler: (e) => void events.push(e) }))
      expect((await postDelivery(app, PATH, vendorExample)).status).to.equal(200)
      expect(events).to.have.length(1)
    })
  })

  describe('refused requests', () => {
    /** Sends one request and checks the status, the problem type, that no handler ran and that onReject saw it. */
    const refuse = async (
      send: (app: ReturnType<typeof setup>['app']) => Promise<Delivered | request.Response>,
      status: number,
      type: string,
      options: Overrides = {}
    ): Promise<Delivered> => {
      const { app, events, rejections } = setup(options)
      const res = await send(app)
      expect(res.status, res.text).to.equal(status)
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/)
      expect(problemOf(res)).to.include({ type, status })
      expect(events, 'handler must not run').to.have.length(0)
      expect(rejections.map((r) => [r.status, r.type, r.partner])).to.deep.equal([[status, type, 'musement']])
      expect(res.text).not.to.contain(credentials.password)
      expect(JSON.stringify(rejections)).not.to.contain(credentials.password)
      return res
    }

    it('405 with Allow: POST for other methods', async () => {
      const app = express()
      app.use(PATH, musementOrderItem({ credentials }))
      for (const method of ['get', 'put', 'delete', 'patch'] as const) {
        const res = await request(app)[method](PATH).set(auth)
        expect(res.status).to.equal(405)
        expect(res.headers.allow).to.equal('POST')
      }
    })

    it('401 with a Basic challenge when credentials are missing', async () => {
      const res = await refuse((app) => postDelivery(app, PATH, vendorExample), 401, 'webhook.auth.missing')
      expect(res.headers['www-authenticate']).to.equal('Basic realm="musement", charset="UTF-8"')
    })

    const badAuth: ReadonlyArray<readonly [string, string]> = [
      ['a wrong password', basicAuthHeader('musement', 'wrong')],
      ['a wrong username', basicAuthHeader('other', credentials.password)],
      ['the password alone', `Basic ${Buffer.from(credentials.password).toString('base64')}`],
      ['another scheme', `Bearer ${credentials.password}`],
      ['a token that is not base64', 'Basic not*base64!'],
      ['a truncated token', basicAuthHeader(credentials.username, credentials.password).slice(0, -2)],
      ['the credentials unencoded', `Basic ${credentials.username}:${credentials.password}`],
      ['an empty token', 'Basic '],
      ['two tokens', `${basicAuthHeader(credentials.username, credentials.password)} extra`]
    ]
    for (const [name, header] of badAuth) {
      it(`401 for ${name}`, async () => {
        const res = await refuse((app) => postDelivery(app, PATH, vendorExample, { Authorization: header }), 401, 'webhook.auth.invalid')
        expect(res.headers['www-authenticate']).to.match(/^Basic /)
      })
    }

    it('401 is decided before the body: no Content-Type and a broken body still get 401', async () => {
      await refuse((app) => postDelivery(app, PATH, '{{{', { 'Content-Type': 'text/plain' }), 401, 'webhook.auth.missing')
    })

    it('415 for a missing or non-JSON Content-Type, or a non-UTF-8 charset', async () => {
      await refuse((app) => postDelivery(app, PATH, vendorExample, { ...auth, 'Content-Type': '' }), 415, 'webhook.media.unsupported')
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/json-patch+json', 'application/json; charset=latin1']) {
        await refuse((app) => postDelivery(app, PATH, vendorExample, { ...auth, 'Content-Type': contentType }), 415, 'webhook.media.unsupported')
      }
    })

    it('415 for a compressed body', async () => {
      await refuse((app) => postDelivery(app, PATH, vendorExample, { ...auth, 'Content-Encoding': 'gzip' }), 415, 'webhook.media.unsupported')
    })

    it('413 past the limit, whether announced or streamed', async () => {
      const big = JSON.stringify({ ...musementOrderItemFixture(), padding: 'x'.repeat(2000) })
      await refuse((app) => postDelivery(app, PATH, big, auth), 413, 'webhook.body.too_large', { limit: '1kb' })
      await refuse((app) => postDelivery(app, PATH, big, { ...auth, 'Transfer-Encoding': 'chunked' }), 413, 'webhook.body.too_large', {
        limit: 1024
      })
    })

    it('413 by the default limit of 100 kb', async () => {
      const big = JSON.stringify({ ...musementOrderItemFixture(), padding: 'x'.repeat(100 * 1024) })
      await refuse((app) => postDelivery(app, PATH, big, auth), 413, 'webhook.body.too_large')
    })

    it('400 for malformed JSON, an empty body and invalid UTF-8', async () => {
      await refuse((app) => postDelivery(app, PATH, '{"order_id": "1",', auth), 400, 'webhook.body.malformed')
      await refuse((app) => postDelivery(app, PATH, '', auth), 400, 'webhook.body.malformed')
      await refuse((app) => postDelivery(app, PATH, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), auth), 400, 'webhook.body.malformed')
    })

    it('400 listing each invalid field as a JSON Pointer with what was expected', async () => {
      const body = { ...musementOrderItemFixture({ order_item_version: '-1' }), order_item_status: 'ok', order_created: undefined }
      const res = await refuse((app) => postDelivery(app, PATH, body, auth), 400, 'webhook.payload.invalid')
      const problem = problemOf(res)
      expect(problem).to.deep.include({ title: 'Invalid payload', detail: '3 problems' })
      expect(problem.errors?.map((e) => e.path)).to.deep.equal(['/order_created', '/order_item_version', '/order_item_status'])
      expect(problem.errors?.[0]?.message).to.match(/^missing; expected DateTimeFromString/)
      expect(problem.errors?.[1]?.message).to.equal('expected NumberFromDigitString (digits, at most 2^53 - 1), got "-1"')
      expect(res.text).not.to.match(/stack|at Object\./)
    })

    it('400 for JSON that is not an object', async () => {
      for (const body of ['[]', '"text"', '42', 'null', 'true']) {
        const res = await refuse((app) => postDelivery(app, PATH, body, auth), 400, 'webhook.payload.invalid')
        expect(problemOf(res).errors?.[0]?.path).to.equal('')
      }
    })
  })

  describe('options', () => {
    const throws = (options: unknown, message: RegExp): void => {
      // @ts-expect-error bad options on purpose: plain JavaScript callers can pass anything
      expect(() => musementOrderItem(options)).to.throw(TypeError, message)
    }

    it('refuse missing, empty or malformed credentials at factory time', () => {
      throws({}, /`credentials` is required/)
      throws({ credentials: [] }, /`credentials` is empty/)
      throws({ credentials: { username: 'u', password: '' } }, /credentials.password` must be a non-empty string/)
      throws({ credentials: { username: '', password: 'p' } }, /credentials.username/)
      throws({ credentials: { username: 'a:b', password: 'p' } }, /without ':'/)
      throws({ credentials: [{ username: 'u', password: 'p' }, null] }, /credentials\[1\]/)
      throws({ credentials, dangerouslyDisableAuthentication: true }, /not both/)
    })

    it('refuse unknown options with a suggestion, and non-function hooks', () => {
      throws({ credential: credentials }, /unknown option `credential`. Did you mean `credentials`\?/)
      throws({ credentials, handlr: () => undefined }, /Did you mean `handler`/)
      throws({ credentials, handler: 'yes' }, /`handler` must be a function, got string/)
      throws({ credentials, onReject: {} }, /`onReject` must be a function/)
    })

    it('parse limit strings and refuse nonsense', () => {
      expect(() => musementOrderItem({ credentials, limit: '1mb' })).not.to.throw()
      throws({ credentials, limit: '10 parsecs' }, /`limit` must be/)
      throws({ credentials, limit: -1 }, /`limit` must be/)
      throws({ credentials, limit: 0 }, /`limit` must be/)
    })

    it('refuse being registered without a call, naming the fix', async () => {
      const app = express()
      app.set('env', 'test') // keeps finalhandler from printing the expected error
      // The classic mistake, app.use(factory) instead of app.use(factory(options)). The compiler refuses it; plain
      // JavaScript still reaches the factory with a request, which is caught at run time.
      // @ts-expect-error the factory is not a middleware
      app.use(PATH, musementOrderItem)
      const res = await postDelivery(app, PATH, vendorExample, auth)
      expect(res.status).to.equal(500)
      // The message reaches the app's error handler; Express's default one prints it in development.
      expect(res.text).to.contain('registered without being called')
    })

    it('never mutate the options they are given', async () => {
      const options = Object.freeze({ credentials: Object.freeze([Object.freeze({ ...credentials })]), limit: '2kb' })
      const app = express()
      app.post(PATH, musementOrderItem(options), (_req, res) => void res.sendStatus(200))
      expect((await postDelivery(app, PATH, vendorExample, auth)).status).to.equal(200)
      expect(options).to.deep.equal({ credentials: [credentials], limit: '2kb' })
    })

    it('name the middleware for stack traces', () => {
      expect(musementOrderItem({ credentials }).name).to.equal('musementOrderItemMiddleware')
    })
  })
})
