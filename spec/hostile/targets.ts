import type { ErrorRequestHandler, Express, RequestHandler } from 'express'
import type * as t from 'io-ts'
import type { Outcome, Rejection } from '../../lib/core/types.js'
import { ABOUT_YOU_EVENT_NAMES, aboutYouEventCodec } from '../../lib/partners/aboutyou/codec.js'
import { aboutYouShipment, aboutYouWebhooks } from '../../lib/partners/aboutyou/middleware.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import { musementOrderItem } from '../../lib/partners/musement/middleware.js'
import { aboutYouOrderItemsFixture, basicAuthHeader, musementOrderItemFixture } from '../../lib/testing/index.js'
import { express } from '../helpers/express.js'

// The middlewares the hostile specs attack, each with hooks that record everything a test must check afterwards.

export const PATH = '/webhooks/partner'

/** The secrets the apps are configured with. No answer or hook payload may ever contain one. */
export const PASSWORD = 'hostile-Pa55:word' // with a colon: RFC 7617 lets the password have one
export const UNICODE_CREDENTIALS = { username: 'müller', password: 'pässwörd✓' } as const
export const API_KEY = 'ay-hostile-KEY-0123456789'
export const MUSEMENT_AUTH = basicAuthHeader('musement', PASSWORD)
export const SECRETS: ReadonlyArray<string> = [
  PASSWORD,
  API_KEY,
  MUSEMENT_AUTH.slice('Basic '.length),
  UNICODE_CREDENTIALS.password,
  basicAuthHeader(UNICODE_CREDENTIALS.username, UNICODE_CREDENTIALS.password).slice('Basic '.length)
]

export const TARGETS = ['musement', 'aboutYouShipment', 'aboutYouWebhooks'] as const
export type Target = (typeof TARGETS)[number]

/** The codec each target's middleware decodes with: the oracle for "status 200 only if the codec accepts it". */
export const codecOf = (target: Target): t.Decoder<unknown, unknown> =>
  target === 'musement'
    ? MusementOrderItem
    : target === 'aboutYouShipment'
      ? aboutYouEventCodec(['order_items.shipped'])
      : aboutYouEventCodec(ABOUT_YOU_EVENT_NAMES)

/** A valid wire body for `target` (fresh objects on every call). */
export const validBody = (target: Target): unknown =>
  target === 'musement' ? musementOrderItemFixture() : aboutYouOrderItemsFixture('order_items.shipped')

/** The credential header a target's partner sends. */
export const authLine = (target: Target): readonly [string, string] =>
  target === 'musement' ? ['Authorization', MUSEMENT_AUTH] : ['X-API-Key', API_KEY]

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

const mount = (app: Express, before: RequestHandler[], target: Target, o: TargetOptions, rec: Recorder): void => {
  const hooks = {
    onReject: (r: Rejection) => void rec.rejections.push(r),
    onOutcome: (r: Outcome) => void rec.outcomes.push(r),
    ...(o.limit === undefined ? {} : { limit: o.limit }),
    ...(o.allowIps === undefined ? {} : { allowIps: o.allowIps })
  }
  const record = (event: unknown): void => void rec.events.push(event)
  const ipOnly = { dangerouslyDisableAuthentication: true } as const
  if (target === 'musement') {
    const auth = o.ipOnly === true ? ipOnly : { credentials: [{ username: 'musement', password: PASSWORD }, UNICODE_CREDENTIALS] }
    app.use(PATH, ...before, musementOrderItem({ ...hooks, ...auth, handler: record }))
    return
  }
  const auth = o.ipOnly === true ? ipOnly : { apiKeys: [API_KEY] }
  if (target === 'aboutYouShipment') {
    app.use(PATH, ...before, aboutYouShipment('order_items.shipped', { ...hooks, ...auth, handler: record }))
    return
  }
  const handlers = { 'order_items.shipped': record, 'order_items.cancelled': record, 'order_items.returned': record }
  app.use(PATH, ...before, aboutYouWebhooks(handlers, { ...hooks, ...auth }))
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
  mount(app, o.before === undefined ? [] : [parsers[o.before]()], target, o, rec)
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    rec.errors.push(err)
    res.status(500).json({ error: 'escaped' })
  }
  app.use(onError)
  return { app, rec }
}

export type Path = ReadonlyArray<string | number>
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
