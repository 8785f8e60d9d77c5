import * as t from 'io-ts'

// Building blocks shared by the partner codecs. Every check is a strict regular expression or arithmetic bound
// applied before conversion, because `Number()` ("1e3", " 12", "0x1f") and `Date.parse` ("2018-02-31") are lax.

/** The brand of {@link DigitString}: a string checked to hold digits only. */
export interface DigitStringBrand {
  readonly DigitString: unique symbol
}

/** A non-empty string of ASCII digits: no sign, space, exponent or hex. */
export const DigitString = t.brand(
  t.string,
  (s): s is t.Branded<string, DigitStringBrand> => /^[0-9]+$/.test(s),
  'DigitString'
)
export type DigitString = t.TypeOf<typeof DigitString>

/** A digit string decoded to a number; values past `Number.MAX_SAFE_INTEGER` are rejected rather than rounded. */
export const NumberFromDigitString = new t.Type<number, string, unknown>(
  'NumberFromDigitString (digits, at most 2^53 - 1)',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
  (u, c) => {
    if (typeof u !== 'string' || !/^[0-9]+$/.test(u)) return t.failure(u, c)
    const n = Number(u)
    return Number.isSafeInteger(n) ? t.success(n) : t.failure(u, c, `expected digits up to ${Number.MAX_SAFE_INTEGER}, got a larger number`)
  },
  String
)

/** The brand of {@link Uuid}: a string checked to be a textual UUID. */
export interface UuidBrand {
  readonly Uuid: unique symbol
}

/** An RFC 9562 textual UUID, 8-4-4-4-12 hex digits in either case. */
export const Uuid = t.brand(
  t.string,
  (s): s is t.Branded<string, UuidBrand> => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s),
  'Uuid'
)
export type Uuid = t.TypeOf<typeof Uuid>

/** An integer a JavaScript number holds exactly: `1.5`, `"100"`, `1e400` and 2^53 are all rejected. */
export const SafeInteger = t.refinement(t.number, Number.isSafeInteger, 'SafeInteger')

/** A safe integer of at least 1 (identifiers). */
export const PositiveInteger = t.refinement(SafeInteger, (n) => n >= 1, 'PositiveInteger')

// Date, `T`, time, optional fraction, then `Z` or a numeric offset with or without the colon. The colon-less form
// (`+0000`) is what Musement documents; RFC 3339 alone would reject real traffic.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/

// RFC 3339 §5.6 `date-time`, which JSON Schema's `format: date-time` names: the offset needs its colon, `T` and `Z`
// may be lower case (§5.6 note), the fraction has any length, and second 60 exists for leap seconds (§5.7).
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const daysInMonth = (year: number, month: number): number => (month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0))

// Instants whose UTC form still has a four-digit year, so `toISOString()` output always decodes again.
const MIN_MS = new Date(0).setUTCFullYear(0, 0, 1)
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

const toEpochMs = (m: RegExpExecArray, leapSeconds: boolean): number | undefined => {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number)
  const [fraction = '', zulu, sign, offsetHours = '0', offsetMinutes = '0'] = m.slice(7)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > (leapSeconds ? 60 : 59)) return undefined
  const oh = Number(offsetHours)
  const om = Number(offsetMinutes)
  if (oh > 23 || om > 59) return undefined
  const offset = zulu !== undefined ? 0 : (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999; second 60 rolls over to the next minute.
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  const ms = date.setUTCHours(hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3))) - offset
  // A leap second is only ever inserted as 23:59:60 UTC; `Date` has none, so it becomes the next second.
  if (second === 60 && new Date(ms - 1000).getUTCHours() * 60 + new Date(ms - 1000).getUTCMinutes() !== 23 * 60 + 59) return undefined
  return ms < MIN_MS || ms > MAX_MS ? undefined : ms
}

/** Parses a strict ISO 8601 date-time (Musement's form, see {@link DateTimeFromString}) into epoch ms, or `undefined`. */
export const parseDateTime = (s: string): number | undefined => {
  const m = ISO_8601.exec(s)
  return m === null ? undefined : toEpochMs(m, false)
}

/** Parses an RFC 3339 `date-time` (see {@link DateTimeFromRfc3339}) into epoch ms, or `undefined`. */
export const parseRfc3339 = (s: string): number | undefined => {
  const m = RFC_3339.exec(s)
  return m === null ? undefined : toEpochMs(m, true)
}

const dateTimeCodec = (name: string, parse: (s: string) => number | undefined) =>
  new t.Type<Date, string, unknown>(
    name,
    (u): u is Date => u instanceof Date && !Number.isNaN(u.getTime()),
    (u, c) => {
      const ms = typeof u === 'string' ? parse(u) : undefined
      return ms === undefined ? t.failure(u, c) : t.success(new Date(ms))
    },
    (d) => d.toISOString()
  )

/**
 * An ISO 8601 date-time string decoded to a `Date`: `2018-12-10T13:12:40+0000`, `...+02:00`, `...Z`, up to nine
 * fraction digits. Date-only values, a space instead of `T`, impossible dates (`2018-02-31`) and hour 24 or more are
 * rejected. Encodes back with `toISOString()`.
 */
export const DateTimeFromString = dateTimeCodec('DateTimeFromString (ISO 8601, e.g. 2018-12-10T13:12:40+0000)', parseDateTime)

/**
 * An RFC 3339 `date-time` (JSON Schema `format: date-time`) decoded to a `Date`: `2025-08-23T05:56:52.435Z`,
 * `...+02:00`, lower-case `t`/`z`, leap second `23:59:60Z`. A colon-less offset, a space separator and impossible
 * dates are rejected. Encodes back with `toISOString()`.
 */
export const DateTimeFromRfc3339 = dateTimeCodec('DateTimeFromRfc3339 (RFC 3339, e.g. 2025-08-23T05:56:52.435Z)', parseRfc3339)
