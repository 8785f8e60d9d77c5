import { expect } from 'chai'
import type { ErrorRequestHandler } from 'express'
import * as t from 'io-ts'
// Through the public entry points only, as a user defining a partner would.
import {
  bearerAuth,
  DateTimeFromRfc3339,
  definePartner,
  memoryStore,
  PositiveInteger,
  type DeliveryInfo,
  type Outcome,
  type Rejection,
  type WebhookHandler
} from '../lib/index.js'
import { partnerDelivery, sendDelivery, simulatePartner } from '../lib/testing/index.js'
import { express } from './helpers/express.js'

// A booking partner defined from scratch: a bearer token, a version per booking, its own codec.
const BookingStatus = t.keyof({ confirmed: null, cancelled: null }, 'BookingStatus')
const Booking = t.exact(
  t.type({ booking_id: t.string, version: PositiveInteger, status: BookingStatus, updated_at: DateTimeFromRfc3339 }),
  'Booking'
)
type Booking = t.TypeOf<typeof Booking>

const booking = definePartner({
  name: 'acme',
  factory: 'acmeBooking',
  codec: Booking,
  auth: bearerAuth(),
  deliveryKey: (event) => ({ key: `acme:${event.booking_id}:${event.version}`, scope: `acme:${event.booking_id}`, version: event.version })
})

const PATH = '/webhooks/acme'
const TOKEN = 'acme-token'
const body = (version: number, overrides: Record<string, unknown> = {}) => ({
  booking_id: 'B-1',
  version,
  status: 'confirmed',
  updated_at: '2026-12-01T10:00:00Z',
  ...overrides
})
const delivery = (version: number, overrides: Record<string, unknown> = {}) =>
  partnerDelivery(booking, { path: PATH, body: body(version, overrides), secret: TOKEN })

const onError: ErrorRequestHandler = (_err, _req, res, _next) => void res.status(500).json({ error: 'failed' })

const app = (handler: WebhookHandler<Booking>, extra: { onOutcome?: (o: Outcome) => void; onReject?: (r: Rejection) => void } = {}) => {
  const a = express()
  a.post(PATH, booking({ tokens: TOKEN, handler, store: memoryStore(), ...extra }))
  a.use(onError)
  return a
}

describe('definePartner (a partner defined through the public entry point)', () => {
  it('decodes, authenticates and hands each delivery over once: processed, then duplicate', async () => {
    const seen: Array<{ event: Booking; delivery: DeliveryInfo }> = []
    const a = app((event, _req, _res, info) => void seen.push({ event, delivery: info }))
    const first = await sendDelivery(a, delivery(1))
    expect([first.status, first.json]).to.deep.equal([200, { status: 'processed' }])
    expect((await sendDelivery(a, delivery(1))).json).to.deep.equal({ status: 'duplicate' })
    expect(seen).to.have.length(1)
    expect(seen[0]?.event.updated_at).to.be.instanceOf(Date)
    expect(seen[0]?.delivery).to.deep.equal({ partner: 'acme', key: 'acme:B-1:1', stale: false })
  })

  it('skips an older version after a newer one (stale), and answers 409 while a version of the booking is handled', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const handled: number[] = []
    const a = app(async (event) => {
      if (event.version === 3) await gate
      handled.push(event.version)
    })
    const slow = sendDelivery(a, delivery(3))
    await new Promise((r) => setTimeout(r, 50))
    const busy = await sendDelivery(a, delivery(2))
    expect(busy.status).to.equal(409)
    expect(busy.headers['retry-after']).to.match(/^[1-5]$/)
    release()
    expect((await slow).status).to.equal(200)
    expect((await sendDelivery(a, delivery(2))).json).to.deep.equal({ status: 'stale' })
    expect(handled).to.deep.equal([3])
  })

  it("refuses with the engine's problems, and onReject never sees the token", async () => {
    const rejections: Rejection[] = []
    const a = app(() => undefined, { onReject: (r) => void rejections.push(r) })
    const good = delivery(1)
    const cases: ReadonlyArray<readonly [string, Parameters<typeof sendDelivery>[1], number, string]> = [
      ['no token', { ...good, headers: { 'Content-Type': 'application/json' } }, 401, 'webhook.auth.missing'],
      ['a wrong token', { ...good, headers: { ...good.headers, Authorization: 'Bearer nope' } }, 401, 'webhook.auth.invalid'],
      ['another scheme', { ...good, headers: { ...good.headers, Authorization: 'Basic dTpw' } }, 401, 'webhook.auth.invalid'],
      ['text/plain', { ...good, headers: { ...good.headers, 'Content-Type': 'text/plain' } }, 415, 'webhook.media.unsupported'],
      ['broken JSON', { ...good, body: '{"booking_id":' }, 400, 'webhook.body.malformed'],
      ['a bad status', delivery(1, { status: 'maybe' }), 400, 'webhook.payload.invalid'],
      ['a date without time', delivery(1, { updated_at: '2026-12-01' }), 400, 'webhook.payload.invalid']
    ]
    for (const [what, d, status, type] of cases) {
      const answer = await sendDelivery(a, d)
      expect([answer.status, answer.json && typeof answer.json === 'object' && 'type' in answer.json ? answer.json.type : undefined], what).to.deep.equal([status, type])
    }
    const missing = await sendDelivery(a, { ...good, headers: { 'Content-Type': 'application/json' } })
    expect(missing.headers['www-authenticate']).to.equal('Bearer realm="acme"')
    const invalid = await sendDelivery(a, delivery(1, { status: 'maybe', version: 0 }))
    expect(invalid.json).to.have.deep.property('errors').that.deep.includes({ path: '/status', message: 'expected BookingStatus, got "maybe"' })
    expect(rejections).to.have.length(cases.length + 2)
    const sent = rejections.map((r) => r.headers['authorization']).filter((h) => h !== undefined)
    expect(sent).to.deep.equal(Array(cases.length).fill('[redacted]'))
    expect(rejections.every((r) => r.partner === 'acme')).to.equal(true)
  })

  it('works with next(): req.body is the typed event', async () => {
    const a = express()
    a.post(PATH, booking({ tokens: [TOKEN, 'next-token'] }), (req, res) => {
      const when: Date = req.body.updated_at
      // @ts-expect-error the version is a number, not the wire's string
      const wrong: string = req.body.version
      // @ts-expect-error no such field: req.body is not `any`
      void req.body.bookingId
      res.status(200).json({ at: when.toISOString(), wrong, key: res.locals.webhook.key })
    })
    const answer = await sendDelivery(a, partnerDelivery(booking, { path: PATH, body: body(7), secret: 'next-token' }))
    expect(answer.json).to.deep.equal({ at: '2026-12-01T10:00:00.000Z', wrong: 7, key: 'acme:B-1:7' })
  })

  it("checks options at factory time, naming the scheme's option and the fix", () => {
    const throws = (options: unknown, message: RegExp): void => {
      // @ts-expect-error bad options on purpose: plain JavaScript callers can pass anything
      expect(() => booking(options)).to.throw(TypeError, message)
    }
    throws({}, /^acmeBooking: `tokens` is required: pass one token/)
    throws({ tokens: [] }, /`tokens` is empty: pass at least one token/)
    throws({ tokens: ['ok', ' padded'] }, /`tokens\[1\]` must not start or end with whitespace/)
    throws({ tokens: 'x', dangerouslyDisableAuthentication: true }, /not both/)
    throws({ token: 'x' }, /unknown option `token`. Did you mean `tokens`\?/)
    throws({ apiKeys: 'x' }, /unknown option `apiKeys`: acmeBooking authenticates with `tokens` \(token\)/)
    throws({ tokens: 'x', leaseMS: 5 }, /Did you mean `leaseMs`\?/)
    expect(booking({ tokens: 'x' }).name).to.equal('acmeBookingMiddleware')
    expect(booking({ dangerouslyDisableAuthentication: true })).to.be.a('function')
    // @ts-expect-error the compiler names the missing option too
    expect(() => booking({ handler: () => undefined })).to.throw(TypeError)
  })

  it('refuses a definition that cannot work, at definition time', () => {
    const bad = (definition: unknown, message: RegExp): void => {
      // @ts-expect-error bad definitions on purpose
      expect(() => definePartner(definition)).to.throw(TypeError, message)
    }
    bad({ name: 'a b', codec: Booking, auth: bearerAuth(), deliveryKey: () => ({ key: 'k', scope: 'k' }) }, /`name` must be/)
    bad({ name: 'acme', codec: {}, auth: bearerAuth(), deliveryKey: () => ({ key: 'k', scope: 'k' }) }, /`codec` must be an io-ts decoder/)
    bad({ name: 'acme', codec: Booking, auth: 'bearer', deliveryKey: () => ({ key: 'k', scope: 'k' }) }, /`auth` must be a scheme/)
    bad({ name: 'acme', codec: Booking, auth: bearerAuth() }, /`deliveryKey` is required/)
  })

  it("runs under the kit's simulated partner: copies, shuffled and retried, each event handled once", async () => {
    const handled = new Map<string, number>()
    const a = app(async (_event, _req, _res, info) => void handled.set(info.key, (handled.get(info.key) ?? 0) + 1))
    const deliveries = Array.from({ length: 40 }, (_, i) => partnerDelivery(booking, { path: PATH, body: body(1, { booking_id: `B-${i}` }), secret: TOKEN }))
    const report = await simulatePartner({ targets: [a], deliveries, copies: [1, 3], shuffle: true, concurrency: 8, seed: 12 })
    expect(report.undelivered).to.deep.equal([])
    expect([...handled.values()].every((n) => n === 1) && handled.size === 40).to.equal(true)
  })
})
