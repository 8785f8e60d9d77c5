import type { ErrorRequestHandler, Express, RequestHandler } from 'express'
import type fc from 'fast-check'
import type * as t from 'io-ts'
import type { CommonOptions } from '../../lib/core/options.js'
import type { Outcome, Rejection } from '../../lib/core/types.js'
import { ABOUT_YOU_EVENT_NAMES, aboutYouEventCodec } from '../../lib/partners/aboutyou/codec.js'
import { aboutYouShipment, aboutYouWebhooks } from '../../lib/partners/aboutyou/middleware.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { aboutYouOrderItemsFixture, basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'
import { BookingUpdate, bookingUpdate, bookingUpdateFixture } from '../helpers/booking-partner.js'
import { express } from '../helpers/express.js'
import { aboutYouWire, bookingWire, musementWire, type Generated } from './arbitraries.js'

// The middlewares the hostile specs attack, one record each, with hooks that record everything a test must check
// afterwards. A partner joins the catalogue and the properties by adding one record to TARGETS.

export const PATH = '/webhooks/partner'

/** The secrets the apps are configured with. No answer or hook payload may ever contain one. */
export const PASSWORD = 'hostile-Pa55:word' // with a colon: RFC 7617 lets the password have one
export const UNICODE_CREDENTIALS = { username: 'müller', password: 'pässwörd✓' } as const
export const API_KEY = 'ay-hostile-KEY-0123456789'
/** Every character RFC 6750's b64token allows: letters, digits, `-._~+/` and trailing `=`. */
export const BEARER_TOKEN = 'bk-hostile_Token.0123~456+789/=='
export const MUSEMENT_AUTH = basicAuthHeader('musement', PASSWORD)
export const SECRETS: ReadonlyArray<string> = [
  PASSWORD,
  API_KEY,
  MUSEMENT_AUTH.slice('Basic '.length),
  UNICODE_CREDENTIALS.password,
  basicAuthHeader(UNICODE_CREDENTIALS.username, UNICODE_CREDENTIALS.password).slice('Basic '.length),
  BEARER_TOKEN
]

export type Path = ReadonlyArray<string | number>

/** How a target's middleware is set up for one app. */
export interface MountSetup {
  /** The hooks and limits of the app (the same for every target). */
  readonly hooks: CommonOptions
  /** No credentials, the allowlist alone (`dangerouslyDisableAuthentication: true`). */
  readonly ipOnly: boolean
  /** Records each event the middleware hands over. */
  readonly handler: (event: unknown) => void
}

/** One middleware under attack, and what the hostile specs need to know of its partner. */
export interface Target {
  /** The name in test titles. */
  readonly name: string
  /** The codec the middleware decodes with: the oracle for "status 200 only if the codec accepts it". */
  readonly codec: t.Decoder<unknown, unknown>
  /** The codec's own type guard: whether an event has the type the handler is declared with. */
  readonly is: (event: unknown) => boolean
  /** The codec's encoding of a decoded event back to its wire form; throws for anything else. */
  readonly encode: (event: unknown) => unknown
  /** A valid wire body (a fresh object on every call). */
  readonly validBody: () => unknown
  /** The credential header the partner sends. */
  readonly auth: readonly [string, string]
  /** The same header with a wrong credential. */
  readonly wrongAuth: readonly [string, string]
  /** A field the codec decodes strictly as a number: an integer, or a digit string read as one. */
  readonly numberField: Path
  /** A string field the codec sets no length rule on. */
  readonly stringField: Path
  /** A character `stringField` accepts any number of (Musement's order id is a digit string). */
  readonly stringFieldChar: string
  /** Valid wire bodies for the properties, each with a check of what its decoded event must hold. */
  readonly wire: fc.Arbitrary<Generated>
  /** Mounts the middleware with `app.use(path, ...before, middleware)`, so every method reaches it. */
  readonly mount: (app: Express, path: string, before: ReadonlyArray<RequestHandler>, setup: MountSetup) => void
}

type TargetDefinition<A, O> = Omit<Target, 'codec' | 'is' | 'encode'> & { readonly codec: t.Type<A, O, unknown> }

/** A target from its definition: `is` and `encode` come from the codec, whatever its event type. */
const target = <A, O>({ codec, ...rest }: TargetDefinition<A, O>): Target => ({
  ...rest,
  codec,
  is: (event) => codec.is(event),
  encode: (event) => {
    if (!codec.is(event)) throw new Error(`not a ${codec.name}: ${JSON.stringify(event)}`)
    return codec.encode(event)
  }
})

const IP_ONLY = { dangerouslyDisableAuthentication: true } as const

export const MUSEMENT = target({
  name: 'musement',
  codec: MusementOrderItem,
  validBody: () => musementOrderItemFixture(),
  auth: ['Authorization', MUSEMENT_AUTH],
  wrongAuth: ['Authorization', basicAuthHeader('musement', 'wrong')],
  numberField: ['order_item_version'],
  stringField: ['order_id'],
  stringFieldChar: '7',
  wire: musementWire,
  mount: (app, path, before, { hooks, ipOnly, handler }) => {
    const auth = ipOnly ? IP_ONLY : { credentials: [{ username: 'musement', password: PASSWORD }, UNICODE_CREDENTIALS] }
    app.use(path, ...before, musementOrderItem({ ...hooks, ...auth, handler }))
  }
})

const ABOUT_YOU = {
  validBody: () => aboutYouOrderItemsFixture('order_items.shipped'),
  auth: ['X-API-Key', API_KEY],
  wrongAuth: ['X-API-Key', 'wrong'],
  numberField: ['id'],
  stringField: ['message', 'items', 0, 'sku'],
  stringFieldChar: 'S'
} as const
const SHIPPED = ['order_items.shipped'] as const

export const ABOUT_YOU_SHIPMENT = target({
  ...ABOUT_YOU,
  name: 'aboutYouShipment',
  codec: aboutYouEventCodec(SHIPPED),
  wire: aboutYouWire(SHIPPED),
  mount: (app, path, before, { hooks, ipOnly, handler }) => {
    const auth = ipOnly ? IP_ONLY : { apiKeys: [API_KEY] }
    app.use(path, ...before, aboutYouShipment('order_items.shipped', { ...hooks, ...auth, handler }))
  }
})

export const ABOUT_YOU_WEBHOOKS = target({
  ...ABOUT_YOU,
  name: 'aboutYouWebhooks',
  codec: aboutYouEventCodec(ABOUT_YOU_EVENT_NAMES),
  wire: aboutYouWire(ABOUT_YOU_EVENT_NAMES),
  mount: (app, path, before, { hooks, ipOnly, handler }) => {
    const auth = ipOnly ? IP_ONLY : { apiKeys: [API_KEY] }
    const handlers = { 'order_items.shipped': handler, 'order_items.cancelled': handler, 'order_items.returned': handler }
    app.use(path, ...before, aboutYouWebhooks(handlers, { ...hooks, ...auth }))
  }
})

/** A partner defined with definePartner in a spec helper, as a user would define one. */
export const BOOKING = target({
  name: 'booking',
  codec: BookingUpdate,
  validBody: bookingUpdateFixture,
  auth: ['Authorization', `Bearer ${BEARER_TOKEN}`],
  wrongAuth: ['Authorization', 'Bearer wrong'],
  numberField: ['version'],
  stringField: ['booking_id'],
  stringFieldChar: 'S',
  wire: bookingWire,
  mount: (app, path, before, { hooks, ipOnly, handler }) => {
    const auth = ipOnly ? IP_ONLY : { tokens: [BEARER_TOKEN] }
    app.use(path, ...before, bookingUpdate({ ...hooks, ...auth, handler }))
  }
})

export const TARGETS: ReadonlyArray<Target> = [MUSEMENT, ABOUT_YOU_SHIPMENT, ABOUT_YOU_WEBHOOKS, BOOKING]

export interface TargetOptions {
  readonly limit?: string
  readonly allowIps?: ReadonlyArray<string>
  /** With `allowIps`: no credentials, the allowlist alone (`dangerouslyDisableAuthentication: true`). */
  readonly ipOnly?: boolean
  readonly trustProxy?: string | boolean
  /** A body parser that runs before the middleware. */
  readonly before?: 'json' | 'raw' | 'text'
}

/** What one app saw: handled events, hook payloads, and errors that reached Express's error handling. */
export interface Recorder {
  readonly events: unknown[]
  readonly rejections: Rejection[]
  readonly outcomes: Outcome[]
  readonly errors: unknown[]
}

const parsers = {
  json: () => express.json({ limit: '5mb' }),
  raw: () => express.raw({ type: 'application/json', limit: '5mb' }),
  text: () => express.text({ type: 'application/json', limit: '5mb' })
} as const

/**
 * An app with `target` mounted with `app.use(PATH, ...)` (so every method reaches it) and an error handler that
 * records whatever escaped the middleware.
 */
export const targetApp = (target: Target, o: TargetOptions = {}) => {
  const rec: Recorder = { events: [], rejections: [], outcomes: [], errors: [] }
  const app = express()
  if (o.trustProxy !== undefined) app.set('trust proxy', o.trustProxy)
  const hooks: CommonOptions = {
    onReject: (r: Rejection) => void rec.rejections.push(r),
    onOutcome: (r: Outcome) => void rec.outcomes.push(r),
    ...(o.limit === undefined ? {} : { limit: o.limit }),
    ...(o.allowIps === undefined ? {} : { allowIps: o.allowIps })
  }
  const handler = (event: unknown): void => void rec.events.push(event)
  target.mount(app, PATH, o.before === undefined ? [] : [parsers[o.before]()], { hooks, ipOnly: o.ipOnly === true, handler })
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    rec.errors.push(err)
    res.status(500).json({ error: 'escaped' })
  }
  app.use(onError)
  return { app, rec }
}

export const REMOVE = Symbol('remove')

/** The own property `key` of `value`, if it is an object (`__proto__` included, never the prototype). */
export const own = (value: unknown, key: string | number): unknown =>
  typeof value === 'object' && value !== null ? Object.entries(value).find(([k]) => k === String(key))?.[1] : undefined

/** The value at `path`, for checks on events. */
export const pick = (value: unknown, path: Path): unknown => path.reduce<unknown>(own, value)

/** A copy of `root` with the value at `path` replaced (or removed with `REMOVE`); keys are defined, never assigned. */
export const setAt = (root: unknown, path: Path, value: unknown): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return value
  if (Array.isArray(root)) return root.map((item: unknown, i) => (i === head ? setAt(item, rest, value) : item))
  if (typeof root !== 'object' || root === null) throw new Error(`no object at ${String(head)}`)
  const key = String(head)
  const others = Object.entries(root).filter(([k]) => k !== key)
  if (rest.length === 0 && value === REMOVE) return Object.fromEntries(others)
  return Object.fromEntries([...others, [key, setAt(own(root, key), rest, value)]])
}
