import { expect } from 'chai'
import fc from 'fast-check'

// Generators of valid wire bodies built from the codecs' rules (README: "What the ... codec accepts"), one per partner:
// each target in targets.ts carries its own, and properties.spec.ts also mixes these date-times into near-valid values.

const MIN_MS = new Date(0).setUTCFullYear(0, 0, 1)
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const pad = (n: number, width: number): string => String(n).padStart(width, '0')

export interface DateTimeWire {
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
export const musementDateTime: fc.Arbitrary<DateTimeWire> = fc
  .tuple(instant, offsetMinutes, fc.boolean(), fc.boolean(), fc.nat({ max: 9 }), fc.stringMatching(/^[0-9]{6}$/))
  .map(([ms, offset, zulu, colon, digits, extra]) =>
    writeDateTime(ms, zulu ? 0 : offset, zulu ? 'Z' : undefined, colon, (pad(((ms % 1000) + 1000) % 1000, 3) + extra).slice(0, digits))
  )
  .filter((w): w is DateTimeWire => w !== undefined)

/** RFC 3339: offset with its colon, `T`/`Z` in either case, any number of fraction digits, leap second 23:59:60 UTC. */
export const rfc3339DateTime: fc.Arbitrary<DateTimeWire> = fc
  .tuple(instant, offsetMinutes, fc.constantFrom('Z', 'z', undefined), fc.constantFrom('T', 't'), fc.nat({ max: 12 }), fc.stringMatching(/^[0-9]{9}$/), fc.boolean())
  .map(([ms, offset, zulu, tee, digits, extra, leap]) => {
    // A leap second is inserted only at 23:59:60 UTC: move the instant to 23:59:00 UTC and write its seconds as 60.
    const at = leap ? Math.floor(ms / 86_400_000) * 86_400_000 + 86_340_000 + (((ms % 1000) + 1000) % 1000) : ms
    const w = writeDateTime(at, zulu === undefined ? offset : 0, zulu, true, (pad(((at % 1000) + 1000) % 1000, 3) + extra).slice(0, digits), leap)
    return w === undefined || w.ms > MAX_MS ? undefined : { ...w, text: w.text.replace('T', tee) }
  })
  .filter((w): w is DateTimeWire => w !== undefined)

const digitString = (max: bigint) => fc.tuple(fc.bigInt({ min: 0n, max }), fc.nat({ max: 3 })).map(([n, zeros]) => '0'.repeat(zeros) + n.toString())
export const uuid = fc.stringMatching(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/)

export interface Generated {
  readonly wire: unknown
  /** Checks the decoded event against what the generator meant (dates, numbers), beyond "the codec accepted it". */
  readonly meant: (event: unknown) => void
}

const dateFields = ['order_created', 'order_updated', 'order_item_created', 'order_item_updated'] as const

export const musementWire: fc.Arbitrary<Generated> = fc
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

export const pickDate = (event: unknown, field: string): number | undefined => {
  const v = typeof event === 'object' && event !== null ? Object.entries(event).find(([k]) => k === field)?.[1] : undefined
  return v instanceof Date ? v.getTime() : undefined
}
export const pickNumber = (event: unknown, field: string): unknown =>
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

export const aboutYouWire = (events: ReadonlyArray<string>): fc.Arbitrary<Generated> =>
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

/** The booking partner of spec/helpers/booking-partner.ts: any string id, a positive safe integer, an RFC 3339 time. */
export const bookingWire: fc.Arbitrary<Generated> = fc
  .record({
    booking_id: fc.string({ unit: 'binary', maxLength: 40 }),
    version: positiveInteger,
    status: fc.constantFrom('confirmed', 'cancelled'),
    updated_at: rfc3339DateTime
  })
  .map(({ updated_at, ...fields }) => ({
    wire: { ...fields, updated_at: updated_at.text },
    meant: (event: unknown) => {
      expect(pickDate(event, 'updated_at')).to.equal(updated_at.ms)
      expect(pickNumber(event, 'version')).to.equal(fields.version)
    }
  }))
