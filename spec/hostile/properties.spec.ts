import { expect } from 'chai'
import type { Express } from 'express'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { Agent, createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeWith } from '../../lib/core/decode.js'
import { ABOUT_YOU_EVENT_NAMES, aboutYouEventCodec } from '../../lib/partners/aboutyou/codec.js'
import { MusementOrderItem } from '../../lib/partners/musement/codec.js'
import { problemOf } from '../helpers/deliver.js'
import { authLine, codecOf, PATH, pick, REMOVE, SECRETS, setAt, TARGETS, targetApp, validBody, type Path, type Target } from './targets.js'

// Property tests against both partners. The seed is chosen once per run (or taken from FC_SEED) and is in the suite's
// title; on a failure fast-check also prints the seed and path that replay the counterexample.
const SEED = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED)
const IN_PROCESS_RUNS = 300
const HTTP_RUNS = 200
const settings = (numRuns: number) => ({ seed: SEED, numRuns })

// ---- Arbitraries built from the codecs' rules (README: "What the ... codec accepts") ----

const MIN_MS = new Date(0).setUTCFullYear(0, 0, 1)
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const pad = (n: number, width: number): string => String(n).padStart(width, '0')

interface DateTimeWire {
  readonly text: string
  /** The instant the text denotes, truncated to milliseconds as the codecs decode it. */
  readonly ms: number
}

/** A date-time at `ms` written in local time at `offsetMinutes`, with `fraction` digits; undefined if the local year leaves 0000-9999. */
const writeDateTime = (ms: number, offsetMinutes: number, zulu: string | undefined, colon: boolean, fraction: string, second60 = false): DateTimeWire | undefined => {
  const local = new Date(ms + offsetMinutes * 60_000)
  const year = local.getUTCFullYear()
  if (year < 0 || year > 9999) return undefined
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  const offset = zulu ?? `${sign}${pad(Math.floor(abs / 60), 2)}${colon ? ':' : ''}${pad(abs % 60, 2)}`
  const seconds = second60 ? '60' : pad(local.getUTCSeconds(), 2)
  const date = `${pad(year, 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}`
  const time = `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${seconds}`
  const text = `${date}T${time}${fraction === '' ? '' : `.${fraction}`}${offset}`
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3))
  // Second 60 is written where the clock shows second 00 of the next minute, so it denotes 60 s after `ms`'s minute.
  return { text, ms: Math.floor(ms / 1000) * 1000 + millis + (second60 ? 60_000 : 0) }
}

const instant = fc.date({ min: new Date(MIN_MS), max: new Date(MAX_MS - 1000), noInvalidDate: true }).map((d) => d.getTime())
const offsetMinutes = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })

/** Musement's ISO 8601 profile: `Z` or an offset with or without its colon, 0-9 fraction digits (ms kept, rest random). */
const musementDateTime: fc.Arbitrary<DateTimeWire> = fc
  .tuple(instant, offsetMinutes, fc.boolean(), fc.boolean(), fc.nat({ max: 9 }), fc.stringMatching(/^[0-9]{6}$/))
  .map(([ms, offset, zulu, colon, digits, extra]) =>
    writeDateTime(ms, zulu ? 0 : offset, zulu ? 'Z' : undefined, colon, (pad(((ms % 1000) + 1000) % 1000, 3) + extra).slice(0, digits))
  )
  .filter((w): w is DateTimeWire => w !== undefined)

/** RFC 3339: offset with its colon, `T`/`Z` in either case, any number of fraction digits, leap second 23:59:60 UTC. */
const rfc3339DateTime: fc.Arbitrary<DateTimeWire> = fc
  .tuple(instant, offsetMinutes, fc.constantFrom('Z', 'z', undefined), fc.constantFrom('T', 't'), fc.nat({ max: 12 }), fc.stringMatching(/^[0-9]{9}$/), fc.boolean())
  .map(([ms, offset, zulu, tee, digits, extra, leap]) => {
    // A leap second is inserted only at 23:59:60 UTC: move the instant to 23:59:00 UTC and write its seconds as 60.
    const at = leap ? Math.floor(ms / 86_400_000) * 86_400_000 + 86_340_000 + (((ms % 1000) + 1000) % 1000) : ms
    const w = writeDateTime(at, zulu === undefined ? offset : 0, zulu, true, (pad(((at % 1000) + 1000) % 1000, 3) + extra).slice(0, digits), leap)
    return w === undefined || w.ms > MAX_MS ? undefined : { ...w, text: w.text.replace('T', tee) }
  })
  .filter((w): w is DateTimeWire => w !== undefined)

const digitString = (max: bigint) => fc.tuple(fc.bigInt({ min: 0n, max }), fc.nat({ max: 3 })).map(([n, zeros]) => '0'.repeat(zeros) + n.toString())
const uuid = fc.stringMatching(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/)

interface Generated {
  readonly wire: unknown
  /** Checks the decoded event against what the generator meant (dates, numbers), beyond "the codec accepted it". */
  readonly meant: (event: unknown) => void
}

const dateFields = ['order_created', 'order_updated', 'order_item_created', 'order_item_updated'] as const

const musementWire: fc.Arbitrary<Generated> = fc
  .record({
    order_id: fc.stringMatching(/^[0-9]{1,24}$/),
    order_uuid: uuid,
    order_version: digitString(BigInt(Number.MAX_SAFE_INTEGER)),
    order_item_uuid: uuid,
    order_item_version: digitString(BigInt(Number.MAX_SAFE_INTEGER)),
    order_item_status: fc.constantFrom('CANCELLATION_ERROR', 'KO', 'OK', 'PENDING', 'REFUND_STARTED', 'REFUNDED'),
    dates: fc.tuple(musementDateTime, musementDateTime, musementDateTime, musementDateTime)
  })
  .map(({ dates, ...fields }) => ({
    wire: { ...fields, ...Object.fromEntries(dateFields.map((f, i) => [f, dates[i]?.text])) },
    meant: (event: unknown) => {
      expect(dateFields.map((f) => pickDate(event, f))).to.deep.equal(dates.map((d) => d.ms))
      expect(pickNumber(event, 'order_item_version')).to.equal(Number(fields.order_item_version))
    }
  }))

const pickDate = (event: unknown, field: string): number | undefined => {
  const v = typeof event === 'object' && event !== null ? Object.entries(event).find(([k]) => k === field)?.[1] : undefined
  return v instanceof Date ? v.getTime() : undefined
}
const pickNumber = (event: unknown, field: string): unknown =>
  typeof event === 'object' && event !== null ? Object.entries(event).find(([k]) => k === field)?.[1] : undefined

const safeInteger = fc.oneof(fc.maxSafeInteger(), fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER))
const positiveInteger = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.maxSafeNat().filter((n) => n >= 1))
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null })
// JSON Schema maxLength counts code points: up to 255 of any, and exactly 255 astral ones (510 UTF-16 units).
const trackingKey = nullable(fc.oneof(fc.string({ unit: 'binary', maxLength: 255 }), fc.string({ unit: fc.constantFrom('😀', '𝄞', 'a'), minLength: 255, maxLength: 255 })))
// `__proto__` keys are valid JSON the codec would take, but the middleware refuses them on purpose (decodeWith);
// the catalogue and property (a) cover that, so valid events leave them out.
const customData = nullable(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4, noNullPrototype: true })).filter(
  (d) => !JSON.stringify(d).includes('"__proto__"')
)

const aboutYouItem = fc.record(
  {
    sku: fc.string({ unit: 'binary', maxLength: 40 }),
    status: fc.constantFrom('open', 'shipped', 'cancelled', 'returned'),
    price_without_tax: safeInteger,
    price_with_tax: safeInteger,
    shipment_tracking_key: nullable(fc.string({ unit: 'binary', maxLength: 300 })),
    return_tracking_key: nullable(fc.string({ maxLength: 20 })),
    vat: fc.double({ noNaN: true, noDefaultInfinity: true }),
    id: nullable(safeInteger),
    custom_data: customData
  },
  { requiredKeys: ['sku', 'status', 'price_without_tax', 'price_with_tax', 'shipment_tracking_key', 'return_tracking_key'] }
)

const aboutYouWire = (events: ReadonlyArray<string>): fc.Arbitrary<Generated> =>
  fc
    .record(
      {
        id: positiveInteger,
        event: fc.constantFrom(...events),
        message: fc.record(
          { items: fc.array(aboutYouItem, { maxLength: 3 }), carrier_key: fc.string({ unit: 'binary', maxLength: 20 }), tracking_key: trackingKey, return_tracking_key: trackingKey },
          { requiredKeys: ['items', 'carrier_key'] }
        ),
        timestamp: rfc3339DateTime,
        subscription_id: nullable(positiveInteger)
      },
      { requiredKeys: ['id', 'event', 'message'] }
    )
    .map(({ timestamp, ...rest }) => ({
      wire: timestamp === undefined ? rest : { ...rest, timestamp: timestamp.text },
      meant: (event: unknown) => {
        expect(pickDate(event, 'timestamp')).to.equal(timestamp?.ms)
        expect(pickNumber(event, 'id')).to.equal(rest.id)
      }
    }))

const wireOf = (target: Target): fc.Arbitrary<Generated> =>
  target === 'musement' ? musementWire : aboutYouWire(target === 'aboutYouShipment' ? ['order_items.shipped'] : ABOUT_YOU_EVENT_NAMES)

/** The package's own decoding entry point on a copy of `wire` (decodeWith may turn -0 into 0 in place). */
const decodeCopy = (target: Target, wire: unknown): E.Either<unknown, unknown> => decodeWith(codecOf(target))(structuredClone(wire))

const encodeWith = <A>(codec: t.Type<A, unknown, unknown>, wire: unknown): { readonly event: A; readonly encoded: unknown } => {
  const decoded = decodeWith(codec)(structuredClone(wire))
  if (E.isLeft(decoded)) throw new Error(`the generator made an invalid body: ${JSON.stringify(decoded.left)}`)
  return { event: decoded.right, encoded: codec.encode(decoded.right) }
}

/** The event `wire` decodes to, and that event encoded back to its wire form. */
const encoded = (target: Target, wire: unknown): { readonly event: unknown; readonly encoded: unknown } =>
  target === 'musement'
    ? encodeWith(MusementOrderItem, wire)
    : encodeWith(aboutYouEventCodec(target === 'aboutYouShipment' ? ['order_items.shipped'] : ABOUT_YOU_EVENT_NAMES), wire)

// ---- Arbitrary JSON: anything, and valid bodies mutated field by field ----

const leafPaths = (value: unknown, path: Path = []): Path[] =>
  typeof value === 'object' && value !== null && (!Array.isArray(value) || value.length > 0)
    ? Object.entries(value).flatMap(([k, v]) => [[...path, Array.isArray(value) ? Number(k) : k], ...leafPaths(v, [...path, Array.isArray(value) ? Number(k) : k])])
    : []

const nearValid = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.stringMatching(/^[0-9]{1,20}$/),
  fc.constantFrom('', ' ', '-1', '1e3', '0x1f', '9007199254740992', 'OK', 'ok', 'open', 'SHIPPED', 'order_items.shipped', 'order_items.unknown', '__proto__'),
  fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324, null, true, [], {}),
  musementDateTime.map((d) => d.text),
  rfc3339DateTime.map((d) => d.text),
  uuid,
  fc.string({ unit: 'binary', minLength: 250, maxLength: 260 })
)

/**
 * A valid body with 1-4 edits: a field replaced, removed, or a sibling key (`__proto__` among them) added, or a field
 * moved into a `__proto__` sibling (where io-ts alone would still find it, as an inherited value).
 */
const mutated = (target: Target): fc.Arbitrary<unknown> => {
  const base = validBody(target)
  const paths = leafPaths(base)
  const edit = fc.tuple(fc.constantFrom(...paths), fc.constantFrom('replace', 'remove', 'add', 'hide'), nearValid, fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'event', 'id'))
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) =>
    edits.reduce<unknown>((body, [path, action, value, key]) => {
      const parent = path.slice(0, -1)
      const last = path[path.length - 1] ?? ''
      try {
        if (action === 'replace') return setAt(body, path, value)
        if (action === 'remove') return setAt(body, path, REMOVE)
        if (action === 'hide') return setAt(setAt(body, path, REMOVE), [...parent, '__proto__'], Object.fromEntries([[String(last), pick(body, path)]]))
        return setAt(body, [...parent, key], value)
      } catch {
        return body // an earlier edit removed or replaced the object this path goes through
      }
    }, base)
  )
}

/** The codec's own type guard: what the handler gets has the type the handler is declared with. */
const isEvent = (target: Target, event: unknown): boolean =>
  target === 'musement' ? MusementOrderItem.is(event) : aboutYouEventCodec(target === 'aboutYouShipment' ? ['order_items.shipped'] : ABOUT_YOU_EVENT_NAMES).is(event)

/** Every object in an event is a plain object, an array or a Date: nothing inherits members from elsewhere. */
const expectPlain = (event: unknown): void => {
  const plain = new Set<unknown>([Object.prototype, Array.prototype, Date.prototype])
  for (const stack: unknown[] = [event]; stack.length > 0; ) {
    const v = stack.pop()
    if (typeof v !== 'object' || v === null) continue
    expect(plain.has(Object.getPrototypeOf(v)), `an object with a foreign prototype in ${JSON.stringify(event)}`).to.equal(true)
    stack.push(...Object.values(v))
  }
}

// ---- One HTTP server for the whole file; each run gets a fresh app (so a fresh delivery store) ----

interface Answer {
  readonly status: number
  readonly contentType: string | undefined
  readonly text: string
}

describe(`hostile/properties (FC_SEED=${SEED})`, function () {
  let current: Express | undefined
  let server: Server
  let port = 0
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)

  before(async () => {
    process.on('unhandledRejection', onUnhandled)
    server = createServer((req, res) => {
      if (current === undefined) res.writeHead(500).end()
      else current(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address: AddressInfo | string | null = server.address()
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
    port = address.port
  })

  after(async () => {
    agent.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).to.deep.equal([])
  })

  const post = (target: Target, text: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const [name, value] = authLine(target)
      const headers = { [name]: value, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }
      const req = request({ agent, host: '127.0.0.1', port, path: PATH, method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }))
      })
      req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')))
      req.on('error', reject)
      req.end(text)
    })

  /** Sends `text` to a fresh app for `target`; returns the answer and what the app saw. */
  const deliver = async (target: Target, text: string) => {
    const { app, rec } = targetApp(target)
    current = app
    const answer = await post(target, text)
    expect(rec.errors, 'nothing may reach the error handler').to.deep.equal([])
    const seen = [answer.text, JSON.stringify(rec.rejections), JSON.stringify(rec.outcomes)].join('\n')
    for (const secret of SECRETS) expect(seen.includes(secret), 'a credential leaked').to.equal(false)
    return { answer, rec }
  }

  describe('(a) any JSON body: 200 only for what the codec accepts, and the handler sees only decoded events', () => {
    for (const target of TARGETS) {
      for (const [name, arbitrary] of [
        ['fc.jsonValue()', fc.jsonValue()],
        ['a valid body mutated field by field', mutated(target)]
      ] as const) {
        it(`${target}: ${name}`, async () => {
          let accepted = 0
          await fc.assert(
            fc.asyncProperty(arbitrary, async (value) => {
              const text = JSON.stringify(value)
              const { answer, rec } = await deliver(target, text)
              const codec = codecOf(target).decode(JSON.parse(text))
              const pipeline = decodeWith(codecOf(target))(JSON.parse(text))
              if (answer.status === 200) {
                accepted++
                // The codec accepts it, and the handler got exactly the codec's reading of it.
                expect(E.isRight(codec) && E.isRight(pipeline), text).to.equal(true)
                expect(rec.events).to.deep.equal([E.isRight(codec) ? codec.right : 'no event'])
                expectPlain(rec.events[0])
                expect(isEvent(target, rec.events[0]), 'the event has its declared type').to.equal(true)
                expect(JSON.parse(answer.text)).to.deep.equal({ status: 'processed' })
                expect(rec.rejections).to.deep.equal([])
              } else {
                expect(E.isLeft(pipeline), `refused ${answer.status} although decodeWith accepts: ${text}`).to.equal(true)
                expect(answer.status).to.equal(400)
                expect(answer.contentType).to.match(/^application\/problem\+json/)
                expect(Buffer.byteLength(answer.text)).to.be.below(4096)
                expect(problemOf({ status: answer.status, headers: {}, text: answer.text }).type).to.equal('webhook.payload.invalid')
                expect(rec.events, 'the handler must not run').to.deep.equal([])
                expect(rec.rejections.map((r) => r.type)).to.deep.equal(['webhook.payload.invalid'])
              }
            }),
            settings(HTTP_RUNS)
          )
          if (name !== 'fc.jsonValue()') expect(accepted, 'some mutated bodies stay valid').to.be.above(0)
        })
      }
    }
  })

  describe('(b) valid events: decode, encode, send; the handler receives an equal event', () => {
    for (const target of TARGETS) {
      it(`${target}: in process, ${IN_PROCESS_RUNS} runs (decode, encode, JSON, decode)`, () => {
        fc.assert(
          fc.property(wireOf(target), ({ wire, meant }) => {
            const original = encoded(target, wire)
            meant(original.event)
            expect(decodeCopy(target, JSON.parse(JSON.stringify(original.encoded)))).to.deep.equal(E.right(original.event))
          }),
          settings(IN_PROCESS_RUNS)
        )
      })

      it(`${target}: over HTTP, ${HTTP_RUNS} runs (encode, send, handler)`, async () => {
        await fc.assert(
          fc.asyncProperty(wireOf(target), async ({ wire }) => {
            const original = encoded(target, wire)
            const { answer, rec } = await deliver(target, JSON.stringify(original.encoded))
            expect(answer.status, answer.text).to.equal(200)
            expect(rec.events).to.deep.equal([original.event])
            expectPlain(rec.events[0])
            expect(isEvent(target, rec.events[0])).to.equal(true)
            // The wire form the partner sent (not re-encoded) reaches the handler as the same event too.
            const raw = await deliver(target, JSON.stringify(wire))
            expect(raw.rec.events).to.deep.equal([original.event])
          }),
          settings(HTTP_RUNS)
        )
      })
    }
  })
})
